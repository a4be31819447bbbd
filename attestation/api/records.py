"""The API of program documents, ongoing results and the learner's account."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from attestation import (
    appeals,
    applications,
    events,
    issued,
    records,
)
from attestation.api.common import (
    RESULT_RECORDERS,
    json_body,
    reply,
)
from attestation.api.events import participant_json
from attestation.config import ATTESTATION
from attestation.events import MANAGERS
from attestation.models import IssuedDocument, Participant
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.users import Role

routes = web.RouteTableDef()


@routes.post("/api/attestation/programs/{program_id}/documents")
async def add_program_document(request: web.Request) -> web.Response:
    """Publish a program document (curriculum, schedule, work program, conditions)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    program_id = path_int(request, "program_id")
    async with request.app[SESSIONS]() as db:
        row = await records.add_program_document(
            db,
            user,
            request.app[CLOCK].now(),
            program_id,
            field(data, "kind", str) or "",
            field(data, "title", str, required=False) or "",
            field(data, "body", str) or "",
        )
        await db.commit()
    return reply({"id": row.id, "kind": row.kind, "title": row.title}, 201)


@routes.post("/api/attestation/results")
async def record_result(request: web.Request) -> web.Response:
    """Record an ongoing-assessment or intermediate result (instructor, head, admin)."""
    user = require_user(request, RESULT_RECORDERS)
    data = await json_body(request)
    async with request.app[SESSIONS]() as db:
        row = await records.record_result(
            db,
            user,
            request.app[CLOCK].now(),
            learner_id=field(data, "learner_id", int) or 0,
            program_id=field(data, "program_id", int) or 0,
            kind=field(data, "kind", str) or "",
            title=field(data, "title", str) or "",
            mark=field(data, "mark", str) or "",
            percent=field(data, "percent", int, required=False),
        )
        await db.commit()
    return reply({"id": row.id}, 201)


@routes.get("/api/attestation/account")
async def my_account(request: web.Request) -> web.Response:
    """The learner's attestation part of the personal account and archive (A 2.1):
    events, results of every kind, applications, appeals, issued documents."""
    user = require_user(request, {Role.LEARNER})
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        rows = await events.events_for(db, user)
        my_events = []
        for event in rows:
            body = events.event_json(event, config, secrets_visible=True)
            participant = await db.get(Participant, (event.id, user.user_id))
            if participant is not None:
                body["me"] = participant_json(participant, {})
            my_events.append(body)
        return reply(
            {
                "events": my_events,
                "results": await records.results_of(db, user.user_id),
                "applications": [
                    await applications.application_json(db, a)
                    for a in await applications.applications_for(db, user)
                ],
                "appeals": [
                    appeals.appeal_json(a, config) for a in await appeals.appeals_for(db, user)
                ],
                "documents": [
                    issued.issued_json(r)
                    for r in await db.scalars(
                        select(IssuedDocument).where(IssuedDocument.learner_id == user.user_id)
                    )
                ],
            }
        )
