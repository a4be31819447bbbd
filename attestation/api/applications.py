"""The API of applications for remote attestation and their orders."""

from __future__ import annotations

from aiohttp import web

from attestation import (
    applications,
    events,
)
from attestation.api.common import (
    date_field,
    json_body,
    reply,
)
from attestation.config import ATTESTATION
from attestation.events import MANAGERS
from proctor.files import content_disposition
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from server.uploads import read_upload
from server.users import Role

routes = web.RouteTableDef()


@routes.post("/api/attestation/events/{event_id}/applications")
async def file_application(request: web.Request) -> web.Response:
    """A learner's application with reasons and a supporting document (multipart:
    ``file``, ``kind`` remote|reschedule, ``reasons``)."""
    user = require_user(request, {Role.LEARNER})
    event_id = path_int(request, "event_id")
    upload = await read_upload(request)
    app = request.app
    async with app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        application = await applications.file_application(
            db,
            user,
            app[CLOCK].now(),
            app[ATTESTATION],
            app[SETTINGS],
            event=event,
            kind=upload.fields.get("kind", ""),
            reasons=upload.fields.get("reasons", ""),
            document=upload.data,
            document_name=upload.filename,
        )
        await db.commit()
        body = await applications.application_json(db, application)
    return reply(body, 201)


@routes.get("/api/attestation/applications")
async def list_applications(request: web.Request) -> web.Response:
    """Applications: all for managers, one's own for a learner."""
    user = require_user(request, MANAGERS | {Role.LEARNER})
    async with request.app[SESSIONS]() as db:
        rows = await applications.applications_for(db, user)
        return reply([await applications.application_json(db, a) for a in rows])


@routes.post("/api/attestation/applications/{application_id}/decision")
async def decide_application(request: web.Request) -> web.Response:
    """Approve (remote: with the order's number and date) or reject (head, admin)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    application_id = path_int(request, "application_id")
    async with request.app[SESSIONS]() as db:
        application = await applications.visible_application(db, user, application_id)
        await applications.decide(
            db,
            user,
            request.app[CLOCK].now(),
            application,
            approve=bool(field(data, "approve", bool)),
            order_number=field(data, "order_number", str, required=False) or "",
            order_date=date_field(data, "order_date", required=False),
            moved_to_event_id=field(data, "moved_to_event_id", int, required=False),
            comment=field(data, "comment", str, required=False) or "",
        )
        await db.commit()
        body = await applications.application_json(db, application)
    return reply(body)


@routes.get("/api/attestation/applications/{application_id}/files/{file_id}")
async def application_file(request: web.Request) -> web.StreamResponse:
    """A supporting document (its learner and managers)."""
    user = require_user(request, MANAGERS | {Role.LEARNER})
    application_id = path_int(request, "application_id")
    file_id = path_int(request, "file_id")
    async with request.app[SESSIONS]() as db:
        application = await applications.visible_application(db, user, application_id)
        row, path = await applications.stored_file(db, request.app[SETTINGS], application, file_id)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": row.content_type,
            "Content-Disposition": content_disposition(row.name),
            "X-Content-Type-Options": "nosniff",
        },
    )
