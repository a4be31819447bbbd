"""The API of issued certificates and references and their register."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from attestation import (
    events,
    issued,
    registers,
)
from attestation.api.common import (
    COMMISSION_VIEWERS,
    document_reply,
    json_body,
    reply,
)
from attestation.config import ATTESTATION
from attestation.documents.register import render_register_pdf, render_register_xlsx
from attestation.events import MANAGERS
from attestation.models import AttestationEvent, IssuedDocument
from server.access import field, require_user
from server.appkeys import CLOCK, SESSIONS
from server.users import Role

routes = web.RouteTableDef()


@routes.get("/api/attestation/issued-documents")
async def list_issued(request: web.Request) -> web.Response:
    """The register of issued documents (managers, auditors) or one's own (learner)."""
    user = require_user(request, COMMISSION_VIEWERS | {Role.LEARNER})
    async with request.app[SESSIONS]() as db:
        query = select(IssuedDocument).order_by(IssuedDocument.id)
        if user.role == Role.LEARNER:
            query = query.where(IssuedDocument.learner_id == user.user_id)
        rows = list(await db.scalars(query))
        names = await events.learner_names(db, sorted({r.learner_id for r in rows}))
        titles: dict[int, str] = {
            eid: title
            for eid, title in await db.execute(
                select(AttestationEvent.id, AttestationEvent.title).where(
                    AttestationEvent.id.in_({r.event_id for r in rows})
                )
            )
        }
    return reply(
        [
            issued.issued_json(r)
            | {"full_name": names.get(r.learner_id, ""), "event_title": titles.get(r.event_id, "")}
            for r in rows
        ]
    )


async def _register_file(request: web.Request, fmt: str) -> web.Response:
    require_user(request, COMMISSION_VIEWERS)
    async with request.app[SESSIONS]() as db:
        view = await registers.register_view(db, request.app[ATTESTATION], request.app[CLOCK].now())
    day = view.printed_at.date().isoformat() if view.printed_at else "register"
    return await document_reply(
        request, fmt, view, render_register_pdf, render_register_xlsx, f"register-{day}"
    )


@routes.get("/api/attestation/issued-documents/register.pdf")
async def register_pdf(request: web.Request) -> web.Response:
    """The register of issued documents as PDF (B 2.12, 2.13, 4.13; managers, auditors)."""
    return await _register_file(request, "pdf")


@routes.get("/api/attestation/issued-documents/register.xlsx")
async def register_xlsx(request: web.Request) -> web.Response:
    """The register of issued documents as XLSX (B 2.12, 2.13, 4.13; managers, auditors)."""
    return await _register_file(request, "xlsx")


@routes.post("/api/attestation/issued-documents")
async def issue_document(request: web.Request) -> web.Response:
    """Register a certificate or a reference with the delivery method (head, admin)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, field(data, "event_id", int) or 0)
        row = await issued.issue(
            db,
            user,
            request.app[CLOCK].now(),
            event,
            field(data, "learner_id", int) or 0,
            field(data, "delivery", str) or "",
            field(data, "delivery_detail", str, required=False) or "",
        )
        await db.commit()
    return reply(issued.issued_json(row), 201)
