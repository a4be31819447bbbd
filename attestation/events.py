"""Attestation events: scheduling with the notice period (B 2.7), admission (B 2.1),
remote for everyone (B 4.3), questionnaires (B 5.7), oral timing (B 5.10, 5.9),
retakes (B 2.14), and who may see an event."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import get_commission, seat_of, seats_of
from attestation.config import AttestationConfig
from attestation.errors import RuleBroken, WrongState
from attestation.models import AttestationEvent, Participant
from attestation.rules import deadlines, timing
from attestation.rules.commission import composition_problems, in_term
from attestation.rules.forms import FORM_TITLES_RU, SCALE_TITLES_RU, Form, Scale, form_scale
from attestation.rules.outcomes import may_retake
from quiz.quizzes import get_quiz
from server import audit
from server.errors import Invalid, NotFound
from server.programs import Enrollment, Group, get_program
from server.sessions import Identity
from server.users import Role, User

# Who schedules events, decides applications and issues documents (the head of courses
# in the regulation; admins too).
MANAGERS = frozenset({Role.HEAD, Role.ADMIN})
# Who may read every event (no decisions): managers, auditors and support.
READERS = MANAGERS | {Role.AUDITOR, Role.SUPPORT}
ORAL_FORMS = frozenset({Form.EXAM, Form.CREDIT, Form.INTERVIEW, Form.SURVEY})


@dataclass(frozen=True)
class EventInput:
    """What staff give to schedule an event."""

    program_id: int
    group_id: int
    commission_id: int
    title: str
    form: str
    starts_at: datetime
    place: str = ""
    remote: bool = False
    remote_reason: str = ""
    quiz_id: int | None = None
    override_reason: str = ""
    preparation_minutes: int = 20
    answer_minutes: int = 15
    retake_of_id: int | None = None
    learner_ids: tuple[int, ...] | None = None


def event_day(event: AttestationEvent, config: AttestationConfig) -> date:
    """The event's local calendar date."""
    return deadlines.local_date(event.starts_at, config.zone)


async def create_event(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    data: EventInput,
) -> AttestationEvent:
    """Schedule an event after checking every rule that applies before it."""
    program = await get_program(db, data.program_id)
    group = await db.get(Group, data.group_id)
    if group is None or group.program_id != program.id:
        raise NotFound(f"group {data.group_id} of program {program.id} does not exist")
    commission = await get_commission(db, data.commission_id)
    if commission.kind != "attestation" or commission.program_id != program.id:
        raise RuleBroken(
            "B3.1-per-program",
            f"commission {commission.id} is not an attestation commission of program {program.id}",
        )
    problems = composition_problems(await seats_of(db, commission.id))
    if problems:
        raise RuleBroken("B3.8-composition", "; ".join(problems))
    if not in_term(commission.starts_on, commission.ends_on, data.starts_at, config.zone):
        raise RuleBroken(
            "B3.11-term",
            f"commission {commission.id} acts from {commission.starts_on} to "
            f"{commission.ends_on}; the event is outside its term",
        )
    try:
        scale = form_scale(data.form)
    except ValueError as exc:
        forms = ", ".join(f.value for f in Form)
        raise Invalid(f"form must be one of {forms}", field="form") from exc
    if not data.title.strip():
        raise Invalid("field 'title' is required", field="title")
    if data.starts_at <= now:
        raise Invalid("the event must be in the future", field="starts_at")
    if data.remote and not data.remote_reason.strip():
        raise RuleBroken(
            "B4.3-blanket-remote", "an event remote for everyone needs the reason (the measure)"
        )
    if not data.remote and not data.place.strip():
        raise Invalid("give the place, or make the event remote", field="place")
    _check_timing(Form(data.form), data.preparation_minutes, data.answer_minutes)
    today = deadlines.local_date(now, config.zone)
    day = deadlines.local_date(data.starts_at, config.zone)
    late = not deadlines.notice_in_time(today, day)
    if late and not data.override_reason.strip():
        raise RuleBroken(
            "B2.7-notice-3d",
            f"date, time and place must reach everyone at least "
            f"{deadlines.NOTICE_DAYS} days ahead: an event on {day} is scheduled by "
            f"{deadlines.latest_day(day, deadlines.NOTICE_DAYS)}; give a reason to override",
        )
    room = ""
    if data.quiz_id is not None:
        quiz = await get_quiz(db, data.quiz_id)
        if quiz.program_id != program.id:
            raise NotFound(f"test {data.quiz_id} of program {program.id} does not exist")
        room = f"test-{quiz.id}"
    learners = await _learners(db, data)
    event = AttestationEvent(
        program_id=program.id,
        group_id=group.id,
        commission_id=commission.id,
        title=data.title.strip(),
        form=Form(data.form).value,
        scale=scale.value,
        starts_at=data.starts_at,
        place=data.place.strip(),
        remote=data.remote,
        remote_reason=data.remote_reason.strip(),
        technology=config.technology,
        quiz_id=data.quiz_id,
        room=room,
        conference_id=_conference_id(),
        conference_password=secrets.token_urlsafe(6),
        preparation_minutes=data.preparation_minutes,
        answer_minutes=data.answer_minutes,
        notified_at=now,
        notice_override=data.override_reason.strip() if late else "",
        retake_of_id=data.retake_of_id,
        created_by=actor.user_id,
        created_at=now,
    )
    db.add(event)
    await db.flush()
    db.add_all(Participant(event_id=event.id, user_id=uid, remote=data.remote) for uid in learners)
    await audit.record(
        db,
        now,
        actor.user_id,
        "event.scheduled",
        "attestation_event",
        event.id,
        starts_at=data.starts_at.isoformat(),
        remote=data.remote,
        learners=list(learners),
        notice_override=event.notice_override,
        retake_of=data.retake_of_id,
    )
    await db.flush()
    return event


def _check_timing(form: Form, preparation: int, answer: int) -> None:
    if form in ORAL_FORMS:
        if not timing.preparation_ok(timedelta(minutes=preparation)):
            raise RuleBroken("B5.10-timing", "at least 20 minutes to prepare (B 5.10)")
        if not timing.answer_ok(timedelta(minutes=answer)):
            raise RuleBroken("B5.10-timing", "at most 15 minutes to answer (B 5.10)")
    if form == Form.REFERAT and not timing.defence_ok(timedelta(minutes=answer)):
        raise RuleBroken("B5.9-referat", "a referat defence lasts up to 15 minutes (B 5.9)")


async def _learners(db: AsyncSession, data: EventInput) -> tuple[int, ...]:
    """Learners of the event: the group's learners who completed the program (B 2.1), or
    for a retake the failed learners of the original event the head named (B 2.14)."""
    completed = set(
        await db.scalars(
            select(Enrollment.user_id).where(
                Enrollment.group_id == data.group_id, Enrollment.completed.is_(True)
            )
        )
    )
    if data.retake_of_id is None:
        if data.learner_ids is None:
            return tuple(sorted(completed))
        for uid in data.learner_ids:
            if uid not in completed:
                raise RuleBroken(
                    "B2.1-admission",
                    f"learner {uid} has not completed the program of group {data.group_id}",
                )
        return tuple(sorted(set(data.learner_ids)))
    original = await db.get(AttestationEvent, data.retake_of_id)
    if original is None or original.group_id != data.group_id:
        raise NotFound(f"event {data.retake_of_id} of group {data.group_id} does not exist")
    if not data.learner_ids:
        raise Invalid("name the learners who retake", field="learner_ids")
    for uid in data.learner_ids:
        row = await db.get(Participant, (original.id, uid))
        if row is None:
            raise NotFound(f"learner {uid} of event {original.id} does not exist")
        final = None if row.annulled else row.mark
        if not may_retake(final):
            raise RuleBroken("B2.14-retake", f"learner {uid} passed event {original.id}")
    return tuple(sorted(set(data.learner_ids)))


def _conference_id() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(9))
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


async def make_remote(
    db: AsyncSession, actor: Identity, now: datetime, event: AttestationEvent, reason: str
) -> None:
    """Hold the whole event remotely, for every learner, without applications (B 4.3)."""
    if not reason.strip():
        raise RuleBroken("B4.3-blanket-remote", "give the reason (the measure taken)")
    if event.status != "scheduled":
        raise WrongState(f"event {event.id} is {event.status}")
    event.remote = True
    event.remote_reason = reason.strip()
    for row in await participants_of(db, event.id):
        row.remote = True
    await audit.record(
        db, now, actor.user_id, "event.remote", "attestation_event", event.id, reason=reason
    )
    await db.flush()


async def release_questionnaire(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
) -> None:
    """Release an interview's questionnaire, at least 3 days before (B 5.7)."""
    if event.form != Form.INTERVIEW:
        raise Invalid(f"event {event.id} is not an interview", field="form")
    today = deadlines.local_date(now, config.zone)
    if not deadlines.questionnaire_in_time(today, event_day(event, config)):
        raise RuleBroken(
            "B5.7-questionnaire",
            f"the questionnaire of event {event.id} had to be released by "
            f"{deadlines.latest_day(event_day(event, config), deadlines.QUESTIONNAIRE_DAYS)}",
        )
    event.questionnaire_released_at = now
    await audit.record(db, now, actor.user_id, "event.questionnaire", "attestation_event", event.id)
    await db.flush()


async def participants_of(db: AsyncSession, event_id: int) -> list[Participant]:
    """The event's learners."""
    rows = await db.scalars(
        select(Participant).where(Participant.event_id == event_id).order_by(Participant.user_id)
    )
    return list(rows)


async def visible_event(db: AsyncSession, user: Identity, event_id: int) -> AttestationEvent:
    """The event if this person may see it; 404 otherwise (never reveal foreign ids)."""
    event = await db.get(AttestationEvent, event_id)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    if user.role in READERS:
        return event
    if user.role == Role.LEARNER:
        if await db.get(Participant, (event.id, user.user_id)) is not None:
            return event
    elif await seat_of(db, event.commission_id, user.user_id) is not None:
        return event
    raise NotFound(f"event {event_id} does not exist")


async def events_for(db: AsyncSession, user: Identity) -> list[AttestationEvent]:
    """Events the person may see, soonest first."""
    from attestation.models import CommissionMember

    query = select(AttestationEvent).order_by(AttestationEvent.starts_at, AttestationEvent.id)
    if user.role == Role.LEARNER:
        query = query.join(Participant, Participant.event_id == AttestationEvent.id).where(
            Participant.user_id == user.user_id
        )
    elif user.role not in READERS:
        query = query.join(
            CommissionMember, CommissionMember.commission_id == AttestationEvent.commission_id
        ).where(CommissionMember.user_id == user.user_id)
    return list(await db.scalars(query))


def event_json(
    event: AttestationEvent, config: AttestationConfig, *, secrets_visible: bool
) -> dict[str, Any]:
    """An event for the API; the conference password only for its people."""
    day = event_day(event, config)
    form = Form(event.form)
    scale = Scale(event.scale)
    return {
        "id": event.id,
        "program_id": event.program_id,
        "group_id": event.group_id,
        "commission_id": event.commission_id,
        "title": event.title,
        "form": form.value,
        "form_title": FORM_TITLES_RU[form],
        "scale": scale.value,
        "scale_title": SCALE_TITLES_RU[scale],
        "starts_at": event.starts_at.isoformat(),
        "local_date": day.isoformat(),
        "timezone": config.zone.key,
        "place": event.place,
        "remote": event.remote,
        "remote_reason": event.remote_reason,
        "quiz_id": event.quiz_id,
        "room": event.room,
        "conference_id": event.conference_id if secrets_visible else None,
        "conference_password": event.conference_password if secrets_visible else None,
        "preparation_minutes": event.preparation_minutes,
        "answer_minutes": event.answer_minutes,
        "notified_at": event.notified_at.isoformat(),
        "notice_override": event.notice_override,
        "questionnaire_released_at": (
            event.questionnaire_released_at.isoformat() if event.questionnaire_released_at else None
        ),
        "retake_of_id": event.retake_of_id,
        "status": event.status,
    }


async def learner_names(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Full names (or logins) of people by id."""
    if not ids:
        return {}
    rows = await db.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids)))
    return {uid: (name or login) for uid, name, login in rows.all()}
