"""Referats (B 5.9): a topic from the list the head approved, or the learner's own topic
with a justification the head approves; the text uploaded; a review before the defence.
The commission votes on a referat only once all of that is done."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.applications import files_dir, write_durably
from attestation.errors import RuleBroken, WrongState
from attestation.events import MANAGERS, visible_event
from attestation.models import AttestationEvent, Participant, Referat, ReferatTopic
from attestation.rules.forms import Form
from proctor.files import file_name, sniff
from server import audit
from server.errors import Invalid, NotFound
from server.programs import get_program
from server.sessions import Identity
from server.settings import Settings
from server.users import Role

REVIEWERS = MANAGERS | {Role.INSTRUCTOR}


async def add_topic(
    db: AsyncSession, actor: Identity, now: datetime, program_id: int, title: str
) -> ReferatTopic:
    """The head adds an approved topic to a program's list."""
    await get_program(db, program_id)
    if not title.strip():
        raise Invalid("field 'title' is required", field="title")
    topic = ReferatTopic(
        program_id=program_id, title=title.strip(), approved_by=actor.user_id, approved_at=now
    )
    db.add(topic)
    await db.flush()
    return topic


async def topics_of(db: AsyncSession, program_id: int) -> list[ReferatTopic]:
    """The approved topics of a program."""
    rows = await db.scalars(
        select(ReferatTopic).where(ReferatTopic.program_id == program_id).order_by(ReferatTopic.id)
    )
    return list(rows)


async def choose(
    db: AsyncSession,
    learner: Identity,
    now: datetime,
    event: AttestationEvent,
    *,
    topic_id: int | None,
    title: str,
    justification: str,
) -> Referat:
    """The learner takes a listed topic, or proposes an own one with a justification."""
    if event.form != Form.REFERAT:
        raise Invalid(f"event {event.id} is not a referat defence", field="form")
    if await db.get(Participant, (event.id, learner.user_id)) is None:
        raise NotFound(f"event {event.id} does not exist")
    existing = await db.scalar(
        select(Referat).where(Referat.event_id == event.id, Referat.learner_id == learner.user_id)
    )
    if existing is not None:
        raise WrongState(f"referat {existing.id} exists for this event")
    if topic_id is not None:
        topic = await db.get(ReferatTopic, topic_id)
        if topic is None or topic.program_id != event.program_id:
            raise NotFound(f"topic {topic_id} does not exist")
        referat = Referat(
            event_id=event.id,
            learner_id=learner.user_id,
            topic_id=topic.id,
            title=topic.title,
            topic_status="approved",
        )
    else:
        if not title.strip():
            raise Invalid("choose a listed topic or name your own", field="title")
        if not justification.strip():
            raise RuleBroken("B5.9-referat", "an own topic needs a justification")
        referat = Referat(
            event_id=event.id,
            learner_id=learner.user_id,
            title=title.strip(),
            justification=justification.strip(),
            topic_status="proposed",
        )
    db.add(referat)
    await db.flush()
    return referat


async def decide_topic(
    db: AsyncSession, actor: Identity, now: datetime, referat: Referat, approve: bool
) -> None:
    """The head approves or rejects an own topic."""
    if referat.topic_status != "proposed":
        raise WrongState(f"the topic of referat {referat.id} is {referat.topic_status}")
    referat.topic_status = "approved" if approve else "rejected"
    await audit.record(
        db, now, actor.user_id, f"referat.topic_{referat.topic_status}", "referat", referat.id
    )
    await db.flush()


async def upload(
    db: AsyncSession,
    settings: Settings,
    now: datetime,
    referat: Referat,
    data: bytes,
    name: str,
) -> None:
    """The learner uploads the text (again, until it is reviewed)."""
    if referat.topic_status != "approved":
        raise WrongState(f"the topic of referat {referat.id} is not approved")
    if referat.reviewed_at is not None:
        raise WrongState(f"referat {referat.id} has been reviewed")
    kind = sniff(data)
    stored = secrets.token_hex(16) + kind.extensions[0]
    await asyncio.to_thread(write_durably, files_dir(settings) / stored, data)
    referat.file_name = file_name(name, kind)
    referat.stored_name = stored
    referat.sha256 = hashlib.sha256(data).hexdigest()
    referat.uploaded_at = now
    await db.flush()


async def review(
    db: AsyncSession, actor: Identity, now: datetime, referat: Referat, text: str
) -> None:
    """A reviewer's review of the uploaded text."""
    if referat.uploaded_at is None:
        raise WrongState(f"referat {referat.id} has no text yet")
    if not text.strip():
        raise Invalid("write the review", field="review")
    referat.review = text.strip()
    referat.reviewed_by = actor.user_id
    referat.reviewed_at = now
    await audit.record(db, now, actor.user_id, "referat.reviewed", "referat", referat.id)
    await db.flush()


async def ready_for_defence(db: AsyncSession, event: AttestationEvent, learner_id: int) -> bool:
    """True when the learner's referat has an approved topic, a text and a review."""
    referat = await db.scalar(
        select(Referat).where(Referat.event_id == event.id, Referat.learner_id == learner_id)
    )
    return referat is not None and referat.reviewed_at is not None


async def visible_referat(db: AsyncSession, user: Identity, referat_id: int) -> Referat:
    """The referat for its learner and reviewers; 404 otherwise."""
    referat = await db.get(Referat, referat_id)
    if referat is None or (user.role not in REVIEWERS and referat.learner_id != user.user_id):
        raise NotFound(f"referat {referat_id} does not exist")
    return referat


def referat_json(referat: Referat) -> dict[str, Any]:
    """A referat for the API."""
    return {
        "id": referat.id,
        "event_id": referat.event_id,
        "learner_id": referat.learner_id,
        "topic_id": referat.topic_id,
        "title": referat.title,
        "justification": referat.justification,
        "topic_status": referat.topic_status,
        "file_name": referat.file_name,
        "uploaded_at": referat.uploaded_at.isoformat() if referat.uploaded_at else None,
        "review": referat.review,
        "reviewed_at": referat.reviewed_at.isoformat() if referat.reviewed_at else None,
    }


async def referat_event(db: AsyncSession, user: Identity, event_id: int) -> AttestationEvent:
    """The event for its people, and for every reviewer (instructors review referats
    without a seat in the commission); 404 otherwise."""
    if user.role in REVIEWERS:
        event = await db.get(AttestationEvent, event_id)
        if event is None:
            raise NotFound(f"event {event_id} does not exist")
        return event
    return await visible_event(db, user, event_id)
