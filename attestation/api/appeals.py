"""The API of appeals: filing, hearings, documents, votes, informing, signing."""

from __future__ import annotations

from aiohttp import web

from attestation import (
    appeals,
    events,
    hearings,
    protocols,
)
from attestation.api.common import (
    datetime_field,
    json_body,
    reply,
)
from attestation.config import ATTESTATION
from attestation.events import MANAGERS
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.users import STAFF_ROLES, Role

routes = web.RouteTableDef()


@routes.post("/api/attestation/events/{event_id}/appeals")
async def file_appeal(request: web.Request) -> web.Response:
    """The learner's appeal on the day of the announcement (B 7.2)."""
    user = require_user(request, {Role.LEARNER})
    data = await json_body(request)
    event_id = path_int(request, "event_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        appeal = await appeals.file_appeal(
            db,
            user,
            request.app[CLOCK].now(),
            config,
            event,
            field(data, "kind", str) or "",
            field(data, "text", str) or "",
        )
        await db.commit()
    return reply(appeals.appeal_json(appeal, config), 201)


@routes.get("/api/attestation/appeals")
async def list_appeals(request: web.Request) -> web.Response:
    """Appeals the person may see."""
    user = require_user(request)
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        rows = await appeals.appeals_for(db, user)
        return reply(
            [
                appeals.appeal_json(a, config) | {"may_join": await hearings.may_join(db, user, a)}
                for a in rows
            ]
        )


@routes.get("/api/attestation/appeals/{appeal_id}")
async def get_appeal(request: web.Request) -> web.Response:
    """One appeal with its deadlines."""
    user = require_user(request)
    appeal_id = path_int(request, "appeal_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        appeal = await appeals.visible_appeal(db, user, appeal_id)
        body = appeals.appeal_json(appeal, config)
        body["signatures"] = protocols.view_json(
            await protocols.signatures_of(db, "appeal", appeal.id)
        )
    return reply(body)


@routes.post("/api/attestation/appeals/{appeal_id}/hearing")
async def schedule_hearing(request: web.Request) -> web.Response:
    """Name the appeal commission and the hearing (head, admin; B 7.3, 7.4)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    appeal_id = path_int(request, "appeal_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        appeal = await appeals.visible_appeal(db, user, appeal_id)
        await appeals.schedule_hearing(
            db,
            user,
            request.app[CLOCK].now(),
            config,
            appeal,
            field(data, "commission_id", int) or 0,
            datetime_field(data, "hearing_at"),
        )
        await db.commit()
    return reply(appeals.appeal_json(appeal, config))


@routes.post("/api/attestation/appeals/{appeal_id}/documents")
async def send_documents(request: web.Request) -> web.Response:
    """The appeal secretary sends the documents of a disagreement appeal (B 7.7)."""
    user = require_user(request, STAFF_ROLES)
    data = await json_body(request)
    appeal_id = path_int(request, "appeal_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        appeal = await appeals.visible_appeal(db, user, appeal_id)
        timing = await appeals.send_documents(
            db,
            user,
            request.app[CLOCK].now(),
            config,
            appeal,
            field(data, "chair_conclusion", str) or "",
        )
        await db.commit()
    return reply(appeals.appeal_json(appeal, config) | timing)


@routes.post("/api/attestation/appeals/{appeal_id}/votes")
async def appeal_vote(request: web.Request) -> web.Response:
    """An appeal-commission member's vote: upheld (with the new mark for a disagreement)
    or rejected (B 7.9)."""
    user = require_user(request, STAFF_ROLES)
    data = await json_body(request)
    appeal_id = path_int(request, "appeal_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        appeal = await appeals.visible_appeal(db, user, appeal_id)
        result = await appeals.cast_appeal_vote(
            db,
            user,
            request.app[CLOCK].now(),
            config,
            appeal,
            field(data, "result", str) or "",
            field(data, "mark", str, required=False),
        )
        await db.commit()
    return reply(result)


@routes.post("/api/attestation/appeals/{appeal_id}/inform")
async def inform(request: web.Request) -> web.Response:
    """Record that the learner was told the decision (B 7.9)."""
    user = require_user(request, MANAGERS | {Role.COMMISSION, Role.APPEAL})
    appeal_id = path_int(request, "appeal_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        appeal = await appeals.visible_appeal(db, user, appeal_id)
        timing = await appeals.inform(db, user, request.app[CLOCK].now(), config, appeal)
        await db.commit()
    return reply(appeals.appeal_json(appeal, config) | timing)


@routes.post("/api/attestation/appeals/{appeal_id}/sign")
async def sign_appeal(request: web.Request) -> web.Response:
    """Sign the appeal protocol (B 7.11)."""
    user = require_user(request, STAFF_ROLES)
    appeal_id = path_int(request, "appeal_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        appeal = await appeals.visible_appeal(db, user, appeal_id)
        await appeals.sign_appeal(db, user, request.app[CLOCK].now(), appeal)
        await db.commit()
    return reply(appeals.appeal_json(appeal, config))
