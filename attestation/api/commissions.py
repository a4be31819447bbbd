"""The API of commissions, groups and the staff who can sit on them."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from sqlalchemy import select

from attestation import commissions
from attestation.api.common import (
    COMMISSION_VIEWERS,
    date_field,
    json_body,
    reply,
)
from attestation.config import ATTESTATION
from attestation.events import MANAGERS
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.errors import Invalid, NotFound
from server.users import STAFF_ROLES, Role, User

routes = web.RouteTableDef()


@routes.get("/api/attestation/commissions")
async def list_commissions(request: web.Request) -> web.Response:
    """Commissions: all for managers and auditors, one's own for members."""
    user = require_user(request, STAFF_ROLES)
    async with request.app[SESSIONS]() as db:
        rows = await commissions.commissions_of(db, user, user.role in COMMISSION_VIEWERS)
        return reply([await commissions.commission_json(db, c) for c in rows])


@routes.post("/api/attestation/commissions")
async def create_commission(request: web.Request) -> web.Response:
    """Form a commission (head, admin): members with roles, term, order."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
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
            starts_on=date_field(data, "starts_on") or date.min,
            ends_on=date_field(data, "ends_on", required=False),
            members=members,
            order_number=field(data, "order_number", str, required=False) or "",
            order_date=date_field(data, "order_date", required=False),
            chair_is_deputy_director=bool(
                field(data, "chair_is_deputy_director", bool, required=False)
            ),
        )
        body = await commissions.commission_json(db, commission)
        await db.commit()
    return reply(body, 201)


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
        return reply(await commissions.commission_json(db, commission))


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
        return reply([u.public() for u in rows])


@routes.get("/api/attestation/commission-standing")
async def commission_standing(request: web.Request) -> web.Response:
    """For each commission the person may see: may it sit today, and if not, why."""
    user = require_user(request, STAFF_ROLES)
    now = request.app[CLOCK].now()
    zone = request.app[ATTESTATION].zone
    async with request.app[SESSIONS]() as db:
        rows = await commissions.commissions_of(db, user, user.role in COMMISSION_VIEWERS)
        body = [
            commissions.standing(c, await commissions.seats_of(db, c.id), now, zone) for c in rows
        ]
    return reply(body)
