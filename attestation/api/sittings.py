"""The API of a sitting: presence, closed votes, absences, the group summary."""

from __future__ import annotations

from aiohttp import web

from attestation import (
    events,
    protocols,
    sittings,
)
from attestation.api.common import (
    ids_field,
    json_body,
    reply,
)
from attestation.api.events import event_body
from attestation.config import ATTESTATION
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.users import STAFF_ROLES

routes = web.RouteTableDef()


@routes.put("/api/attestation/events/{event_id}/presence")
async def set_presence(request: web.Request) -> web.Response:
    """The chair or secretary records who is present; refused below quorum."""
    user = require_user(request, STAFF_ROLES)
    data = await json_body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await sittings.set_presence(
            db,
            user,
            request.app[CLOCK].now(),
            request.app[ATTESTATION],
            event,
            ids_field(data, "present") or [],
            ids_field(data, "appeal_members", required=False) or [],
        )
        await db.commit()
    return reply(await event_body(request, event, user))


@routes.post("/api/attestation/events/{event_id}/votes")
async def cast_vote(request: web.Request) -> web.Response:
    """A present member's closed vote on a learner's mark (B 3.9)."""
    user = require_user(request, STAFF_ROLES)
    data = await json_body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        result = await sittings.cast_vote(
            db,
            user,
            request.app[CLOCK].now(),
            request.app[ATTESTATION],
            event,
            field(data, "learner_id", int) or 0,
            field(data, "mark", str) or "",
        )
        await db.commit()
    return reply(result)


@routes.post("/api/attestation/events/{event_id}/absent")
async def mark_absent(request: web.Request) -> web.Response:
    """Record that a learner did not appear (chair or secretary)."""
    user = require_user(request, STAFF_ROLES)
    data = await json_body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await sittings.mark_absent(
            db,
            user,
            request.app[CLOCK].now(),
            request.app[ATTESTATION],
            event,
            field(data, "learner_id", int) or 0,
        )
        await db.commit()
    return reply(await event_body(request, event, user))


@routes.get("/api/attestation/events/{event_id}/summary")
async def summary_sheet(request: web.Request) -> web.Response:
    """The group summary sheet as data (B 2.9)."""
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.summary_sheet_view(db, request.app[ATTESTATION], event)
    return reply(protocols.view_json(view))
