"""Timed attempts: the holder tab (lease), reading, submission and the sweeper.

Starting and resuming live in :mod:`quiz.starts`, answer saves in :mod:`quiz.journal`.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.deadlines import is_overdue, seconds_left, window_state
from quiz.grading import MARK_TITLES_EN, MARK_TITLES_RU, Mark, Scale, grade
from quiz.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Option,
    Question,
    Quiz,
)
from server.database import from_sqlite_time, sqlite_time
from server.errors import Conflict, NotFound
from server.programs import group_ids_of
from server.sessions import Identity
from server.users import Role

log = logging.getLogger(__name__)

# Staff who may read any attempt; support reads through a logged access instead.
READERS = frozenset({Role.INSTRUCTOR, Role.HEAD, Role.ADMIN, Role.AUDITOR, Role.COMMISSION})

#: A check a new attempt must pass: ``(db, test id, learner id)``, raising to refuse.
StartGate = Callable[[AsyncSession, int, int], Awaitable[None]]


class AttemptInUse(Conflict):
    """Another tab or browser holds the attempt (B 5.12)."""

    code = "attempt_in_use"


class AttemptSubmitted(Conflict):
    """The attempt is already submitted."""

    code = "attempt_submitted"


@dataclass(frozen=True)
class AttemptMeta:
    """What never changes after start: owner, deadline and each question's options."""

    attempt_id: int
    user_id: int
    deadline: datetime
    options: dict[int, frozenset[int]]


async def quiz_for_learner(db: AsyncSession, quiz_id: int, user: Identity) -> Quiz:
    """The test, if this learner may see it (its group or an open test); else 404."""
    quiz = await db.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFound(f"test {quiz_id} does not exist")
    if (
        user.role == Role.LEARNER
        and quiz.group_id is not None
        and quiz.group_id not in await group_ids_of(db, user.user_id)
    ):
        raise NotFound(f"test {quiz_id} does not exist")
    return quiz


async def load_attempt(db: AsyncSession, attempt_id: int, user: Identity) -> Attempt:
    """The attempt if the user owns it or is staff allowed to read it; foreign ids are 404."""
    attempt = await db.get(Attempt, attempt_id)
    if attempt is None or not may_read(attempt, user):
        raise NotFound(f"attempt {attempt_id} does not exist")
    return attempt


def may_read(attempt: Attempt, user: Identity) -> bool:
    """The owner and staff allowed to read attempts may; anyone else gets 404."""
    return attempt.user_id == user.user_id or user.role in READERS


def attempt_state_sqlite(con: sqlite3.Connection, attempt_id: int) -> Attempt | None:
    """An attempt's owner, status, lease and deadline (a detached :class:`Attempt`), as
    plain sqlite3 on the SQLite reader (``SqliteWriter.read``)."""
    row = con.execute(
        "SELECT user_id, status, lease, deadline FROM attempts WHERE id = ?", (attempt_id,)
    ).fetchone()
    if row is None:
        return None
    user_id, status, lease, deadline = row
    return Attempt(
        id=attempt_id,
        user_id=user_id,
        status=status,
        lease=lease,
        deadline=from_sqlite_time(deadline),
    )


def check_startable(
    quiz_id: int, opens_at: datetime | None, closes_at: datetime | None, now: datetime
) -> None:
    """Refuse a new attempt outside the test's availability window."""
    state = window_state(opens_at, closes_at, now)
    if state == "upcoming":
        assert opens_at is not None
        raise Conflict(f"test {quiz_id} opens at {opens_at:%Y-%m-%d %H:%M} UTC", code="not_open")
    if state == "closed":
        raise Conflict(f"test {quiz_id} is closed", code="closed")


async def attempt_meta(db: AsyncSession, attempt_id: int) -> AttemptMeta | None:
    """The immutable facts of an attempt, for validating saves without a join."""
    attempt = await db.get(Attempt, attempt_id)
    if attempt is None:
        return None
    rows = await db.execute(
        select(AttemptItem.question_id, AttemptItem.option_order).where(
            AttemptItem.attempt_id == attempt_id
        )
    )
    options = {qid: frozenset(json.loads(order)) for qid, order in rows}
    return AttemptMeta(attempt.id, attempt.user_id, attempt.deadline, options)


def attempt_meta_sqlite(con: sqlite3.Connection, attempt_id: int) -> AttemptMeta | None:
    """:func:`attempt_meta` as plain sqlite3 on the SQLite reader (``SqliteWriter.read``)."""
    row = con.execute(
        "SELECT user_id, deadline FROM attempts WHERE id = ?", (attempt_id,)
    ).fetchone()
    if row is None:
        return None
    rows = con.execute(
        "SELECT question_id, option_order FROM attempt_items WHERE attempt_id = ?",
        (attempt_id,),
    ).fetchall()
    options = {qid: frozenset(json.loads(order)) for qid, order in rows}
    return AttemptMeta(attempt_id, row[0], from_sqlite_time(row[1]), options)


def result_json(attempt: Attempt, language: str = "ru") -> dict[str, Any] | None:
    """The graded result of a submitted attempt, or None while active."""
    if attempt.status != AttemptStatus.SUBMITTED.value or attempt.mark is None:
        return None
    mark = Mark(attempt.mark)
    titles = MARK_TITLES_RU if language == "ru" else MARK_TITLES_EN
    return {
        "correct": attempt.correct,
        "total": attempt.total,
        "raw_percent": attempt.raw_percent,
        "percent": attempt.percent,
        "mark": mark.value,
        "mark_title": titles[mark],
        "scale": attempt.scale,
        "passed": mark not in (Mark.UNSATISFACTORY, Mark.FAILED),
        "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
        "submitted_by": attempt.submitted_by,
    }


async def attempt_json(
    db: AsyncSession, attempt: Attempt, now: datetime, language: str, with_lease: bool
) -> dict[str, Any]:
    """The attempt as the test page needs it: questions and options in the attempt's order."""
    items = list(
        await db.scalars(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt.id)
            .order_by(AttemptItem.position)
        )
    )
    question_ids = [item.question_id for item in items]
    questions = {
        q.id: q for q in await db.scalars(select(Question).where(Question.id.in_(question_ids)))
    }
    options = {
        o.id: o
        for o in await db.scalars(select(Option).where(Option.question_id.in_(question_ids)))
    }
    submitted = attempt.status == AttemptStatus.SUBMITTED.value
    out_items = []
    for item in items:
        question = questions[item.question_id]
        entry: dict[str, Any] = {
            "id": question.id,
            "position": item.position + 1,
            "text": question.text,
            "options": [
                {"id": oid, "text": options[oid].text} for oid in json.loads(item.option_order)
            ],
            "option_id": item.chosen_option_id,
        }
        if submitted:
            entry["correct_option_id"] = next(
                (oid for oid in json.loads(item.option_order) if options[oid].correct), None
            )
            entry["explanation"] = question.explanation
        out_items.append(entry)
    data: dict[str, Any] = {
        "attempt_id": attempt.id,
        "test_id": attempt.quiz_id,
        "status": attempt.status,
        "started_at": attempt.started_at.isoformat(),
        "deadline": attempt.deadline.isoformat(),
        "server_time": now.isoformat(),
        "seconds_left": seconds_left(attempt.deadline, now) if not submitted else 0.0,
        "answered": sum(1 for item in items if item.chosen_option_id is not None),
        "questions": out_items,
        "result": result_json(attempt, language),
    }
    if with_lease and not submitted:
        data["lease"] = attempt.lease
    return data


async def submit(
    db: AsyncSession, attempt_id: int, now: datetime, by: str, lease: str | None = None
) -> Attempt:
    """Close the attempt and grade it. Idempotent: a submitted attempt is returned as is.

    The status flips first; then the items are read ``FOR UPDATE`` so that on PostgreSQL an
    answer committed concurrently is waited for and counted, never acknowledged and lost.
    """
    attempt = await db.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} does not exist")
    if attempt.status == AttemptStatus.SUBMITTED.value:
        return attempt
    if lease is not None and not secrets.compare_digest(lease, attempt.lease):
        raise AttemptInUse(f"attempt {attempt_id} is held by another tab", attempt_id=attempt_id)
    result = await db.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, Attempt.status == AttemptStatus.ACTIVE.value)
        .values(status=AttemptStatus.SUBMITTED.value, submitted_at=now, submitted_by=by)
    )
    if getattr(result, "rowcount", 1) == 0:
        await db.refresh(attempt)
        return attempt
    items = (
        await db.execute(
            select(AttemptItem.question_id, AttemptItem.chosen_option_id)
            .where(AttemptItem.attempt_id == attempt_id)
            .with_for_update()
        )
    ).all()
    chosen = [option_id for _, option_id in items if option_id is not None]
    correct = 0
    if chosen:
        correct = len(
            list(await db.scalars(select(Option.id).where(Option.id.in_(chosen), Option.correct)))
        )
    graded = grade(correct, len(items), Scale(attempt.scale))
    attempt.status = AttemptStatus.SUBMITTED.value
    attempt.submitted_at = now
    attempt.submitted_by = by
    attempt.correct = graded.correct
    attempt.total = graded.total
    attempt.raw_percent = graded.raw_percent
    attempt.percent = graded.percent
    attempt.mark = graded.mark.value
    await db.flush()
    log.info(
        "attempt %s submitted by %s: %s/%s = %.2f%% → %s",
        attempt_id,
        by,
        correct,
        len(items),
        graded.raw_percent,
        graded.mark.value,
    )
    return attempt


def submit_sqlite(
    con: sqlite3.Connection,
    attempt_id: int,
    user_id: int,
    now: datetime,
    by: str,
    lease: str | None,
) -> Attempt:
    """:func:`submit` of the learner's own attempt as plain sqlite3, in the SQLite writer's
    transaction (so it queues in-process behind the answer batches instead of in SQLite's busy
    handler); returns a detached :class:`Attempt` with the graded fields."""
    row = con.execute(
        "SELECT user_id, status, lease, scale, started_at, deadline, quiz_id, total, correct, "
        "raw_percent, percent, mark, submitted_at, submitted_by FROM attempts WHERE id = ?",
        (attempt_id,),
    ).fetchone()
    if row is None or row[0] != user_id:
        raise NotFound(f"attempt {attempt_id} does not exist")
    attempt = Attempt(
        id=attempt_id,
        user_id=row[0],
        status=row[1],
        lease=row[2],
        scale=row[3],
        started_at=from_sqlite_time(row[4]),
        deadline=from_sqlite_time(row[5]),
        quiz_id=row[6],
        total=row[7],
        correct=row[8],
        raw_percent=row[9],
        percent=row[10],
        mark=row[11],
        submitted_at=None if row[12] is None else from_sqlite_time(row[12]),
        submitted_by=row[13],
    )
    if attempt.status == AttemptStatus.SUBMITTED.value:
        return attempt
    if lease is not None and not secrets.compare_digest(lease, attempt.lease):
        raise AttemptInUse(f"attempt {attempt_id} is held by another tab", attempt_id=attempt_id)
    items = con.execute(
        "SELECT count(*), count(chosen_option_id) FROM attempt_items WHERE attempt_id = ?",
        (attempt_id,),
    ).fetchone()
    correct = con.execute(
        "SELECT count(*) FROM attempt_items i JOIN options o ON o.id = i.chosen_option_id "
        "WHERE i.attempt_id = ? AND o.correct",
        (attempt_id,),
    ).fetchone()[0]
    graded = grade(correct, items[0], Scale(attempt.scale))
    con.execute(
        "UPDATE attempts SET status = ?, submitted_at = ?, submitted_by = ?, correct = ?, "
        "total = ?, raw_percent = ?, percent = ?, mark = ? WHERE id = ? AND status = ?",
        (
            AttemptStatus.SUBMITTED.value,
            sqlite_time(now),
            by,
            graded.correct,
            graded.total,
            graded.raw_percent,
            graded.percent,
            graded.mark.value,
            attempt_id,
            AttemptStatus.ACTIVE.value,
        ),
    )
    attempt.status = AttemptStatus.SUBMITTED.value
    attempt.submitted_at, attempt.submitted_by = now, by
    attempt.correct, attempt.total = graded.correct, graded.total
    attempt.raw_percent, attempt.percent = graded.raw_percent, graded.percent
    attempt.mark = graded.mark.value
    log.info(
        "attempt %s submitted by %s: %s/%s = %.2f%% → %s",
        attempt_id,
        by,
        graded.correct,
        graded.total,
        graded.raw_percent,
        graded.mark.value,
    )
    return attempt


async def overdue_attempt_ids(db: AsyncSession, now: datetime, grace: timedelta) -> list[int]:
    """Active attempts whose deadline and grace have passed."""
    rows = await db.scalars(
        select(Attempt.id).where(
            Attempt.status == AttemptStatus.ACTIVE.value, Attempt.deadline < now - grace
        )
    )
    return list(rows)


def must_submit(attempt: Attempt, now: datetime, grace: timedelta) -> bool:
    """True when an active attempt is past its deadline and grace."""
    return attempt.status == AttemptStatus.ACTIVE.value and is_overdue(attempt.deadline, now, grace)
