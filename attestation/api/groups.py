"""The API of groups and enrollment: groups, their learners, completion of the program
(B 2.1), and adding a learner to an event scheduled for their group."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from attestation import enrollment
from attestation.api.common import RESULT_RECORDERS, json_body, reply
from attestation.api.events import event_body, queue_invitations
from attestation.config import ATTESTATION
from attestation.events import MANAGERS, visible_event
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.errors import Invalid
from server.programs import Enrollment, Group
from server.users import STAFF_ROLES

routes = web.RouteTableDef()


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
    return reply(
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


@routes.post("/api/attestation/groups")
async def create_group(request: web.Request) -> web.Response:
    """A new group of a program (head, admin)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    async with request.app[SESSIONS]() as db:
        group = await enrollment.create_group(
            db,
            user,
            request.app[CLOCK].now(),
            field(data, "program_id", int) or 0,
            field(data, "code", str) or "",
            field(data, "title", str, required=False) or "",
        )
        await db.commit()
        return reply(_group_json(group, []), 201)


def _group_json(group: Group, members: list[enrollment.Member]) -> dict[str, object]:
    return {
        "id": group.id,
        "program_id": group.program_id,
        "code": group.code,
        "title": group.title,
        "learners": [m.json() for m in members],
    }


@routes.get("/api/attestation/groups/{group_id}")
async def get_group(request: web.Request) -> web.Response:
    """A group with its learners and who completed the program (staff)."""
    require_user(request, STAFF_ROLES)
    async with request.app[SESSIONS]() as db:
        group = await enrollment.get_group(db, path_int(request, "group_id"))
        return reply(_group_json(group, await enrollment.members_of(db, group.id)))


@routes.post("/api/attestation/groups/{group_id}/learners")
async def enroll(request: web.Request) -> web.Response:
    """Enroll a learner, by ``user_id`` or ``username`` (head, admin)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    learner_id = field(data, "user_id", int, required=False)
    username = field(data, "username", str, required=False)
    if (learner_id is None) == (username is None):
        raise Invalid("give either 'user_id' or 'username'", field="user_id")
    async with request.app[SESSIONS]() as db:
        group = await enrollment.get_group(db, path_int(request, "group_id"))
        if learner_id is None:
            learner_id = (await enrollment.learner_by_name(db, username or "")).id
        await enrollment.enroll(db, user, request.app[CLOCK].now(), group, learner_id)
        await db.commit()
        return reply(_group_json(group, await enrollment.members_of(db, group.id)), 201)


@routes.put("/api/attestation/groups/{group_id}/learners/{user_id}")
async def set_completed(request: web.Request) -> web.Response:
    """Record whether a learner completed the program (instructor, head, admin)."""
    user = require_user(request, RESULT_RECORDERS)
    data = await json_body(request)
    completed = field(data, "completed", bool)
    async with request.app[SESSIONS]() as db:
        group = await enrollment.get_group(db, path_int(request, "group_id"))
        await enrollment.set_completed(
            db, user, request.app[CLOCK].now(), group, path_int(request, "user_id"), bool(completed)
        )
        await db.commit()
        return reply(_group_json(group, await enrollment.members_of(db, group.id)))


@routes.delete("/api/attestation/groups/{group_id}/learners/{user_id}")
async def withdraw(request: web.Request) -> web.Response:
    """Take a learner out of the group (head, admin); not once on an event of it."""
    user = require_user(request, MANAGERS)
    async with request.app[SESSIONS]() as db:
        group = await enrollment.get_group(db, path_int(request, "group_id"))
        await enrollment.withdraw(
            db, user, request.app[CLOCK].now(), group, path_int(request, "user_id")
        )
        await db.commit()
        return reply(_group_json(group, await enrollment.members_of(db, group.id)))


@routes.post("/api/attestation/events/{event_id}/participants")
async def add_participant(request: web.Request) -> web.Response:
    """Add a learner of the group to a scheduled event (head, admin): admission (B 2.1)
    and notice (B 2.7, ``override_reason`` inside three days) are checked for them; they
    get the invitation like everyone else."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    learner_id = field(data, "user_id", int) or 0
    reason = field(data, "override_reason", str, required=False) or ""
    async with request.app[SESSIONS]() as db:
        event = await visible_event(db, user, path_int(request, "event_id"))
        await enrollment.add_participant(
            db, user, request.app[CLOCK].now(), request.app[ATTESTATION], event, learner_id, reason
        )
        mailer = await queue_invitations(request, db, event)
        await db.commit()
    if mailer is not None:
        mailer.wake()
    return reply(await event_body(request, event, user), 201)
