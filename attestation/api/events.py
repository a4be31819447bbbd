"""The API of attestation events: scheduling, remote mode, questionnaires, invitations."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation import (
    commissions,
    events,
    protocols,
    sittings,
)
from attestation.api.common import (
    datetime_field,
    ids_field,
    json_body,
    reply,
)
from attestation.config import ATTESTATION
from attestation.events import MANAGERS, EventInput
from attestation.mail.mailer import MAILER, Mailer
from attestation.models import AttestationEvent, Participant, Protocol, Vote
from attestation.rules.forms import mark_title
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.users import Role

routes = web.RouteTableDef()


async def event_body(request: web.Request, event: AttestationEvent, user: Any) -> dict[str, Any]:
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        seat = await commissions.seat_of(db, event.commission_id, user.user_id)
        participant = await db.get(Participant, (event.id, user.user_id))
        people = user.role in MANAGERS or seat is not None or participant is not None
        body = events.event_json(event, config, secrets_visible=people)
        body["my_seat"] = seat.value if seat else None
        if participant is not None:
            body["me"] = participant_json(participant, {})
        if user.role != Role.LEARNER:
            rows = await events.participants_of(db, event.id)
            names = await events.learner_names(db, [p.user_id for p in rows])
            body["learners"] = [participant_json(p, names) for p in rows]
            for item in body["learners"]:
                item["proposed"] = await sittings.proposed_mark(db, event, item["user_id"])
            body["present"] = await sittings.present_members(db, event.id)
            body["commission"] = await commissions.commission_json(
                db, await commissions.get_commission(db, event.commission_id)
            )
            if seat is not None:
                mine = await db.scalars(
                    select(Vote.learner_id).where(
                        Vote.event_id == event.id,
                        Vote.member_id == user.user_id,
                    )
                )
                body["my_votes"] = sorted(mine)
        protocol = await db.scalar(select(Protocol).where(Protocol.event_id == event.id))
        body["protocol_id"] = protocol.id if protocol else None
        body["protocol_locked"] = bool(protocol and protocol.locked_at)
    return body


def participant_json(p: Participant, names: dict[int, str]) -> dict[str, Any]:
    mark = None if p.annulled else p.mark
    return {
        "user_id": p.user_id,
        "full_name": names.get(p.user_id, ""),
        "remote": p.remote,
        "absent": p.absent,
        "mark": mark,
        "mark_title": mark_title(mark),
        "by_chair": p.by_chair,
        "decided": p.decided_at is not None,
        "announced_at": p.announced_at.isoformat() if p.announced_at else None,
        "annulled": p.annulled,
    }


@routes.get("/api/attestation/events")
async def list_events(request: web.Request) -> web.Response:
    """Events the person may see: a learner's own, a member's commission's, or all."""
    user = require_user(request)
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        rows = await events.events_for(db, user)
    return reply([events.event_json(e, config, secrets_visible=False) for e in rows])


@routes.post("/api/attestation/events")
async def create_event(request: web.Request) -> web.Response:
    """Schedule an event (head, admin); refused inside the notice period unless
    ``override_reason`` is given (B 2.7)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    learner_ids = ids_field(data, "learner_ids", required=False)
    spec = EventInput(
        program_id=field(data, "program_id", int) or 0,
        group_id=field(data, "group_id", int) or 0,
        commission_id=field(data, "commission_id", int) or 0,
        title=field(data, "title", str) or "",
        form=field(data, "form", str) or "",
        starts_at=datetime_field(data, "starts_at"),
        place=field(data, "place", str, required=False) or "",
        remote=bool(field(data, "remote", bool, required=False)),
        remote_reason=field(data, "remote_reason", str, required=False) or "",
        quiz_id=field(data, "test_id", int, required=False),
        override_reason=field(data, "override_reason", str, required=False) or "",
        preparation_minutes=field(data, "preparation_minutes", int, required=False) or 20,
        answer_minutes=field(data, "answer_minutes", int, required=False) or 15,
        retake_of_id=field(data, "retake_of_id", int, required=False),
        learner_ids=tuple(learner_ids) if learner_ids is not None else None,
    )
    async with request.app[SESSIONS]() as db:
        event = await events.create_event(
            db, user, request.app[CLOCK].now(), request.app[ATTESTATION], spec
        )
        mailer = await queue_invitations(request, db, event)
        await db.commit()
    if mailer is not None:
        mailer.wake()
    return reply(await event_body(request, event, user), 201)


async def queue_invitations(
    request: web.Request, db: AsyncSession, event: AttestationEvent
) -> Mailer | None:
    """Queue the invitations (B 2.7, 4.6) in the scheduling transaction; the outbox sends
    them after the commit and retries failures (idempotent per event and person)."""
    mailer = request.app.get(MAILER)
    if mailer is None:
        return None
    base = f"{request.scheme}://{request.host}"
    views = await protocols.invitation_views(db, request.app[ATTESTATION], event, base)
    await mailer.queue(db, views)
    return mailer


async def event_of(request: web.Request, user: Any) -> AttestationEvent:
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        return await events.visible_event(db, user, event_id)


@routes.get("/api/attestation/events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    """One event with its learners (staff) or one's own line (learner)."""
    user = require_user(request)
    event = await event_of(request, user)
    return reply(await event_body(request, event, user))


@routes.post("/api/attestation/events/{event_id}/remote")
async def make_remote(request: web.Request) -> web.Response:
    """Hold the event remotely for everyone (B 4.3; head, admin)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await events.make_remote(
            db, user, request.app[CLOCK].now(), event, field(data, "reason", str) or ""
        )
        mailer = await queue_invitations(request, db, event)
        await db.commit()
    if mailer is not None:
        mailer.wake()
    return reply(await event_body(request, event, user))


@routes.post("/api/attestation/events/{event_id}/questionnaire")
async def release_questionnaire(request: web.Request) -> web.Response:
    """Release an interview's questionnaire, at least 3 days ahead (B 5.7)."""
    user = require_user(request, MANAGERS | {Role.INSTRUCTOR})
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await events.release_questionnaire(
            db, user, request.app[CLOCK].now(), request.app[ATTESTATION], event
        )
        await db.commit()
    return reply(await event_body(request, event, user))


@routes.get("/api/attestation/events/{event_id}/invitations")
async def invitations(request: web.Request) -> web.Response:
    """The invitations of an event as data (managers; B 2.7, 4.6)."""
    user = require_user(request, MANAGERS)
    event_id = path_int(request, "event_id")
    base = f"{request.scheme}://{request.host}"
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        views = await protocols.invitation_views(db, request.app[ATTESTATION], event, base)
    return reply(protocols.view_json(views))
