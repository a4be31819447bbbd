"""The attestation JSON API under ``/api/attestation/``: thin handlers over the services.

Every handler checks the role first and answers 404 for ids the person may not see.
"""

from __future__ import annotations

import asyncio
import random
from datetime import date, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation import (
    appeals,
    applications,
    commissions,
    events,
    hearings,
    issued,
    orals,
    protocols,
    records,
    referats,
    registers,
    sittings,
)
from attestation.config import ATTESTATION
from attestation.documents.protocol import render_protocol_pdf
from attestation.documents.register import render_register_pdf, render_register_xlsx
from attestation.documents.summary import render_summary_pdf, render_summary_xlsx
from attestation.events import MANAGERS, EventInput
from attestation.mail.mailer import MAILER, Mailer
from attestation.models import AttestationEvent, IssuedDocument, Participant, Protocol, Vote
from attestation.rules.forms import mark_title
from proctor.files import content_disposition
from server.access import field, path_int, read_json, require_user
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from server.errors import Invalid, NotFound
from server.programs import Enrollment, Group
from server.uploads import read_upload
from server.users import STAFF_ROLES, Role, User

routes = web.RouteTableDef()
COMMISSION_VIEWERS = MANAGERS | {Role.AUDITOR}
RESULT_RECORDERS = frozenset({Role.INSTRUCTOR, Role.HEAD, Role.ADMIN})


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _date(data: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    raw = field(data, name, str, required=required)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"field {name!r} is not an ISO 8601 date", field=name) from exc


def _datetime(data: dict[str, Any], name: str) -> datetime:
    raw = field(data, name, str) or ""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"field {name!r} is not an ISO 8601 datetime", field=name) from exc
    if value.tzinfo is None:
        raise Invalid(f"field {name!r} needs a timezone offset", field=name)
    return value


def _ids(data: dict[str, Any], name: str, *, required: bool = True) -> list[int] | None:
    value = field(data, name, list, required=required)
    if value is None:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in value):
        raise Invalid(f"field {name!r} is a list of ids", field=name)
    return list(value)


async def _body(request: web.Request) -> dict[str, Any]:
    return await read_json(request, request.app[SETTINGS].max_json_bytes)


# ------------------------------------------------------------------ commissions


@routes.get("/api/attestation/commissions")
async def list_commissions(request: web.Request) -> web.Response:
    """Commissions: all for managers and auditors, one's own for members."""
    user = require_user(request, STAFF_ROLES)
    async with request.app[SESSIONS]() as db:
        rows = await commissions.commissions_of(db, user, user.role in COMMISSION_VIEWERS)
        return _json([await commissions.commission_json(db, c) for c in rows])


@routes.post("/api/attestation/commissions")
async def create_commission(request: web.Request) -> web.Response:
    """Form a commission (head, admin): members with roles, term, order."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
    raw = field(data, "members", list) or []
    members = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("members are objects {user_id, role}", field="members")
        members.append((field(item, "user_id", int) or 0, field(item, "role", str) or ""))
    async with request.app[SESSIONS]() as db:
        commission = await commissions.create_commission(
            db,
            user,
            request.app[CLOCK].now(),
            kind=field(data, "kind", str, required=False) or "attestation",
            program_id=field(data, "program_id", int) or 0,
            title=field(data, "title", str) or "",
            starts_on=_date(data, "starts_on") or date.min,
            ends_on=_date(data, "ends_on", required=False),
            members=members,
            order_number=field(data, "order_number", str, required=False) or "",
            order_date=_date(data, "order_date", required=False),
            chair_is_deputy_director=bool(
                field(data, "chair_is_deputy_director", bool, required=False)
            ),
        )
        body = await commissions.commission_json(db, commission)
        await db.commit()
    return _json(body, 201)


@routes.get("/api/attestation/commissions/{commission_id}")
async def get_commission(request: web.Request) -> web.Response:
    """One commission (managers, auditors, its members)."""
    user = require_user(request, STAFF_ROLES)
    commission_id = path_int(request, "commission_id")
    async with request.app[SESSIONS]() as db:
        commission = await commissions.get_commission(db, commission_id)
        if user.role not in COMMISSION_VIEWERS and (
            await commissions.seat_of(db, commission.id, user.user_id) is None
        ):
            raise NotFound(f"commission {commission_id} does not exist")
        return _json(await commissions.commission_json(db, commission))


@routes.get("/api/attestation/groups")
async def list_groups(request: web.Request) -> web.Response:
    """Groups with their program and how many learners completed it (staff)."""
    require_user(request, STAFF_ROLES)
    async with request.app[SESSIONS]() as db:
        rows = (
            await db.execute(
                select(Group, func.count(Enrollment.user_id))
                .outerjoin(
                    Enrollment,
                    (Enrollment.group_id == Group.id) & Enrollment.completed.is_(True),
                )
                .group_by(Group.id)
                .order_by(Group.code)
            )
        ).all()
    return _json(
        [
            {
                "id": g.id,
                "program_id": g.program_id,
                "code": g.code,
                "title": g.title,
                "completed": n,
            }
            for g, n in rows
        ]
    )


@routes.get("/api/attestation/staff")
async def list_staff(request: web.Request) -> web.Response:
    """Active staff who may sit in commissions (head, admin)."""
    require_user(request, MANAGERS)
    async with request.app[SESSIONS]() as db:
        rows = await db.scalars(
            select(User)
            .where(User.role != Role.LEARNER.value, User.active.is_(True))
            .order_by(User.full_name, User.username)
        )
        return _json([u.public() for u in rows])


# ------------------------------------------------------------------ events


async def _event_body(request: web.Request, event: AttestationEvent, user: Any) -> dict[str, Any]:
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        seat = await commissions.seat_of(db, event.commission_id, user.user_id)
        participant = await db.get(Participant, (event.id, user.user_id))
        people = user.role in MANAGERS or seat is not None or participant is not None
        body = events.event_json(event, config, secrets_visible=people)
        body["my_seat"] = seat.value if seat else None
        if participant is not None:
            body["me"] = _participant_json(participant, {})
        if user.role != Role.LEARNER:
            rows = await events.participants_of(db, event.id)
            names = await events.learner_names(db, [p.user_id for p in rows])
            body["learners"] = [_participant_json(p, names) for p in rows]
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


def _participant_json(p: Participant, names: dict[int, str]) -> dict[str, Any]:
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
    return _json([events.event_json(e, config, secrets_visible=False) for e in rows])


@routes.post("/api/attestation/events")
async def create_event(request: web.Request) -> web.Response:
    """Schedule an event (head, admin); refused inside the notice period unless
    ``override_reason`` is given (B 2.7)."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
    learner_ids = _ids(data, "learner_ids", required=False)
    spec = EventInput(
        program_id=field(data, "program_id", int) or 0,
        group_id=field(data, "group_id", int) or 0,
        commission_id=field(data, "commission_id", int) or 0,
        title=field(data, "title", str) or "",
        form=field(data, "form", str) or "",
        starts_at=_datetime(data, "starts_at"),
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
        mailer = await _queue_invitations(request, db, event)
        await db.commit()
    if mailer is not None:
        mailer.wake()
    return _json(await _event_body(request, event, user), 201)


async def _queue_invitations(
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


async def _event(request: web.Request, user: Any) -> AttestationEvent:
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        return await events.visible_event(db, user, event_id)


@routes.get("/api/attestation/events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    """One event with its learners (staff) or one's own line (learner)."""
    user = require_user(request)
    event = await _event(request, user)
    return _json(await _event_body(request, event, user))


@routes.post("/api/attestation/events/{event_id}/remote")
async def make_remote(request: web.Request) -> web.Response:
    """Hold the event remotely for everyone (B 4.3; head, admin)."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await events.make_remote(
            db, user, request.app[CLOCK].now(), event, field(data, "reason", str) or ""
        )
        mailer = await _queue_invitations(request, db, event)
        await db.commit()
    if mailer is not None:
        mailer.wake()
    return _json(await _event_body(request, event, user))


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
    return _json(await _event_body(request, event, user))


@routes.put("/api/attestation/events/{event_id}/presence")
async def set_presence(request: web.Request) -> web.Response:
    """The chair or secretary records who is present; refused below quorum."""
    user = require_user(request, STAFF_ROLES)
    data = await _body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        await sittings.set_presence(
            db,
            user,
            request.app[CLOCK].now(),
            request.app[ATTESTATION],
            event,
            _ids(data, "present") or [],
            _ids(data, "appeal_members", required=False) or [],
        )
        await db.commit()
    return _json(await _event_body(request, event, user))


@routes.post("/api/attestation/events/{event_id}/votes")
async def cast_vote(request: web.Request) -> web.Response:
    """A present member's closed vote on a learner's mark (B 3.9)."""
    user = require_user(request, STAFF_ROLES)
    data = await _body(request)
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
    return _json(result)


@routes.post("/api/attestation/events/{event_id}/absent")
async def mark_absent(request: web.Request) -> web.Response:
    """Record that a learner did not appear (chair or secretary)."""
    user = require_user(request, STAFF_ROLES)
    data = await _body(request)
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
    return _json(await _event_body(request, event, user))


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
    return _json(protocols.view_json(view), 201)


@routes.get("/api/attestation/events/{event_id}/protocol")
async def get_protocol(request: web.Request) -> web.Response:
    """The protocol as data (staff who may see the event; the PDF is rendered from it)."""
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.protocol_view(db, config, event)
    return _json(protocols.view_json(view))


def _file(data: bytes, content_type: str, name: str) -> web.Response:
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": content_disposition(name),
            "X-Content-Type-Options": "nosniff",
        },
    )


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
    return _file(data, "application/pdf", f"protocol-{view.number}.pdf")


async def _summary_file(request: web.Request, fmt: str) -> web.Response:
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.summary_sheet_view(db, request.app[ATTESTATION], event)
    if fmt == "pdf":
        data = await asyncio.to_thread(render_summary_pdf, view, request.app[SETTINGS].font_dir)
        return _file(data, "application/pdf", f"summary-{event.id}.pdf")
    data = await asyncio.to_thread(render_summary_xlsx, view)
    return _file(
        data,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"summary-{event.id}.xlsx",
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
    return _json(protocols.view_json(view))


@routes.get("/api/attestation/events/{event_id}/summary")
async def summary_sheet(request: web.Request) -> web.Response:
    """The group summary sheet as data (B 2.9)."""
    user = require_user(request, STAFF_ROLES)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        view = await protocols.summary_sheet_view(db, request.app[ATTESTATION], event)
    return _json(protocols.view_json(view))


@routes.get("/api/attestation/events/{event_id}/invitations")
async def invitations(request: web.Request) -> web.Response:
    """The invitations of an event as data (managers; B 2.7, 4.6)."""
    user = require_user(request, MANAGERS)
    event_id = path_int(request, "event_id")
    base = f"{request.scheme}://{request.host}"
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        views = await protocols.invitation_views(db, request.app[ATTESTATION], event, base)
    return _json(protocols.view_json(views))


async def _oral(request: web.Request, action: str) -> web.Response:
    user = require_user(request)
    event_id = path_int(request, "event_id")
    learner_id = path_int(request, "learner_id")
    now = request.app[CLOCK].now()
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        if action == "draw":
            turn = await orals.draw(db, user, now, event, learner_id, random.SystemRandom())
        elif action == "answer":
            turn = await orals.start_answer(db, user, now, event, learner_id)
        elif action == "finish":
            turn = await orals.finish(db, user, now, event, learner_id)
        else:
            turn = await orals.visible_turn(db, user, event, learner_id)
        body = await orals.turn_json(db, event, turn, now)
        await db.commit()
    return _json(body)


@routes.get("/api/attestation/events/{event_id}/oral/{learner_id}")
async def oral_turn(request: web.Request) -> web.Response:
    """A learner's ticket and the server's preparation and answer clocks (B 5.10)."""
    return await _oral(request, "show")


@routes.post("/api/attestation/events/{event_id}/oral/{learner_id}/draw")
async def oral_draw(request: web.Request) -> web.Response:
    """Draw a ticket at random for the learner (commission; B 5.6)."""
    return await _oral(request, "draw")


@routes.post("/api/attestation/events/{event_id}/oral/{learner_id}/answer")
async def oral_answer(request: web.Request) -> web.Response:
    """The learner begins to answer, after the preparation time (commission; B 5.10)."""
    return await _oral(request, "answer")


@routes.post("/api/attestation/events/{event_id}/oral/{learner_id}/finish")
async def oral_finish(request: web.Request) -> web.Response:
    """The answer ends; it never counts past the answer limit (commission; B 5.10)."""
    return await _oral(request, "finish")


@routes.get("/api/attestation/programs/{program_id}/referat-topics")
async def list_topics(request: web.Request) -> web.Response:
    """The approved referat topics of a program (B 5.9)."""
    require_user(request)
    program_id = path_int(request, "program_id")
    async with request.app[SESSIONS]() as db:
        await records.program_or_404(db, program_id)
        rows = await referats.topics_of(db, program_id)
    return _json([{"id": t.id, "title": t.title} for t in rows])


@routes.post("/api/attestation/programs/{program_id}/referat-topics")
async def add_topic(request: web.Request) -> web.Response:
    """The head adds an approved topic (B 5.9)."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
    program_id = path_int(request, "program_id")
    async with request.app[SESSIONS]() as db:
        topic = await referats.add_topic(
            db, user, request.app[CLOCK].now(), program_id, field(data, "title", str) or ""
        )
        await db.commit()
    return _json({"id": topic.id, "title": topic.title}, 201)


@routes.post("/api/attestation/events/{event_id}/referat")
async def choose_referat(request: web.Request) -> web.Response:
    """The learner takes a listed topic or proposes an own one with a justification."""
    user = require_user(request, {Role.LEARNER})
    data = await _body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        referat = await referats.choose(
            db,
            user,
            request.app[CLOCK].now(),
            event,
            topic_id=field(data, "topic_id", int, required=False),
            title=field(data, "title", str, required=False) or "",
            justification=field(data, "justification", str, required=False) or "",
        )
        await db.commit()
    return _json(referats.referat_json(referat), 201)


@routes.get("/api/attestation/referats/{referat_id}")
async def get_referat(request: web.Request) -> web.Response:
    """A referat (its learner, reviewers)."""
    user = require_user(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
    return _json(referats.referat_json(referat))


@routes.post("/api/attestation/referats/{referat_id}/topic")
async def decide_topic(request: web.Request) -> web.Response:
    """The head approves or rejects an own topic."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
        await referats.decide_topic(
            db, user, request.app[CLOCK].now(), referat, bool(field(data, "approve", bool))
        )
        await db.commit()
    return _json(referats.referat_json(referat))


@routes.post("/api/attestation/referats/{referat_id}/file")
async def upload_referat(request: web.Request) -> web.Response:
    """The learner uploads the referat's text (multipart ``file``)."""
    user = require_user(request, {Role.LEARNER})
    referat_id = path_int(request, "referat_id")
    upload = await read_upload(request)
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
        await referats.upload(
            db,
            request.app[SETTINGS],
            request.app[CLOCK].now(),
            referat,
            upload.data,
            upload.filename,
        )
        await db.commit()
    return _json(referats.referat_json(referat), 201)


@routes.post("/api/attestation/referats/{referat_id}/review")
async def review_referat(request: web.Request) -> web.Response:
    """A reviewer's review (instructor, head, admin)."""
    user = require_user(request, referats.REVIEWERS)
    data = await _body(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
        await referats.review(
            db, user, request.app[CLOCK].now(), referat, field(data, "review", str) or ""
        )
        await db.commit()
    return _json(referats.referat_json(referat))


# ------------------------------------------------------------------ applications


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
    return _json(body, 201)


@routes.get("/api/attestation/applications")
async def list_applications(request: web.Request) -> web.Response:
    """Applications: all for managers, one's own for a learner."""
    user = require_user(request, MANAGERS | {Role.LEARNER})
    async with request.app[SESSIONS]() as db:
        rows = await applications.applications_for(db, user)
        return _json([await applications.application_json(db, a) for a in rows])


@routes.post("/api/attestation/applications/{application_id}/decision")
async def decide_application(request: web.Request) -> web.Response:
    """Approve (remote: with the order's number and date) or reject (head, admin)."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
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
            order_date=_date(data, "order_date", required=False),
            moved_to_event_id=field(data, "moved_to_event_id", int, required=False),
            comment=field(data, "comment", str, required=False) or "",
        )
        await db.commit()
        body = await applications.application_json(db, application)
    return _json(body)


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


# ------------------------------------------------------------------ appeals


@routes.post("/api/attestation/events/{event_id}/appeals")
async def file_appeal(request: web.Request) -> web.Response:
    """The learner's appeal on the day of the announcement (B 7.2)."""
    user = require_user(request, {Role.LEARNER})
    data = await _body(request)
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
    return _json(appeals.appeal_json(appeal, config), 201)


@routes.get("/api/attestation/appeals")
async def list_appeals(request: web.Request) -> web.Response:
    """Appeals the person may see."""
    user = require_user(request)
    config = request.app[ATTESTATION]
    async with request.app[SESSIONS]() as db:
        rows = await appeals.appeals_for(db, user)
        return _json(
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
    return _json(body)


@routes.post("/api/attestation/appeals/{appeal_id}/hearing")
async def schedule_hearing(request: web.Request) -> web.Response:
    """Name the appeal commission and the hearing (head, admin; B 7.3, 7.4)."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
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
            _datetime(data, "hearing_at"),
        )
        await db.commit()
    return _json(appeals.appeal_json(appeal, config))


@routes.post("/api/attestation/appeals/{appeal_id}/documents")
async def send_documents(request: web.Request) -> web.Response:
    """The appeal secretary sends the documents of a disagreement appeal (B 7.7)."""
    user = require_user(request, STAFF_ROLES)
    data = await _body(request)
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
    return _json(appeals.appeal_json(appeal, config) | timing)


@routes.post("/api/attestation/appeals/{appeal_id}/votes")
async def appeal_vote(request: web.Request) -> web.Response:
    """An appeal-commission member's vote: upheld (with the new mark for a disagreement)
    or rejected (B 7.9)."""
    user = require_user(request, STAFF_ROLES)
    data = await _body(request)
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
    return _json(result)


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
    return _json(appeals.appeal_json(appeal, config) | timing)


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
    return _json(appeals.appeal_json(appeal, config))


# ------------------------------------------------------------------ outcomes, records


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
    return _json(
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
    if fmt == "pdf":
        data = await asyncio.to_thread(render_register_pdf, view, request.app[SETTINGS].font_dir)
        return _file(data, "application/pdf", f"register-{day}.pdf")
    data = await asyncio.to_thread(render_register_xlsx, view)
    return _file(
        data,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"register-{day}.xlsx",
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
    data = await _body(request)
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
    return _json(issued.issued_json(row), 201)


@routes.post("/api/attestation/programs/{program_id}/documents")
async def add_program_document(request: web.Request) -> web.Response:
    """Publish a program document (curriculum, schedule, work program, conditions)."""
    user = require_user(request, MANAGERS)
    data = await _body(request)
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
    return _json({"id": row.id, "kind": row.kind, "title": row.title}, 201)


@routes.post("/api/attestation/results")
async def record_result(request: web.Request) -> web.Response:
    """Record an ongoing-assessment or intermediate result (instructor, head, admin)."""
    user = require_user(request, RESULT_RECORDERS)
    data = await _body(request)
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
    return _json({"id": row.id}, 201)


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
                body["me"] = _participant_json(participant, {})
            my_events.append(body)
        return _json(
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


def install(app: web.Application) -> None:
    """Attach the workflow to the app: its configuration, the API and the pages."""
    from attestation import pages
    from attestation.config import config_from

    app[ATTESTATION] = config_from(app[SETTINGS])
    app.add_routes(routes)
    app.add_routes(pages.routes)
