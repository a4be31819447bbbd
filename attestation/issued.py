"""The register of issued documents: a certificate after passing, a reference otherwise
(B 2.12, 2.13), delivered as the learner chose (B 4.13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.errors import RuleBroken, WrongState
from attestation.models import Appeal, AttestationEvent, IssuedDocument, Participant, Protocol
from attestation.rules.outcomes import (
    DELIVERY_TITLES_RU,
    DOCUMENT_TITLES_RU,
    Delivery,
    DocumentKind,
    delivery_problems,
    document_for,
)
from server import audit
from server.errors import NotFound
from server.sessions import Identity


async def issue(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    event: AttestationEvent,
    learner_id: int,
    delivery: str,
    detail: str,
) -> IssuedDocument:
    """Register the document a learner gets after the event's protocol is signed."""
    participant = await db.get(Participant, (event.id, learner_id))
    if participant is None:
        raise NotFound(f"learner {learner_id} of event {event.id} does not exist")
    protocol = await db.scalar(select(Protocol).where(Protocol.event_id == event.id))
    if protocol is None or protocol.locked_at is None:
        raise WrongState(f"the protocol of event {event.id} is not signed by everyone yet")
    open_appeal = await db.scalar(
        select(Appeal.id).where(
            Appeal.event_id == event.id,
            Appeal.learner_id == learner_id,
            Appeal.decided_at.is_(None),
        )
    )
    if open_appeal is not None:
        raise WrongState(f"appeal {open_appeal} of the learner is not decided")
    problems = delivery_problems(delivery, detail)
    if problems:
        raise RuleBroken("B4.13-delivery", "; ".join(problems), field="delivery")
    final = None if participant.annulled or participant.absent else participant.mark
    kind = document_for(final)
    duplicate = await db.scalar(
        select(IssuedDocument.id).where(
            IssuedDocument.event_id == event.id, IssuedDocument.learner_id == learner_id
        )
    )
    if duplicate is not None:
        raise WrongState(f"document {duplicate} was issued for this result")
    count = await db.scalar(
        select(func.count(IssuedDocument.id)).where(IssuedDocument.kind == kind)
    )
    prefix = "У" if kind == DocumentKind.CERTIFICATE else "С"
    row = IssuedDocument(
        number=f"{prefix}-{now.year}-{(count or 0) + 1:05d}",
        kind=kind.value,
        learner_id=learner_id,
        event_id=event.id,
        mark=final,
        delivery=Delivery(delivery).value,
        delivery_detail=detail.strip(),
        issued_by=actor.user_id,
        issued_at=now,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        now,
        actor.user_id,
        "document.issued",
        "issued_document",
        row.id,
        kind=kind.value,
        learner_id=learner_id,
        event_id=event.id,
        delivery=delivery,
    )
    return row


def issued_json(row: IssuedDocument) -> dict[str, Any]:
    """A register entry."""
    return {
        "id": row.id,
        "number": row.number,
        "kind": row.kind,
        "kind_title": DOCUMENT_TITLES_RU[DocumentKind(row.kind)],
        "learner_id": row.learner_id,
        "event_id": row.event_id,
        "mark": row.mark,
        "delivery": row.delivery,
        "delivery_title": DELIVERY_TITLES_RU[Delivery(row.delivery)],
        "delivery_detail": row.delivery_detail,
        "issued_at": row.issued_at.isoformat(),
    }
