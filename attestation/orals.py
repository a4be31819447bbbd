"""Oral forms at the sitting: a ticket drawn at random per learner from the linked test's
plan (questions from different sections, B 5.6), the preparation clock (at least the
event's preparation minutes, never under 20) and the answer clock (at most the event's
answer minutes, never over 15), both kept by the server (B 5.10)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import seat_of
from attestation.errors import RuleBroken, WrongState
from attestation.events import ORAL_FORMS
from attestation.models import AttestationEvent, OralTurn, Participant
from attestation.rules import timing
from attestation.rules.forms import Form
from quiz.models import Question, QuestionStatus, QuizSection
from quiz.tickets import draw_ticket
from server import audit
from server.errors import Forbidden, Invalid, NotFound
from server.sessions import Identity


def _clocks(event: AttestationEvent) -> tuple[timedelta, timedelta]:
    preparation = max(timedelta(minutes=event.preparation_minutes), timing.MIN_PREPARATION)
    answer = min(timedelta(minutes=event.answer_minutes), timing.MAX_ANSWER)
    return preparation, answer


async def _checks(
    db: AsyncSession, actor: Identity, event: AttestationEvent, learner_id: int
) -> None:
    if await seat_of(db, event.commission_id, actor.user_id) is None:
        raise NotFound(f"event {event.id} does not exist")
    if Form(event.form) not in ORAL_FORMS:
        raise Invalid(f"event {event.id} is not an oral form", field="form")
    participant = await db.get(Participant, (event.id, learner_id))
    if participant is None:
        raise NotFound(f"learner {learner_id} of event {event.id} does not exist")


async def draw(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    event: AttestationEvent,
    learner_id: int,
    rng: random.Random,
) -> OralTurn:
    """Draw the learner's ticket; the preparation clock starts now."""
    await _checks(db, actor, event, learner_id)
    if await db.get(OralTurn, (event.id, learner_id)) is not None:
        raise WrongState(f"learner {learner_id} has drawn a ticket already")
    if event.quiz_id is None:
        raise Invalid(f"event {event.id} has no linked test to draw tickets from", field="test_id")
    plan = {
        row.section_id: row.count
        for row in await db.scalars(select(QuizSection).where(QuizSection.quiz_id == event.quiz_id))
    }
    rows = await db.execute(
        select(Question.id, Question.section_id).where(
            Question.section_id.in_(plan), Question.status == QuestionStatus.APPROVED.value
        )
    )
    pool: dict[int, list[tuple[int, list[int]]]] = {}
    for question_id, section_id in rows.all():
        pool.setdefault(section_id, []).append((question_id, []))
    items = draw_ticket(plan, pool, rng, shuffle_options=False)
    turn = OralTurn(
        event_id=event.id,
        learner_id=learner_id,
        question_ids=",".join(str(item.question_id) for item in items),
        drawn_at=now,
    )
    db.add(turn)
    await db.flush()
    await audit.record(
        db,
        now,
        actor.user_id,
        "oral.drawn",
        "attestation_event",
        event.id,
        learner_id=learner_id,
        questions=turn.question_ids,
    )
    return turn


async def start_answer(
    db: AsyncSession, actor: Identity, now: datetime, event: AttestationEvent, learner_id: int
) -> OralTurn:
    """The learner begins to answer, not before the preparation time is over."""
    await _checks(db, actor, event, learner_id)
    turn = await db.get(OralTurn, (event.id, learner_id))
    if turn is None:
        raise WrongState(f"learner {learner_id} has not drawn a ticket")
    if turn.answer_started_at is not None:
        raise WrongState(f"learner {learner_id} is answering already")
    preparation, _ = _clocks(event)
    if now - turn.drawn_at < preparation:
        minutes = int(preparation.total_seconds() // 60)
        raise RuleBroken("B5.10-timing", f"the learner has at least {minutes} minutes to prepare")
    turn.answer_started_at = now
    await db.flush()
    return turn


async def finish(
    db: AsyncSession, actor: Identity, now: datetime, event: AttestationEvent, learner_id: int
) -> OralTurn:
    """The answer ends (the chair or secretary closes it; the clock caps it anyway)."""
    await _checks(db, actor, event, learner_id)
    turn = await db.get(OralTurn, (event.id, learner_id))
    if turn is None or turn.answer_started_at is None:
        raise WrongState(f"learner {learner_id} is not answering")
    if turn.finished_at is not None:
        raise WrongState(f"learner {learner_id} has finished")
    _, answer = _clocks(event)
    turn.finished_at = min(now, turn.answer_started_at + answer)
    await db.flush()
    return turn


async def visible_turn(
    db: AsyncSession, user: Identity, event: AttestationEvent, learner_id: int
) -> OralTurn:
    """A turn for its learner and the event's commission; 404 for anyone else."""
    if user.user_id != learner_id and await seat_of(db, event.commission_id, user.user_id) is None:
        raise Forbidden("only the learner and the commission see a ticket")
    turn = await db.get(OralTurn, (event.id, learner_id))
    if turn is None:
        raise NotFound(f"learner {learner_id} has not drawn a ticket")
    return turn


async def turn_json(
    db: AsyncSession, event: AttestationEvent, turn: OralTurn, now: datetime
) -> dict[str, Any]:
    """A turn with the questions and the server's clocks."""
    ids = [int(x) for x in turn.question_ids.split(",") if x]
    rows = await db.execute(
        select(Question.id, Question.section_id, Question.text).where(Question.id.in_(ids))
    )
    found = {qid: (section, text) for qid, section, text in rows.all()}
    preparation, answer = _clocks(event)
    answer_ends = turn.answer_started_at + answer if turn.answer_started_at else None
    return {
        "learner_id": turn.learner_id,
        "questions": [
            {"id": qid, "section_id": found[qid][0], "text": found[qid][1]}
            for qid in ids
            if qid in found
        ],
        "drawn_at": turn.drawn_at.isoformat(),
        "preparation_ends_at": (turn.drawn_at + preparation).isoformat(),
        "answer_started_at": turn.answer_started_at.isoformat() if turn.answer_started_at else None,
        "answer_ends_at": answer_ends.isoformat() if answer_ends else None,
        "answer_seconds_left": (
            timing.answer_time_left(now - turn.answer_started_at, answer).total_seconds()
            if turn.answer_started_at and turn.finished_at is None
            else None
        ),
        "finished_at": turn.finished_at.isoformat() if turn.finished_at else None,
        "server_time": now.isoformat(),
    }
