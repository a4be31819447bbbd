"""The commission's sitting: who is present (quorum), the closed vote per learner
(B 3.9), the decision announced at the sitting on the day (B 3.9, 6.5)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import chair_of, get_commission, seat_of, seats_of
from attestation.config import AttestationConfig
from attestation.errors import RuleBroken, WrongState
from attestation.events import event_day, participants_of
from attestation.models import AssessmentResult, AttestationEvent, Participant, Presence, Vote
from attestation.referats import ready_for_defence
from attestation.rules import deadlines
from attestation.rules.commission import MemberRole, in_term, quorum, retake_presence_ok
from attestation.rules.forms import Form, Scale, mark_on_scale
from attestation.rules.voting import NoDecision, tally
from quiz.models import Attempt
from server import audit
from server.errors import Forbidden, Invalid, NotFound
from server.sessions import Identity

# The chair and the secretary run the sitting: they record who is present.
RUNNERS = frozenset({MemberRole.CHAIR, MemberRole.SECRETARY})


async def _sitting_checks(
    db: AsyncSession, event: AttestationEvent, now: datetime, config: AttestationConfig
) -> None:
    """The commission may sit only on the event's day and within its term."""
    commission = await get_commission(db, event.commission_id)
    if not in_term(commission.starts_on, commission.ends_on, now, config.zone):
        raise RuleBroken(
            "B3.11-term",
            f"commission {commission.id} acted until {commission.ends_on}; it cannot sit",
        )
    today = deadlines.local_date(now, config.zone)
    if today != event_day(event, config):
        raise RuleBroken(
            "B6.5-same-day",
            f"the commission sits on the day of event {event.id} ({event_day(event, config)})",
        )


async def set_presence(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
    present: Collection[int],
    appeal_members: Collection[int] = (),
) -> None:
    """Record the members present (chair or secretary); refused below quorum."""
    if await seat_of(db, event.commission_id, actor.user_id) not in RUNNERS:
        raise Forbidden("the chair or the secretary records who is present")
    await _sitting_checks(db, event, now, config)
    seats = await seats_of(db, event.commission_id)
    members = {s.user_id for s in seats}
    strangers = set(present) - members
    if strangers:
        raise Invalid(f"{sorted(strangers)} do not sit in this commission", field="present")
    if not quorum(seats, present):
        raise RuleBroken(
            "B3.9-majority",
            "no quorum: the chair, at least three members and more than half of the "
            "commission must be present",
        )
    if event.retake_of_id is not None:
        await _retake_presence(db, event, members, present, appeal_members)
    await db.execute(delete(Presence).where(Presence.event_id == event.id))
    db.add_all(Presence(event_id=event.id, user_id=uid) for uid in sorted(set(present)))
    db.add_all(
        Presence(event_id=event.id, user_id=uid, appeal_member=True)
        for uid in sorted(set(appeal_members) - set(present))
    )
    if event.status == "scheduled":
        event.status = "sitting"
    await audit.record(
        db,
        now,
        actor.user_id,
        "sitting.presence",
        "attestation_event",
        event.id,
        present=sorted(set(present)),
        appeal_members=sorted(set(appeal_members)),
    )
    await db.flush()


async def _retake_presence(
    db: AsyncSession,
    event: AttestationEvent,
    members: Collection[int],
    present: Collection[int],
    appeal_members: Collection[int],
) -> None:
    """A retake after an upheld violation appeal sits with at least two thirds of the
    commission and a member of the appeal commission (B 7.6)."""
    from attestation.models import Appeal, CommissionMember

    appeal = await db.scalar(
        select(Appeal).where(
            Appeal.event_id == event.retake_of_id,
            Appeal.kind == "violation",
            Appeal.result == "upheld",
        )
    )
    if appeal is None or appeal.commission_id is None:
        return
    seated = set(
        await db.scalars(
            select(CommissionMember.user_id).where(
                CommissionMember.commission_id == appeal.commission_id
            )
        )
    )
    if not retake_presence_ok(members, present, len(seated & set(appeal_members))):
        raise RuleBroken(
            "B7.6-violation",
            "a retake after an upheld appeal sits with at least two thirds of the commission "
            "and a member of the appeal commission",
        )


async def present_members(db: AsyncSession, event_id: int) -> list[int]:
    """Commission members recorded present (appeal-commission observers excluded)."""
    rows = await db.scalars(
        select(Presence.user_id).where(
            Presence.event_id == event_id, Presence.appeal_member.is_(False)
        )
    )
    return sorted(rows)


async def proposed_mark(db: AsyncSession, event: AttestationEvent, learner_id: int) -> Any:
    """The mark the linked test proposes (B 6.4: the commission decides)."""
    if event.quiz_id is None:
        return None
    attempt = await db.scalar(
        select(Attempt).where(Attempt.quiz_id == event.quiz_id, Attempt.user_id == learner_id)
    )
    if attempt is None or attempt.mark is None:
        return None
    return {"mark": attempt.mark, "percent": attempt.percent}


async def cast_vote(
    db: AsyncSession,
    member: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
    learner_id: int,
    mark: str,
) -> dict[str, Any]:
    """A present member's closed vote; the last vote decides and announces the mark."""
    if await seat_of(db, event.commission_id, member.user_id) is None:
        raise NotFound(f"event {event.id} does not exist")
    await _sitting_checks(db, event, now, config)
    present = await present_members(db, event.id)
    if member.user_id not in present:
        raise Forbidden("only members present at the sitting vote")
    participant = await db.get(Participant, (event.id, learner_id))
    if participant is None:
        raise NotFound(f"learner {learner_id} of event {event.id} does not exist")
    if participant.decided_at is not None:
        raise WrongState(f"learner {learner_id} has been decided already")
    if participant.absent:
        raise WrongState(f"learner {learner_id} did not appear")
    if event.form == Form.REFERAT and not await ready_for_defence(db, event, learner_id):
        raise RuleBroken(
            "B5.9-referat",
            "the referat needs an approved topic, its text and a review before the vote",
        )
    if not mark_on_scale(mark, Scale(event.scale)):
        raise RuleBroken(
            "B3.9-scales", f"{mark!r} is not a mark of the {event.scale}-point scale", field="mark"
        )
    existing = await db.get(Vote, (event.id, learner_id, member.user_id))
    if existing is not None:
        raise WrongState(f"member {member.user_id} has voted on learner {learner_id}")
    db.add(
        Vote(
            event_id=event.id,
            learner_id=learner_id,
            member_id=member.user_id,
            mark=mark,
            cast_at=now,
        )
    )
    await db.flush()
    await audit.record(
        db,
        now,
        member.user_id,
        "vote.cast",
        "attestation_event",
        event.id,
        learner_id=learner_id,
        mark=mark,
    )
    rows = await db.scalars(
        select(Vote).where(Vote.event_id == event.id, Vote.learner_id == learner_id)
    )
    votes = {v.member_id: v.mark for v in rows}
    if set(votes) != set(present):
        return {"decided": False, "votes": len(votes), "present": len(present)}
    seats = await seats_of(db, event.commission_id)
    try:
        outcome = tally(votes, present, chair_of(seats))
    except NoDecision as exc:
        await db.execute(
            delete(Vote).where(Vote.event_id == event.id, Vote.learner_id == learner_id)
        )
        await audit.record(
            db,
            now,
            member.user_id,
            "vote.repeat",
            "attestation_event",
            event.id,
            learner_id=learner_id,
            reason=str(exc),
        )
        await db.flush()
        return {"decided": False, "revote": True, "message": str(exc)}
    proposal = await proposed_mark(db, event, learner_id)
    participant.mark = outcome.choice
    participant.by_chair = outcome.by_chair
    participant.percent = proposal["percent"] if proposal else None
    participant.decided_at = now
    participant.announced_at = now  # announced at the sitting (B 3.9, 6.5)
    db.add(
        AssessmentResult(
            user_id=learner_id,
            program_id=event.program_id,
            kind="final",
            title=event.title,
            mark=outcome.choice,
            percent=participant.percent,
            event_id=event.id,
            recorded_by=member.user_id,
            recorded_at=now,
        )
    )
    await audit.record(
        db,
        now,
        member.user_id,
        "decision.made",
        "attestation_event",
        event.id,
        learner_id=learner_id,
        mark=outcome.choice,
        counts=outcome.counts,
        by_chair=outcome.by_chair,
    )
    await db.flush()
    return {
        "decided": True,
        "mark": outcome.choice,
        "by_chair": outcome.by_chair,
        "counts": outcome.counts,
    }


async def mark_absent(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
    learner_id: int,
) -> None:
    """Record that a learner did not appear (they get a reference, B 2.13)."""
    if await seat_of(db, event.commission_id, actor.user_id) not in RUNNERS:
        raise Forbidden("the chair or the secretary records who did not appear")
    await _sitting_checks(db, event, now, config)
    participant = await db.get(Participant, (event.id, learner_id))
    if participant is None:
        raise NotFound(f"learner {learner_id} of event {event.id} does not exist")
    if participant.decided_at is not None:
        raise WrongState(f"learner {learner_id} has been decided already")
    participant.absent = True
    participant.decided_at = now
    await audit.record(
        db,
        now,
        actor.user_id,
        "decision.absent",
        "attestation_event",
        event.id,
        learner_id=learner_id,
    )
    await db.flush()


async def all_decided(db: AsyncSession, event_id: int) -> bool:
    """True once every learner of the event is decided or marked absent."""
    return all(p.decided_at is not None for p in await participants_of(db, event_id))
