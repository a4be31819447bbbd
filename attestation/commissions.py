"""Commissions: per program (B 3.1), composition (B 3.8), term (B 3.11), appeal
commissions (B 7.3), and who sits where."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.errors import RuleBroken
from attestation.models import Commission, CommissionMember
from attestation.rules.commission import (
    ROLE_TITLES_RU,
    MemberRole,
    Seat,
    appeal_composition_problems,
    composition_problems,
    in_term,
    term_end,
    term_ok,
)
from server import audit
from server.errors import Invalid, NotFound
from server.programs import get_program
from server.sessions import Identity
from server.users import User

KINDS = ("attestation", "appeal")


async def create_commission(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    *,
    kind: str,
    program_id: int,
    title: str,
    starts_on: date,
    ends_on: date | None,
    members: Sequence[tuple[int, str]],
    order_number: str = "",
    order_date: date | None = None,
    chair_is_deputy_director: bool = False,
) -> Commission:
    """Form a commission after checking its composition and term."""
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")
    await get_program(db, program_id)
    if not title.strip():
        raise Invalid("field 'title' is required", field="title")
    try:
        seats = [Seat(user_id, MemberRole(role)) for user_id, role in members]
    except ValueError as exc:
        raise Invalid("member roles are chair, secretary or member", field="members") from exc
    for user_id, _ in members:
        user = await db.get(User, user_id)
        if user is None or not user.active or user.role == "learner":
            raise NotFound(f"staff member {user_id} does not exist")
    if kind == "appeal":
        problems = appeal_composition_problems(seats, chair_is_deputy_director)
        if problems:
            raise RuleBroken("B7.3-appeal-commission", "; ".join(problems))
    else:
        problems = composition_problems(seats)
        if problems:
            raise RuleBroken("B3.8-composition", "; ".join(problems))
    ends = ends_on or term_end(starts_on)
    if not term_ok(starts_on, ends):
        raise RuleBroken(
            "B3.11-term",
            f"a commission acts for at most one year: {starts_on} to {term_end(starts_on)}",
        )
    commission = Commission(
        kind=kind,
        program_id=program_id,
        title=title.strip(),
        starts_on=starts_on,
        ends_on=ends,
        order_number=order_number,
        order_date=order_date,
        chair_is_deputy_director=chair_is_deputy_director,
        created_at=now,
    )
    db.add(commission)
    await db.flush()
    db.add_all(
        CommissionMember(commission_id=commission.id, user_id=s.user_id, role=s.role.value)
        for s in seats
    )
    await audit.record(
        db,
        now,
        actor.user_id,
        "commission.formed",
        "commission",
        commission.id,
        kind=kind,
        program_id=program_id,
        members={str(s.user_id): s.role.value for s in seats},
        term=[starts_on.isoformat(), ends.isoformat()],
    )
    await db.flush()
    return commission


async def get_commission(db: AsyncSession, commission_id: int) -> Commission:
    """The commission with this id."""
    commission = await db.get(Commission, commission_id)
    if commission is None:
        raise NotFound(f"commission {commission_id} does not exist")
    return commission


async def seats_of(db: AsyncSession, commission_id: int) -> list[Seat]:
    """The commission's seats."""
    rows = await db.scalars(
        select(CommissionMember).where(CommissionMember.commission_id == commission_id)
    )
    return [Seat(row.user_id, MemberRole(row.role)) for row in rows]


async def seat_of(db: AsyncSession, commission_id: int, user_id: int) -> MemberRole | None:
    """The person's role in the commission, None when they have no seat."""
    row = await db.get(CommissionMember, (commission_id, user_id))
    return MemberRole(row.role) if row is not None else None


def chair_of(seats: Sequence[Seat]) -> int:
    """The chair's user id."""
    return next(s.user_id for s in seats if s.role == MemberRole.CHAIR)


async def commission_json(db: AsyncSession, commission: Commission) -> dict[str, Any]:
    """A commission with its members."""
    rows = (
        await db.execute(
            select(CommissionMember, User)
            .join(User, User.id == CommissionMember.user_id)
            .where(CommissionMember.commission_id == commission.id)
            .order_by(CommissionMember.role, User.full_name)
        )
    ).all()
    return {
        "id": commission.id,
        "kind": commission.kind,
        "program_id": commission.program_id,
        "title": commission.title,
        "starts_on": commission.starts_on.isoformat(),
        "ends_on": commission.ends_on.isoformat(),
        "order_number": commission.order_number,
        "order_date": commission.order_date.isoformat() if commission.order_date else None,
        "chair_is_deputy_director": commission.chair_is_deputy_director,
        "members": [
            {
                "user_id": user.id,
                "full_name": user.full_name,
                "role": member.role,
                "role_title": ROLE_TITLES_RU[MemberRole(member.role)],
            }
            for member, user in rows
        ],
    }


async def commissions_of(db: AsyncSession, user: Identity, staff: bool) -> list[Commission]:
    """All commissions for staff who manage them, else the ones the person sits in."""
    query = select(Commission).order_by(Commission.id)
    if not staff:
        query = query.join(CommissionMember, CommissionMember.commission_id == Commission.id).where(
            CommissionMember.user_id == user.user_id
        )
    return list(await db.scalars(query))


def standing(
    commission: Commission, seats: list[Seat], at: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """Whether the commission may sit at ``at``: its composition and its term."""
    if commission.kind == "appeal":
        problems = appeal_composition_problems(seats, commission.chair_is_deputy_director)
    else:
        problems = composition_problems(seats)
    day = at.astimezone(zone).date()
    term = "current"
    if day < commission.starts_on:
        term = "not_started"
    elif not in_term(commission.starts_on, commission.ends_on, at, zone):
        term = "ended"
    return {
        "commission_id": commission.id,
        "can_sit": not problems and term == "current",
        "problems": problems,
        "term": term,
        "today": day.isoformat(),
    }
