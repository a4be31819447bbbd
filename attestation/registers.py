"""The register of issued documents as printable data: who got a certificate or a
reference (B 2.12, 2.13) and how it was handed over (B 4.13), for the PDF and XLSX
copies staff file in the archive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.config import AttestationConfig
from attestation.documents.register import IssuedDocumentView, RegisterView
from attestation.events import learner_names
from attestation.models import AttestationEvent, IssuedDocument
from attestation.rules.forms import mark_title

TITLE = "все программы"


async def register_view(db: AsyncSession, config: AttestationConfig, now: datetime) -> RegisterView:
    """Every issued document in the order of issue, with names and event titles."""
    rows = list(
        (
            await db.execute(
                select(IssuedDocument, AttestationEvent.title)
                .join(AttestationEvent, AttestationEvent.id == IssuedDocument.event_id)
                .order_by(IssuedDocument.id)
            )
        ).all()
    )
    names = await learner_names(db, sorted({doc.learner_id for doc, _ in rows}))
    return RegisterView(
        title=TITLE,
        timezone=config.zone.key,
        entries=tuple(
            IssuedDocumentView(
                number=doc.number,
                kind=doc.kind,
                full_name=names.get(doc.learner_id, ""),
                event_title=title,
                mark_title=mark_title(doc.mark),
                issued_at=doc.issued_at,
                delivery=doc.delivery,
                delivery_detail=doc.delivery_detail,
            )
            for doc, title in rows
        ),
        printed_at=now,
    )
