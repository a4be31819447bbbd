"""Appeals (B VII): filed on the announcement day, heard by an appeal commission within
2 working days, documents for a disagreement by the next working day, a closed vote with
the chair's casting vote, the decision applied (annulment and retake, or a new mark),
the learner informed within 3 working days, a signed appeal protocol."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import chair_of, get_commission, seat_of, seats_of
from attestation.config import AttestationConfig
from attestation.errors import RuleBroken, WrongState
from attestation.events import READERS
from attestation.hearings import hearing_room
from attestation.models import (
    Appeal,
    AppealVote,
    AssessmentResult,
    AttestationEvent,
    Participant,
    Signature,
)
from attestation.protocols import sign
from attestation.rules import appeals as rules
from attestation.rules import deadlines
from attestation.rules.appeals import AppealKind, AppealResult
from attestation.rules.calendar import CalendarMissing, ProductionCalendar
from attestation.rules.commission import MemberRole, composition_problems
from attestation.rules.forms import Scale, mark_on_scale
from attestation.rules.voting import NoDecision, tally
from recordings.retention import release_legal_hold, set_legal_hold
from server import audit
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.sessions import Identity
from server.users import Role


async def file_appeal(
    db: AsyncSession,
    learner: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
    kind: str,
    text: str,
) -> Appeal:
    """The learner's written appeal, on the day the result was announced (B 7.2)."""
    try:
        chosen = AppealKind(kind)
    except ValueError as exc:
        raise Invalid("kind must be violation or disagreement", field="kind") from exc
    participant = await db.get(Participant, (event.id, learner.user_id))
    if participant is None:
        raise NotFound(f"event {event.id} does not exist")
    if participant.announced_at is None or participant.mark is None:
        raise WrongState(f"no result of event {event.id} has been announced to you")
    if not text.strip():
        raise Invalid("write what the appeal is about", field="text")
    announced_on = deadlines.local_date(participant.announced_at, config.zone)
    if not rules.filed_in_time(deadlines.local_date(now, config.zone), announced_on):
        raise RuleBroken(
            "B7.2-appeal-same-day",
            f"an appeal is filed on the day the result was announced ({announced_on})",
        )
    duplicate = await db.scalar(
        select(Appeal.id).where(Appeal.event_id == event.id, Appeal.learner_id == learner.user_id)
    )
    if duplicate is not None:
        raise WrongState(f"appeal {duplicate} on this result exists")
    appeal = Appeal(
        event_id=event.id,
        learner_id=learner.user_id,
        kind=chosen.value,
        text=text.strip(),
        filed_at=now,
        previous_mark=participant.mark,
    )
    db.add(appeal)
    await db.flush()
    if event.room:
        # The session's recordings are evidence while the appeal is open.
        await set_legal_hold(db, event.room, f"appeal {appeal.id}", now, learner.user_id)
    await audit.record(
        db,
        now,
        learner.user_id,
        "appeal.filed",
        "appeal",
        appeal.id,
        event_id=event.id,
        kind=chosen.value,
    )
    return appeal


def _working(
    rule: Callable[[date, ProductionCalendar], date], day: date, config: AttestationConfig
) -> date:
    """A working-day deadline; a year without a loaded calendar is a clear 409."""
    try:
        return rule(day, config.calendar)
    except CalendarMissing as exc:
        raise Conflict(f"{exc}; add it to calendar_dir", code="calendar_missing") from exc


def _iso_or_none(
    rule: Callable[[date, ProductionCalendar], date], day: date | None, config: AttestationConfig
) -> str | None:
    """A deadline to show, or None when it does not apply yet or its year has no calendar
    (showing an appeal, or filing one, never fails for want of a calendar)."""
    if day is None:
        return None
    try:
        return rule(day, config.calendar).isoformat()
    except CalendarMissing:
        return None


def appeal_deadlines(appeal: Appeal, config: AttestationConfig) -> dict[str, str | None]:
    """The appeal's deadlines as local dates (None where they do not apply yet)."""
    filed = deadlines.local_date(appeal.filed_at, config.zone)
    heard = deadlines.local_date(appeal.decided_at, config.zone) if appeal.decided_at else None
    disagreement = appeal.kind == AppealKind.DISAGREEMENT
    return {
        "hearing_by": _iso_or_none(rules.hearing_deadline, filed, config),
        "documents_by": (
            _iso_or_none(rules.documents_deadline, filed, config) if disagreement else None
        ),
        "transfer_by": _iso_or_none(rules.transfer_deadline, heard, config),
        "inform_by": _iso_or_none(rules.inform_deadline, heard, config),
    }


async def schedule_hearing(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    appeal: Appeal,
    commission_id: int,
    hearing_at: datetime,
) -> None:
    """Name the appeal commission (B 7.3) and the hearing, within 2 working days (B 7.4)."""
    if appeal.status not in ("filed", "scheduled"):
        raise WrongState(f"appeal {appeal.id} is {appeal.status}")
    commission = await get_commission(db, commission_id)
    event = await db.get(AttestationEvent, appeal.event_id)
    assert event is not None
    if commission.kind != "appeal" or commission.program_id != event.program_id:
        raise RuleBroken(
            "B7.3-appeal-commission", f"commission {commission_id} is not an appeal commission"
        )
    seats = await seats_of(db, commission.id)
    if composition_problems(seats) or not commission.chair_is_deputy_director:
        raise RuleBroken(
            "B7.3-appeal-commission",
            "an appeal commission has at least 3 members and is chaired by the deputy director",
        )
    filed = deadlines.local_date(appeal.filed_at, config.zone)
    day = deadlines.local_date(hearing_at, config.zone)
    last = _working(rules.hearing_deadline, filed, config)
    if not filed <= day <= last:
        raise RuleBroken(
            "B7.4-hearing-2wd", f"the hearing is held from {filed} to {last} (2 working days)"
        )
    appeal.commission_id = commission.id
    appeal.hearing_at = hearing_at
    appeal.status = "scheduled"
    await audit.record(
        db,
        now,
        actor.user_id,
        "appeal.hearing",
        "appeal",
        appeal.id,
        commission_id=commission.id,
        hearing_at=hearing_at.isoformat(),
    )
    await db.flush()


async def send_documents(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    appeal: Appeal,
    chair_conclusion: str,
) -> dict[str, Any]:
    """The appeal commission's secretary sends the answers, the protocol and the chair's
    conclusion (B 7.7); returns whether it was in time."""
    if appeal.kind != AppealKind.DISAGREEMENT:
        raise Invalid("documents are sent for a disagreement appeal", field="kind")
    if appeal.commission_id is None:
        raise WrongState(f"appeal {appeal.id} has no appeal commission yet")
    if await seat_of(db, appeal.commission_id, actor.user_id) != MemberRole.SECRETARY:
        raise Forbidden("the appeal commission's secretary sends the documents")
    if not chair_conclusion.strip():
        raise Invalid("attach the chair's conclusion", field="chair_conclusion")
    if appeal.documents_sent_at is not None:
        raise WrongState(f"documents of appeal {appeal.id} were sent")
    appeal.documents_sent_at = now
    appeal.chair_conclusion = chair_conclusion.strip()
    filed = deadlines.local_date(appeal.filed_at, config.zone)
    due = _working(rules.documents_deadline, filed, config)
    on_time = deadlines.local_date(now, config.zone) <= due
    await audit.record(
        db,
        now,
        actor.user_id,
        "appeal.documents",
        "appeal",
        appeal.id,
        on_time=on_time,
        due=due.isoformat(),
    )
    await db.flush()
    return {"on_time": on_time, "due": due.isoformat()}


async def cast_appeal_vote(
    db: AsyncSession,
    member: Identity,
    now: datetime,
    config: AttestationConfig,
    appeal: Appeal,
    result: str,
    mark: str | None,
) -> dict[str, Any]:
    """An appeal-commission member's vote; the last one decides (B 7.9) and the decision
    is applied at once (B 7.6, 7.8)."""
    if appeal.commission_id is None or appeal.status != "scheduled":
        raise WrongState(f"appeal {appeal.id} is {appeal.status}")
    if await seat_of(db, appeal.commission_id, member.user_id) is None:
        raise NotFound(f"appeal {appeal.id} does not exist")
    assert appeal.hearing_at is not None
    if now < appeal.hearing_at:
        raise WrongState(f"the hearing of appeal {appeal.id} has not begun")
    if appeal.kind == AppealKind.DISAGREEMENT and appeal.documents_sent_at is None:
        raise WrongState("the documents have not reached the appeal commission (B 7.7)")
    try:
        chosen = AppealResult(result)
    except ValueError as exc:
        raise Invalid("result must be upheld or rejected", field="result") from exc
    event = await db.get(AttestationEvent, appeal.event_id)
    assert event is not None
    choice = chosen.value
    if chosen == AppealResult.UPHELD and appeal.kind == AppealKind.DISAGREEMENT:
        if mark is None or not mark_on_scale(mark, Scale(event.scale)):
            raise RuleBroken(
                "B7.8-new-mark", "an upheld disagreement names the new mark on the event's scale"
            )
        choice = f"upheld:{mark}"
    if await db.get(AppealVote, (appeal.id, member.user_id)) is not None:
        raise WrongState("you have voted on this appeal")
    db.add(AppealVote(appeal_id=appeal.id, member_id=member.user_id, choice=choice, cast_at=now))
    await db.flush()
    await audit.record(db, now, member.user_id, "appeal.vote", "appeal", appeal.id, choice=choice)
    seats = await seats_of(db, appeal.commission_id)
    votes = {
        v.member_id: v.choice
        for v in await db.scalars(select(AppealVote).where(AppealVote.appeal_id == appeal.id))
    }
    members = {s.user_id for s in seats}
    if set(votes) != members:
        return {"decided": False, "votes": len(votes), "members": len(members)}
    try:
        outcome = tally(votes, members, chair_of(seats))
    except NoDecision as exc:
        await db.execute(delete(AppealVote).where(AppealVote.appeal_id == appeal.id))
        await db.flush()
        return {"decided": False, "revote": True, "message": str(exc)}
    await _apply(db, member, now, appeal, event, outcome.choice, outcome.by_chair)
    db.add_all(
        Signature(document="appeal", document_id=appeal.id, user_id=s.user_id, role=s.role.value)
        for s in seats
    )
    await db.flush()
    return {
        "decided": True,
        "result": appeal.result,
        "new_mark": appeal.new_mark,
        "by_chair": outcome.by_chair,
        **appeal_deadlines(appeal, config),
    }


async def _apply(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    appeal: Appeal,
    event: AttestationEvent,
    choice: str,
    by_chair: bool,
) -> None:
    result, _, mark = choice.partition(":")
    appeal.result = result
    appeal.by_chair = by_chair
    appeal.decided_at = now
    appeal.status = "decided"
    effect = rules.consequence(AppealKind(appeal.kind), AppealResult(result))
    participant = await db.get(Participant, (event.id, appeal.learner_id))
    assert participant is not None
    final = await db.scalar(
        select(AssessmentResult).where(
            AssessmentResult.event_id == event.id,
            AssessmentResult.user_id == appeal.learner_id,
            AssessmentResult.annulled.is_(False),
        )
    )
    if effect == "annul_retake":
        participant.annulled = True
        if final is not None:
            final.annulled = True
    elif effect == "new_mark":
        appeal.new_mark = mark
        participant.mark = mark
        if final is not None:
            final.annulled = True
        db.add(
            AssessmentResult(
                user_id=appeal.learner_id,
                program_id=event.program_id,
                kind="final",
                title=f"{event.title} (после апелляции)",
                mark=mark,
                event_id=event.id,
                recorded_by=actor.user_id,
                recorded_at=now,
            )
        )
    await _release_hold(db, actor, now, appeal, event)
    await audit.record(
        db,
        now,
        actor.user_id,
        "appeal.decided",
        "appeal",
        appeal.id,
        result=result,
        effect=effect,
        previous_mark=appeal.previous_mark,
        new_mark=appeal.new_mark,
        by_chair=by_chair,
    )


async def _release_hold(
    db: AsyncSession, actor: Identity, now: datetime, appeal: Appeal, event: AttestationEvent
) -> None:
    """Lift the legal hold once no appeal on the session's room is open any more."""
    if not event.room:
        return
    await db.flush()
    still_open = await db.scalar(
        select(Appeal.id)
        .join(AttestationEvent, AttestationEvent.id == Appeal.event_id)
        .where(
            AttestationEvent.room == event.room,
            Appeal.decided_at.is_(None),
            Appeal.id != appeal.id,
        )
    )
    if still_open is None:
        await release_legal_hold(db, event.room, now, actor.user_id)


async def inform(
    db: AsyncSession, actor: Identity, now: datetime, config: AttestationConfig, appeal: Appeal
) -> dict[str, Any]:
    """Record that the learner was told the decision (B 7.9: within 3 working days)."""
    if appeal.decided_at is None:
        raise WrongState(f"appeal {appeal.id} is not decided")
    if appeal.informed_at is not None:
        raise WrongState(f"the learner of appeal {appeal.id} has been informed")
    appeal.informed_at = now
    heard = deadlines.local_date(appeal.decided_at, config.zone)
    due = _working(rules.inform_deadline, heard, config)
    on_time = deadlines.local_date(now, config.zone) <= due
    await audit.record(
        db, now, actor.user_id, "appeal.informed", "appeal", appeal.id, on_time=on_time
    )
    await db.flush()
    return {"on_time": on_time, "due": due.isoformat()}


async def sign_appeal(db: AsyncSession, actor: Identity, now: datetime, appeal: Appeal) -> bool:
    """Sign the appeal protocol (B 7.11); True once everyone has signed (it is archived)."""
    if appeal.decided_at is None:
        raise WrongState(f"appeal {appeal.id} is not decided")
    done = await sign(db, actor, now, "appeal", appeal.id)
    if done:
        appeal.status = "archived"
        await audit.record(db, now, actor.user_id, "appeal.archived", "appeal", appeal.id)
        await db.flush()
    return done


async def visible_appeal(db: AsyncSession, user: Identity, appeal_id: int) -> Appeal:
    """The appeal for its learner, managers, readers and its appeal commission; else 404."""
    appeal = await db.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} does not exist")
    if user.role in READERS or appeal.learner_id == user.user_id:
        return appeal
    if (
        appeal.commission_id is not None
        and await seat_of(db, appeal.commission_id, user.user_id) is not None
    ):
        return appeal
    raise NotFound(f"appeal {appeal_id} does not exist")


async def appeals_for(db: AsyncSession, user: Identity) -> list[Appeal]:
    """Appeals the person may see."""
    rows = list(await db.scalars(select(Appeal).order_by(Appeal.id)))
    if user.role in READERS:
        return rows
    if user.role == Role.LEARNER:
        return [a for a in rows if a.learner_id == user.user_id]
    out = []
    for appeal in rows:
        if (
            appeal.commission_id is not None
            and await seat_of(db, appeal.commission_id, user.user_id) is not None
        ):
            out.append(appeal)
    return out


def appeal_json(appeal: Appeal, config: AttestationConfig) -> dict[str, Any]:
    """An appeal for the API."""
    return {
        "id": appeal.id,
        "event_id": appeal.event_id,
        "learner_id": appeal.learner_id,
        "kind": appeal.kind,
        "text": appeal.text,
        "filed_at": appeal.filed_at.isoformat(),
        "commission_id": appeal.commission_id,
        "hearing_at": appeal.hearing_at.isoformat() if appeal.hearing_at else None,
        "hearing_room": (
            hearing_room(appeal.id)
            if appeal.hearing_at is not None and appeal.commission_id is not None
            else None
        ),
        "documents_sent_at": (
            appeal.documents_sent_at.isoformat() if appeal.documents_sent_at else None
        ),
        "status": appeal.status,
        "result": appeal.result,
        "previous_mark": appeal.previous_mark,
        "new_mark": appeal.new_mark,
        "by_chair": appeal.by_chair,
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
        "informed_at": appeal.informed_at.isoformat() if appeal.informed_at else None,
        "deadlines": appeal_deadlines(appeal, config),
    }
