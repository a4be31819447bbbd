"""Protocols (B 3.10, 4.12) and their signatures, and the plain views handed to the
document and mail renderers (protocol, summary sheet B 2.9, invitations B 4.6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import seats_of
from attestation.config import AttestationConfig
from attestation.errors import WrongState
from attestation.events import event_day, participants_of
from attestation.models import (
    Application,
    AssessmentResult,
    AttestationEvent,
    Protocol,
    Signature,
)
from attestation.rules.commission import ROLE_TITLES_RU, MemberRole
from attestation.rules.forms import FORM_TITLES_RU, SCALE_TITLES_RU, Form, Scale, mark_title
from attestation.sittings import all_decided, present_members
from attestation.views import (
    CommissionMemberView,
    EventView,
    GroupView,
    InvitationView,
    LearnerMarkView,
    ProgramView,
    ProtocolView,
    SignatureView,
    SummaryLearnerView,
    SummarySheetView,
)
from server import audit
from server.errors import Forbidden, NotFound
from server.programs import Enrollment, Group, Program
from server.sessions import Identity
from server.users import User

ROLE_ORDER = {MemberRole.CHAIR: 0, MemberRole.MEMBER: 1, MemberRole.SECRETARY: 2}


async def open_protocol(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
) -> Protocol:
    """Draw up the group's protocol once every learner is decided (secretary or chair);
    everyone present must sign it."""
    seats = {s.user_id: s.role for s in await seats_of(db, event.commission_id)}
    if seats.get(actor.user_id) not in (MemberRole.CHAIR, MemberRole.SECRETARY):
        raise Forbidden("the secretary or the chair draws up the protocol")
    existing = await db.scalar(select(Protocol).where(Protocol.event_id == event.id))
    if existing is not None:
        return existing
    if not await all_decided(db, event.id):
        raise WrongState(f"event {event.id} still has undecided learners")
    remote = event.remote or any(p.remote for p in await participants_of(db, event.id))
    protocol = Protocol(
        event_id=event.id,
        number=f"{event_day(event, config).year}-{event.id}",
        remote=remote,
        technology=event.technology if remote else "",
        created_at=now,
    )
    db.add(protocol)
    await db.flush()
    signers = await present_members(db, event.id)
    db.add_all(
        Signature(document="protocol", document_id=protocol.id, user_id=uid, role=seats[uid].value)
        for uid in signers
    )
    event.status = "decided"
    await audit.record(
        db,
        now,
        actor.user_id,
        "protocol.opened",
        "protocol",
        protocol.id,
        event_id=event.id,
        remote=remote,
        signers=signers,
    )
    await db.flush()
    return protocol


async def sign(
    db: AsyncSession, actor: Identity, now: datetime, document: str, document_id: int
) -> bool:
    """Sign a protocol or an appeal protocol; returns True when it is now fully signed."""
    row = await db.scalar(
        select(Signature).where(
            Signature.document == document,
            Signature.document_id == document_id,
            Signature.user_id == actor.user_id,
        )
    )
    if row is None:
        raise NotFound(f"{document} {document_id} has no signature line for you")
    if row.signed_at is not None:
        raise WrongState(f"you signed {document} {document_id} already")
    row.signed_at = now
    await db.flush()
    await audit.record(db, now, actor.user_id, "signature", document, document_id, role=row.role)
    unsigned = await db.scalar(
        select(Signature.id).where(
            Signature.document == document,
            Signature.document_id == document_id,
            Signature.signed_at.is_(None),
        )
    )
    return unsigned is None


async def sign_protocol(
    db: AsyncSession, actor: Identity, now: datetime, protocol: Protocol
) -> None:
    """Sign the protocol; the last signature locks it and closes the event (B 3.10)."""
    if protocol.locked_at is not None:
        raise WrongState(f"protocol {protocol.id} is signed by everyone and locked")
    if await sign(db, actor, now, "protocol", protocol.id):
        protocol.locked_at = now
        event = await db.get(AttestationEvent, protocol.event_id)
        assert event is not None
        event.status = "closed"
        await audit.record(db, now, actor.user_id, "protocol.locked", "protocol", protocol.id)
        await db.flush()


async def signatures_of(db: AsyncSession, document: str, document_id: int) -> list[SignatureView]:
    """The signature lines of a document, chair first and secretary last."""
    rows = (
        await db.execute(
            select(Signature, User)
            .join(User, User.id == Signature.user_id)
            .where(Signature.document == document, Signature.document_id == document_id)
        )
    ).all()
    views = [
        SignatureView(
            user.id,
            user.full_name or user.username,
            sig.role,
            ROLE_TITLES_RU[MemberRole(sig.role)],
            sig.signed_at,
        )
        for sig, user in rows
    ]
    return sorted(views, key=lambda v: (ROLE_ORDER[MemberRole(v.role)], v.full_name))


async def _basics(
    db: AsyncSession, event: AttestationEvent, config: AttestationConfig
) -> tuple[EventView, ProgramView, GroupView]:
    program = await db.get(Program, event.program_id)
    group = await db.get(Group, event.group_id)
    if program is None or group is None:
        raise NotFound(f"event {event.id} lost its program or group")
    form, scale = Form(event.form), Scale(event.scale)
    return (
        EventView(
            event.id,
            event.title,
            form.value,
            FORM_TITLES_RU[form],
            scale.value,
            SCALE_TITLES_RU[scale],
            event.starts_at,
            config.zone.key,
            event.place,
            event.remote,
            event.room,
        ),
        ProgramView(program.id, program.code, program.title),
        GroupView(group.id, group.code, group.title),
    )


async def _orders(db: AsyncSession, event_id: int) -> dict[int, str]:
    rows = await db.scalars(
        select(Application).where(
            Application.event_id == event_id,
            Application.kind == "remote",
            Application.status == "approved",
        )
    )
    return {
        a.learner_id: f"№ {a.order_number} от {a.order_date:%d.%m.%Y}" if a.order_date else ""
        for a in rows
    }


async def protocol_view(
    db: AsyncSession, config: AttestationConfig, event: AttestationEvent
) -> ProtocolView:
    """The protocol of the event as plain data (B 3.10, 4.12)."""
    protocol = await db.scalar(select(Protocol).where(Protocol.event_id == event.id))
    if protocol is None:
        raise NotFound(f"event {event.id} has no protocol yet")
    event_view, program, group = await _basics(db, event, config)
    seats = await seats_of(db, event.commission_id)
    names = await _names(db, [s.user_id for s in seats])
    present = set(await present_members(db, event.id))
    commission = tuple(
        CommissionMemberView(s.user_id, names[s.user_id], s.role.value, ROLE_TITLES_RU[s.role])
        for s in sorted(seats, key=lambda s: (ROLE_ORDER[s.role], names[s.user_id]))
        if s.user_id in present
    )
    orders = await _orders(db, event.id)
    participants = await participants_of(db, event.id)
    learner_names = await _names(db, [p.user_id for p in participants])
    learners = tuple(
        LearnerMarkView(
            p.user_id,
            learner_names[p.user_id],
            None if p.annulled else p.mark,
            "" if p.annulled else mark_title(p.mark),
            p.percent,
            p.remote,
            orders.get(p.user_id, ""),
            p.absent,
        )
        for p in sorted(participants, key=lambda p: learner_names[p.user_id])
    )
    signatures = tuple(await signatures_of(db, "protocol", protocol.id))
    return ProtocolView(
        protocol.id,
        protocol.number,
        event_view,
        program,
        group,
        event_view.form,
        event_view.form_title,
        event_view.scale,
        event_view.scale_title,
        event_day(event, config),
        protocol.remote,
        protocol.technology,
        commission,
        learners,
        signatures,
        protocol.locked_at is not None,
    )


async def summary_sheet_view(
    db: AsyncSession, config: AttestationConfig, event: AttestationEvent
) -> SummarySheetView:
    """The group summary sheet before the event (B 2.9): every learner of the group,
    admitted or not (B 2.1), with the ongoing and intermediate results so far."""
    event_view, program, group = await _basics(db, event, config)
    enrolled = list(await db.scalars(select(Enrollment).where(Enrollment.group_id == group.id)))
    names = await _names(db, [e.user_id for e in enrolled])
    remote = {p.user_id for p in await participants_of(db, event.id) if p.remote}
    lines = []
    for enrollment in sorted(enrolled, key=lambda e: names[e.user_id]):
        results = await db.scalars(
            select(AssessmentResult)
            .where(
                AssessmentResult.user_id == enrollment.user_id,
                AssessmentResult.program_id == program.id,
                AssessmentResult.kind.in_(("ongoing", "intermediate")),
            )
            .order_by(AssessmentResult.recorded_at, AssessmentResult.id)
        )
        lines.append(
            SummaryLearnerView(
                enrollment.user_id,
                names[enrollment.user_id],
                enrollment.completed,
                enrollment.user_id in remote,
                tuple((r.title, mark_title(r.mark)) for r in results),
            )
        )
    return SummarySheetView(group, program, event_view, tuple(lines), None)


async def invitation_views(
    db: AsyncSession, config: AttestationConfig, event: AttestationEvent, base_url: str
) -> list[InvitationView]:
    """One invitation per learner and commission member (B 2.7); remote ones carry how to
    connect, the conference id and password (B 4.6)."""
    event_view, program, group = await _basics(db, event, config)
    people: list[tuple[int, str, bool]] = [
        (p.user_id, "learner", p.remote) for p in await participants_of(db, event.id)
    ]
    remote_any = event.remote or any(r for _, _, r in people)
    people += [
        (s.user_id, s.role.value, remote_any) for s in await seats_of(db, event.commission_id)
    ]
    users = {
        u.id: u
        for u in await db.scalars(select(User).where(User.id.in_([uid for uid, _, _ in people])))
    }
    link = f"{base_url.rstrip('/')}/rooms/{event.room}" if event.room else base_url
    out = []
    for uid, role, remote in people:
        user = users[uid]
        out.append(
            InvitationView(
                uid,
                user.full_name or user.username,
                user.email,
                role,
                event_view,
                program,
                group,
                event.starts_at,
                config.zone.key,
                "" if remote else event.place,
                remote,
                link if remote else "",
                event.conference_id if remote else "",
                event.conference_password if remote else "",
                (
                    "Войдите в личный кабинет examroom по ссылке, разрешите доступ к камере и "
                    "микрофону и дождитесь подключения комиссии; при входе укажите "
                    "идентификатор и пароль конференции."
                )
                if remote
                else "",
            )
        )
    return out


async def _names(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids)))
    return {uid: (name or login) for uid, name, login in rows.all()}


def view_json(value: Any) -> Any:
    """A view (dataclasses, tuples, dates) as JSON-ready data."""
    import dataclasses
    from datetime import date

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: view_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [view_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
