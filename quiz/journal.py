"""The answer journal: every save is committed before it is acknowledged, in group commits.

Saves from all learners are queued and written by one task in batches: one transaction
(and, on SQLite, one WAL sync) covers every save that arrived while the previous batch was
committing. An idle server writes each save at once; a busy one amortises the commit.
Each save is a conditional UPDATE that checks the attempt is still active and held by the
saving tab in the same statement, so a save racing a submission or a takeover is either
counted or refused, never acknowledged and lost.

On SQLite a batch is one operation of the process's :class:`server.database.SqliteWriter`
(plain sqlite3 statements, sharing its commit with starts and submissions); on PostgreSQL
it is one SQLAlchemy transaction on a pooled asyncpg connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from quiz.attempts import (
    AttemptInUse,
    AttemptMeta,
    AttemptSubmitted,
    attempt_meta,
    attempt_meta_sqlite,
)
from quiz.deadlines import accepts_answer
from quiz.models import AnswerEvent, Attempt, AttemptItem, AttemptStatus
from server.clock import Clock
from server.database import SqliteWriter, sqlite_time
from server.errors import AppError, Conflict, Invalid, NotFound
from server.sessions import Identity

log = logging.getLogger(__name__)

MAX_BATCH = 256
META_CACHE = 20_000


class DeadlinePassed(Conflict):
    """The answer came after the deadline and its grace."""

    code = "deadline_passed"


class JournalUnavailable(AppError):
    """The database did not take the batch; the client should retry."""

    status = 503
    code = "unavailable"


@dataclass
class _Save:
    attempt_id: int
    question_id: int
    option_id: int | None
    lease: str
    at: datetime
    done: asyncio.Future[None] = field(
        repr=False, default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(frozen=True)
class Saved:
    """An acknowledged, committed answer."""

    attempt_id: int
    question_id: int
    option_id: int | None
    deadline: datetime
    server_time: datetime


class AnswerJournal:
    """Validates saves against the attempt's fixed facts and group-commits them."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        grace: timedelta,
        writer: SqliteWriter | None = None,
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._sessions = sessions
        self._clock = clock
        self._grace = grace
        self._queue: asyncio.Queue[_Save] = asyncio.Queue()
        self._meta: OrderedDict[int, AttemptMeta] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.saves = 0

    async def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="answer-journal")

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def remember(self, meta: AttemptMeta) -> None:
        """Cache an attempt's fixed facts (called when it starts or resumes)."""
        self._meta[meta.attempt_id] = meta
        self._meta.move_to_end(meta.attempt_id)
        while len(self._meta) > META_CACHE:
            self._meta.popitem(last=False)

    async def _meta_for(self, attempt_id: int) -> AttemptMeta | None:
        meta = self._meta.get(attempt_id)
        if meta is None:
            if self._writer is not None:  # SQLite: the last commit, read at once
                meta = await self._writer.read(lambda con: attempt_meta_sqlite(con, attempt_id))
            else:
                async with self._sessions() as db:
                    meta = await attempt_meta(db, attempt_id)
            if meta is not None:
                self.remember(meta)
        return meta

    async def save(
        self, user: Identity, attempt_id: int, question_id: int, option_id: int | None, lease: str
    ) -> Saved:
        """Save one answer; returns once it is committed, or raises a clear error."""
        meta = await self._meta_for(attempt_id)
        if meta is None or meta.user_id != user.user_id:
            raise NotFound(f"attempt {attempt_id} does not exist")
        allowed = meta.options.get(question_id)
        if allowed is None:
            raise NotFound(f"question {question_id} is not part of attempt {attempt_id}")
        if option_id is not None and option_id not in allowed:
            raise Invalid(f"option {option_id} is not an option of question {question_id}")
        now = self._clock.now()
        if not accepts_answer(meta.deadline, now, self._grace):
            raise DeadlinePassed(
                f"attempt {attempt_id}: the time ran out at {meta.deadline.isoformat()}",
                deadline=meta.deadline.isoformat(),
                server_time=now.isoformat(),
            )
        item = _Save(attempt_id, question_id, option_id, lease, now)
        await self._queue.put(item)
        await item.done
        return Saved(attempt_id, question_id, option_id, meta.deadline, self._clock.now())

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._settle(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _settle(self, batch: list[_Save]) -> None:
        try:
            outcomes = await self._write(batch)
        except Exception as exc:  # the DB failed: nothing was acknowledged, the client retries
            log.exception("answer batch of %d failed", len(batch))
            name = exc.__class__.__name__
            outcomes = [
                JournalUnavailable(
                    f"answer to question {s.question_id} was not saved ({name}); retry"
                )
                for s in batch
            ]
        else:
            self.batches += 1
            self.saves += len(batch)
        for save, error in zip(batch, outcomes, strict=True):
            if save.done.done():
                continue
            if error is None:
                save.done.set_result(None)
            else:
                save.done.set_exception(error)

    async def _write(self, batch: list[_Save]) -> list[AppError | None]:
        if self._writer is not None:  # SQLite: the whole batch in one hop of its writer
            return await self._writer.run(lambda con: [_write_sqlite(con, s) for s in batch])
        outcomes: list[AppError | None] = []
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Share-lock the batch's attempts first, in id order. A submission takes the
                # attempt FOR UPDATE, so it waits for this batch (and counts its answers) or
                # this batch waits for it (and its UPDATEs, under a fresh snapshot, see the
                # attempt submitted and refuse). Without it an UPDATE whose snapshot predates
                # the submission's commit could be acknowledged yet left out of the grade,
                # and the answer_events foreign-key lock could deadlock with submit().
                # SQLite needs none of this: its single writer lock serialises both.
                ids = sorted({save.attempt_id for save in batch})
                await conn.execute(
                    select(Attempt.id)
                    .where(Attempt.id.in_(ids))
                    .order_by(Attempt.id)
                    .with_for_update(read=True)
                )
            for save in batch:
                outcomes.append(await self._write_one(conn, save))
        return outcomes

    async def _write_one(self, conn: AsyncConnection, save: _Save) -> AppError | None:
        held = exists().where(
            Attempt.id == save.attempt_id,
            Attempt.status == AttemptStatus.ACTIVE.value,
            Attempt.lease == save.lease,
        )
        changed = AttemptItem.chosen_option_id.is_distinct_from(save.option_id)
        result = await conn.execute(
            update(AttemptItem)
            .where(
                AttemptItem.attempt_id == save.attempt_id,
                AttemptItem.question_id == save.question_id,
                changed,
                held,
            )
            .values(chosen_option_id=save.option_id, answered_at=save.at)
        )
        if result.rowcount == 1:
            await conn.execute(
                insert(AnswerEvent).values(
                    attempt_id=save.attempt_id,
                    question_id=save.question_id,
                    option_id=save.option_id,
                    at=save.at,
                )
            )
            return None
        row = (
            await conn.execute(
                select(Attempt.status, Attempt.lease, AttemptItem.chosen_option_id)
                .join(
                    AttemptItem,
                    and_(
                        AttemptItem.attempt_id == Attempt.id,
                        AttemptItem.question_id == save.question_id,
                    ),
                )
                .where(Attempt.id == save.attempt_id)
            )
        ).first()
        if row is None:
            return NotFound(f"question {save.question_id} is not part of attempt {save.attempt_id}")
        status, lease, chosen = row
        if status != AttemptStatus.ACTIVE.value:
            return AttemptSubmitted(f"attempt {save.attempt_id} is already submitted")
        if lease != save.lease:
            return AttemptInUse(
                f"attempt {save.attempt_id} is now held by another tab", attempt_id=save.attempt_id
            )
        if chosen == save.option_id:
            return None  # the same answer again: idempotent
        return Conflict(f"answer to question {save.question_id} was not saved; retry")


_UPDATE = (
    "UPDATE attempt_items SET chosen_option_id = ?, answered_at = ? "
    "WHERE attempt_id = ? AND question_id = ? AND chosen_option_id IS NOT ? "
    "AND EXISTS (SELECT 1 FROM attempts WHERE id = ? AND status = ? AND lease = ?)"
)
_EVENT = "INSERT INTO answer_events (attempt_id, question_id, option_id, at) VALUES (?, ?, ?, ?)"
_STATE = (
    "SELECT a.status, a.lease, i.chosen_option_id FROM attempts a "
    "JOIN attempt_items i ON i.attempt_id = a.id AND i.question_id = ? WHERE a.id = ?"
)


def _write_sqlite(con: sqlite3.Connection, save: _Save) -> AppError | None:
    """:meth:`AnswerJournal._write_one` as plain sqlite3 statements, in the writer's batch.

    Same statements and outcomes, without SQLAlchemy's statement building and aiosqlite's
    thread hops per statement; SQLite's single write lock serialises it with submit().
    """
    at = sqlite_time(save.at)
    active = AttemptStatus.ACTIVE.value
    aid, qid, oid = save.attempt_id, save.question_id, save.option_id
    if con.execute(_UPDATE, (oid, at, aid, qid, oid, aid, active, save.lease)).rowcount == 1:
        con.execute(_EVENT, (aid, qid, oid, at))
        return None
    row = con.execute(_STATE, (qid, aid)).fetchone()
    if row is None:
        return NotFound(f"question {qid} is not part of attempt {aid}")
    status, lease, chosen = row
    if status != active:
        return AttemptSubmitted(f"attempt {aid} is already submitted")
    if lease != save.lease:
        return AttemptInUse(f"attempt {aid} is now held by another tab", attempt_id=aid)
    if chosen == oid:
        return None  # the same answer again: idempotent
    return Conflict(f"answer to question {qid} was not saved; retry")
