"""The API of protocols and summary sheets: opening, signing, PDF and XLSX."""

from __future__ import annotations

import asyncio

from aiohttp import web

from attestation import (
    events,
    protocols,
)
from attestation.api.common import (
    document_reply,
    file_reply,
    reply,
)
from attestation.config import ATTESTATION
from attestation.documents.protocol import render_protocol_pdf
from attestation.documents.summary import render_summary_pdf, render_summary_xlsx
from attestation.models import Protocol
from server.access import path_int, require_user
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from server.errors import NotFound
from server.users import STAFF_ROLES

routes = web.RouteTableDef()


@routes.post("/api/attestation/events/{event_id}/protocol")
async def open_protocol(request: web.Request) -> web.Response:
    """Draw up the protocol once everyone is decided (secretary or chair)."""
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await protocols.open_protocol(db, user, request.app[CLOCK].now(), config, event)
        await db.commit()
        view = await protocols.protocol_view(db, config, event)
    return reply(protocols.view_json(view), 201)


@routes.get("/api/attestation/events/{event_id}/protocol")
async def get_protocol(request: web.Request) -> web.Response:
    """The protocol as data (staff who may see the event; the PDF is rendered from it)."""
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.protocol_view(db, config, event)
    return reply(protocols.view_json(view))


@routes.get("/api/attestation/events/{event_id}/protocol.pdf")
async def protocol_pdf(request: web.Request) -> web.Response:
    """The protocol printed as PDF with Cyrillic text (B 3.10, 4.12)."""
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.protocol_view(db, config, event)
    data = await asyncio.to_thread(render_protocol_pdf, view, request.app[SETTINGS].font_dir)
    return file_reply(data, "application/pdf", f"protocol-{view.number}.pdf")


async def _summary_file(request: web.Request, fmt: str) -> web.Response:
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.summary_sheet_view(db, request.app[ATTESTATION], event)
    return await document_reply(
        request, fmt, view, render_summary_pdf, render_summary_xlsx, f"summary-{event.id}"
    )


@routes.get("/api/attestation/events/{event_id}/summary.pdf")
async def summary_pdf(request: web.Request) -> web.Response:
    """The group summary sheet as PDF (B 2.9)."""
    return await _summary_file(request, "pdf")


@routes.get("/api/attestation/events/{event_id}/summary.xlsx")
async def summary_xlsx(request: web.Request) -> web.Response:
    """The group summary sheet as XLSX (B 2.9)."""
    return await _summary_file(request, "xlsx")


@routes.post("/api/attestation/protocols/{protocol_id}/sign")
async def sign_protocol(request: web.Request) -> web.Response:
    """Sign the protocol; the last signature locks it (B 3.10)."""
    user = require_user(request, STAFF_ROLES)
    protocol_id = path_int(request, "protocol_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        protocol = await db.get(Protocol, protocol_id)
        if protocol is None:
            raise NotFound(f"protocol {protocol_id} does not exist")
        event = await events.visible_event(db, user, protocol.event_id)
        await protocols.sign_protocol(db, user, request.app[CLOCK].now(), protocol)
        await db.commit()
        view = await protocols.protocol_view(db, config, event)
    return reply(protocols.view_json(view))
