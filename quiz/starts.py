"""Starting or resuming a learner's attempt: the synchronized-start path.

A new attempt costs one read (the learner's attempts and group membership), a ticket
drawn from the in-memory :mod:`quiz.catalogue`, and one write of the attempt with its
items, which on SQLite joins the process's group commit (:class:`server.database.SqliteWriter`).
The reply is built from the drawn ticket, not read back.

One active attempt per learner (B 5.12) and one attempt per test are guaranteed by the
database: the unique ``(quiz_id, user_id)`` constraint and the partial unique index on
``attempts(user_id) WHERE status = 'active'``. Two tabs (or processes) starting at once
both pass the read; the second insert is refused by the index and that start is decided
again on what the first committed. Within a process a per-learner lock makes that race
rare; across processes the index alone decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.attempts import (
    AttemptInUse,
    AttemptMeta,
    StartGate,
    attempt_json,
    check_startable,
    must_submit,
    submit,
)
from quiz.catalogue import Catalogue, TestEntry
from quiz.deadlines import attempt_deadline, seconds_left
from quiz.models import Attempt, AttemptItem, AttemptStatus
from quiz.tickets import DrawnItem, draw_ticket
from server.database import SqliteWriter, sqlite_time
from server.errors import Conflict, Forbidden, NotFound
from server.programs import group_ids_of
from server.sessions import Identity
from server.users import Role

log = logging.getLogger(__name__)


class StartLocks:
    """One asyncio lock per learner starting right now in this process.

    Two tabs of one learner starting at once are decided one after the other here
    instead of both drawing a ticket and one losing at the unique index.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        """Hold the learner's lock; it is dropped when nobody waits for it."""
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)


START_LOCKS = web.AppKey("start_locks", StartLocks)


@dataclass(frozen=True)
class Opened:
    """The outcome of a start: the attempt as the test page needs it."""

    attempt_id: int
    body: dict[str, Any]
    meta: AttemptMeta | None
    lease_changed: bool


@dataclass(frozen=True)
class StartRequest:
    """Who starts which test, with which tab's lease, at what time."""

    quiz_id: int
    user: Identity
    lease: str | None
    takeover: bool
    now: datetime
    grace: timedelta
    language: str


async def open_attempt(
    sessions: Callable[[], AsyncSession],
    writer: SqliteWriter | None,
    catalogue: Catalogue,
    request: StartRequest,
    rng: random.Random,
    gate: StartGate | None = None,
) -> Opened:
    """Start the learner's attempt or resume it.

    A tab resumes with the lease it was given. Another tab gets :class:`AttemptInUse`
    unless it asks to take over, which hands it a new lease and cuts the old tab off.
    A new attempt must first pass ``gate(db, test id, learner id)`` (the identity check
    of the test's room), which raises to refuse; resuming never waits for it.
    """
    if request.user.role != Role.LEARNER:
        raise Forbidden("only learners take tests")
    entry = await catalogue.entry(sessions, request.quiz_id)
    if writer is not None and gate is None:
        # SQLite: the checks and the insert in one operation of the writer's group commit.
        new = _draw(entry, request, rng)
        try:
            attempt_id = await writer.run(lambda con: new.start_sqlite(con, entry))
        except sqlite3.IntegrityError:
            attempt_id = None  # another process inserted first: decided below
        if attempt_id is not None:
            log.info(
                "attempt %s started by user %s on test %s",
                attempt_id,
                request.user.user_id,
                request.quiz_id,
            )
            return Opened(
                attempt_id, new.body(attempt_id, entry, request.now), new.meta(attempt_id), True
            )
        # The learner has an attempt of this test: resumed (or refused) below.
    for _ in range(3):
        async with sessions() as db:
            opened = await _decide(db, writer, entry, request, rng, gate)
        if opened is not None:
            return opened
        # Another tab or process inserted first: decide again on what it committed.
    raise Conflict(f"test {request.quiz_id}: the start collided repeatedly; retry")


async def _decide(
    db: AsyncSession,
    writer: SqliteWriter | None,
    entry: TestEntry,
    request: StartRequest,
    rng: random.Random,
    gate: StartGate | None,
) -> Opened | None:
    quiz, user = entry.quiz, request.user
    if quiz.group_id is not None and quiz.group_id not in await group_ids_of(db, user.user_id):
        raise NotFound(f"test {quiz.id} does not exist")
    mine = list(
        await db.scalars(
            select(Attempt).where(
                Attempt.user_id == user.user_id,
                or_(Attempt.quiz_id == quiz.id, Attempt.status == AttemptStatus.ACTIVE.value),
            )
        )
    )
    attempt = next((a for a in mine if a.quiz_id == quiz.id), None)
    if attempt is not None:
        return await _resume(db, attempt, request)
    other = next((a for a in mine if a.status == AttemptStatus.ACTIVE.value), None)
    if other is not None:
        raise Conflict(
            f"attempt {other.id} of another test is still active; finish it first",
            code="other_attempt_active",
            attempt_id=other.id,
        )
    check_startable(quiz.id, quiz.opens_at, quiz.closes_at, request.now)
    if gate is not None:
        await gate(db, quiz.id, user.user_id)
    new = _draw(entry, request, rng)
    if writer is not None:
        await db.close()  # the pooled connection is not needed while the writer inserts
        try:
            attempt_id = await writer.run(new.insert_sqlite)
        except sqlite3.IntegrityError:
            return None
    else:
        try:
            attempt_id = await new.insert(db)
        except IntegrityError:
            await db.rollback()
            return None
    log.info("attempt %s started by user %s on test %s", attempt_id, user.user_id, quiz.id)
    return Opened(attempt_id, new.body(attempt_id, entry, request.now), new.meta(attempt_id), True)


def _draw(entry: TestEntry, request: StartRequest, rng: random.Random) -> _NewAttempt:
    quiz = entry.quiz
    return _NewAttempt(
        quiz_id=quiz.id,
        user_id=request.user.user_id,
        lease=secrets.token_urlsafe(18),
        started_at=request.now,
        deadline=attempt_deadline(
            request.now, timedelta(seconds=quiz.time_limit_s), quiz.closes_at
        ),
        scale=quiz.scale,
        items=draw_ticket(entry.plan, entry.pool, rng, quiz.shuffle_options),
    )


async def _resume(db: AsyncSession, attempt: Attempt, request: StartRequest) -> Opened:
    """The learner's attempt of this test: resumed, taken over, refused or shown as done."""
    lease_changed = False
    if attempt.status == AttemptStatus.ACTIVE.value:
        if request.lease and secrets.compare_digest(request.lease, attempt.lease):
            pass
        elif not request.takeover:
            raise AttemptInUse(
                f"attempt {attempt.id} is open in another tab or browser; "
                "take it over to continue here",
                attempt_id=attempt.id,
            )
        else:
            attempt.lease = secrets.token_urlsafe(18)
            lease_changed = True
            log.info(
                "attempt %s taken over by a new tab of user %s", attempt.id, request.user.user_id
            )
        if must_submit(attempt, request.now, request.grace):
            attempt = await submit(db, attempt.id, request.now, "deadline")
        await db.commit()
    meta = None
    if attempt.status == AttemptStatus.ACTIVE.value:
        rows = await db.execute(
            select(AttemptItem.question_id, AttemptItem.option_order).where(
                AttemptItem.attempt_id == attempt.id
            )
        )
        options = {qid: frozenset(json.loads(order)) for qid, order in rows}
        meta = AttemptMeta(attempt.id, attempt.user_id, attempt.deadline, options)
    body = await attempt_json(db, attempt, request.now, request.language, True)
    return Opened(attempt.id, body, meta, lease_changed)


@dataclass(frozen=True)
class _NewAttempt:
    quiz_id: int
    user_id: int
    lease: str
    started_at: datetime
    deadline: datetime
    scale: str
    items: list[DrawnItem]

    def start_sqlite(self, con: sqlite3.Connection, entry: TestEntry) -> int | None:
        """:func:`_decide` for a new attempt, in the SQLite writer's transaction: the group,
        the learner's attempts, the window, then the insert. None when the learner already
        has an attempt of this test (resumed through the general path)."""
        quiz = entry.quiz
        if quiz.group_id is not None and (
            con.execute(
                "SELECT 1 FROM enrollments WHERE group_id = ? AND user_id = ?",
                (quiz.group_id, self.user_id),
            ).fetchone()
            is None
        ):
            raise NotFound(f"test {quiz.id} does not exist")
        rows = con.execute(
            "SELECT id, quiz_id FROM attempts WHERE user_id = ? AND (quiz_id = ? OR status = ?)",
            (self.user_id, quiz.id, AttemptStatus.ACTIVE.value),
        ).fetchall()
        if any(quiz_id == quiz.id for _, quiz_id in rows):
            return None
        if rows:
            other = rows[0][0]
            raise Conflict(
                f"attempt {other} of another test is still active; finish it first",
                code="other_attempt_active",
                attempt_id=other,
            )
        check_startable(quiz.id, quiz.opens_at, quiz.closes_at, self.started_at)
        return self.insert_sqlite(con)

    def insert_sqlite(self, con: sqlite3.Connection) -> int:
        """The attempt and its items as plain statements, in the SQLite writer's transaction."""
        cursor = con.execute(
            "INSERT INTO attempts (quiz_id, user_id, status, lease, started_at, deadline, "
            "submitted_by, scale, total) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)",
            (
                self.quiz_id,
                self.user_id,
                AttemptStatus.ACTIVE.value,
                self.lease,
                sqlite_time(self.started_at),
                sqlite_time(self.deadline),
                self.scale,
                len(self.items),
            ),
        )
        attempt_id = cursor.lastrowid
        assert attempt_id is not None
        con.executemany(
            "INSERT INTO attempt_items (attempt_id, question_id, position, option_order) "
            "VALUES (?, ?, ?, ?)",
            [
                (attempt_id, item.question_id, position, json.dumps(list(item.option_ids)))
                for position, item in enumerate(self.items)
            ],
        )
        return attempt_id

    async def insert(self, db: AsyncSession) -> int:
        """The attempt and its items through the ORM session, committed."""
        attempt = Attempt(
            quiz_id=self.quiz_id,
            user_id=self.user_id,
            status=AttemptStatus.ACTIVE.value,
            lease=self.lease,
            started_at=self.started_at,
            deadline=self.deadline,
            scale=self.scale,
            total=len(self.items),
        )
        db.add(attempt)
        await db.flush()
        db.add_all(
            AttemptItem(
                attempt_id=attempt.id,
                question_id=item.question_id,
                position=position,
                option_order=json.dumps(list(item.option_ids)),
            )
            for position, item in enumerate(self.items)
        )
        await db.commit()
        return attempt.id

    def meta(self, attempt_id: int) -> AttemptMeta:
        """The attempt's fixed facts for the answer journal."""
        options = {item.question_id: frozenset(item.option_ids) for item in self.items}
        return AttemptMeta(attempt_id, self.user_id, self.deadline, options)

    def body(self, attempt_id: int, entry: TestEntry, now: datetime) -> dict[str, Any]:
        """The new attempt as :func:`quiz.attempts.attempt_json` shows it, from the ticket."""
        questions = [
            {
                "id": item.question_id,
                "position": position + 1,
                "text": entry.question_texts[item.question_id],
                "options": [
                    {"id": oid, "text": entry.option_texts[oid]} for oid in item.option_ids
                ],
                "option_id": None,
            }
            for position, item in enumerate(self.items)
        ]
        return {
            "attempt_id": attempt_id,
            "test_id": self.quiz_id,
            "status": AttemptStatus.ACTIVE.value,
            "started_at": self.started_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "server_time": now.isoformat(),
            "seconds_left": seconds_left(self.deadline, now),
            "answered": 0,
            "questions": questions,
            "result": None,
            "lease": self.lease,
        }
