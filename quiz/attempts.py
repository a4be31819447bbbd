"""Timed attempts: start or resume, the holder tab (lease), submission and the sweeper.

Answer saves, the hot path, live in :mod:`quiz.journal`.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.deadlines import attempt_deadline, is_overdue, seconds_left, window_state
from quiz.grading import MARK_TITLES_EN, MARK_TITLES_RU, Mark, Scale, grade
from quiz.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Option,
    Question,
    QuestionStatus,
    Quiz,
    QuizSection,
)
from quiz.tickets import draw_ticket
from server.errors import Conflict, Forbidden, NotFound
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
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} does not exist")
    if attempt.user_id != user.user_id and user.role not in READERS:
        raise NotFound(f"attempt {attempt_id} does not exist")
    return attempt


def _check_startable(quiz: Quiz, now: datetime) -> None:
    state = window_state(quiz.opens_at, quiz.closes_at, now)
    if state == "upcoming":
        raise Conflict(
            f"test {quiz.id} opens at {quiz.opens_at:%Y-%m-%d %H:%M} UTC", code="not_open"
        )
    if state == "closed":
        raise Conflict(f"test {quiz.id} is closed", code="closed")


async def _draw(db: AsyncSession, quiz: Quiz, rng: random.Random) -> list[Any]:
    plan_rows = await db.scalars(select(QuizSection).where(QuizSection.quiz_id == quiz.id))
    plan = {row.section_id: row.count for row in plan_rows}
    rows = await db.execute(
        select(Question.id, Question.section_id, Option.id)
        .join(Option, Option.question_id == Question.id)
        .where(
            Question.section_id.in_(plan),
            Question.status == QuestionStatus.APPROVED.value,
        )
        .order_by(Question.id, Option.position)
    )
    by_question: dict[int, tuple[int, list[int]]] = {}
    for question_id, section_id, option_id in rows:
        by_question.setdefault(question_id, (section_id, []))[1].append(option_id)
    pool: dict[int, list[tuple[int, list[int]]]] = {}
    for question_id, (section_id, option_ids) in by_question.items():
        pool.setdefault(section_id, []).append((question_id, option_ids))
    return draw_ticket(plan, pool, rng, quiz.shuffle_options)


async def start_or_resume(
    db: AsyncSession,
    quiz_id: int,
    user: Identity,
    lease: str | None,
    takeover: bool,
    now: datetime,
    rng: random.Random,
    *,
    gate: StartGate | None = None,
) -> tuple[Attempt, bool]:
    """Start the learner's attempt or resume it; returns it and whether the lease changed.

    A tab resumes with the lease it was given. Another tab gets :class:`AttemptInUse`
    unless it asks to take over, which hands it a new lease and cuts the old tab off.
    A new attempt must first pass ``gate(db, test id, learner id)`` (the identity check
    of the test's room), which raises to refuse; resuming never waits for it.
    """
    if user.role != Role.LEARNER:
        raise Forbidden("only learners take tests")
    quiz = await quiz_for_learner(db, quiz_id, user)
    attempt = await db.scalar(
        select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.user_id == user.user_id)
    )
    if attempt is not None:
        if attempt.status != AttemptStatus.ACTIVE.value:
            return attempt, False
        if lease and secrets.compare_digest(lease, attempt.lease):
            return attempt, False
        if not takeover:
            raise AttemptInUse(
                f"attempt {attempt.id} is open in another tab or browser; "
                "take it over to continue here",
                attempt_id=attempt.id,
            )
        attempt.lease = secrets.token_urlsafe(18)
        log.info("attempt %s taken over by a new tab of user %s", attempt.id, user.user_id)
        return attempt, True
    other = await db.scalar(
        select(Attempt.id).where(
            Attempt.user_id == user.user_id, Attempt.status == AttemptStatus.ACTIVE.value
        )
    )
    if other is not None:
        raise Conflict(
            f"attempt {other} of another test is still active; finish it first",
            code="other_attempt_active",
            attempt_id=other,
        )
    _check_startable(quiz, now)
    if gate is not None:
        await gate(db, quiz.id, user.user_id)
    items = await _draw(db, quiz, rng)
    attempt = Attempt(
        quiz_id=quiz.id,
        user_id=user.user_id,
        status=AttemptStatus.ACTIVE.value,
        lease=secrets.token_urlsafe(18),
        started_at=now,
        deadline=attempt_deadline(now, timedelta(seconds=quiz.time_limit_s), quiz.closes_at),
        scale=quiz.scale,
        total=len(items),
    )
    db.add(attempt)
    await db.flush()
    for position, item in enumerate(items):
        db.add(
            AttemptItem(
                attempt_id=attempt.id,
                question_id=item.question_id,
                position=position,
                option_order=json.dumps(item.option_ids),
            )
        )
    await db.flush()
    log.info("attempt %s started by user %s on test %s", attempt.id, user.user_id, quiz.id)
    return attempt, True


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
