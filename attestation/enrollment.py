"""Groups and enrollment: who studies in a group, who completed the program (B 2.1),
and adding a learner to an event already scheduled for their group.

A learner who completes the program after the event was scheduled is not lost: staff add
them to the event, which checks admission (B 2.1) and the notice period (B 2.7) again for
that one person — inside the three days it needs a reason, kept in the audit log — and
sends them the same invitation as everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.config import AttestationConfig
from attestation.errors import RuleBroken, WrongState
from attestation.models import AttestationEvent, Participant, Protocol
from attestation.rules import deadlines
from server import audit
from server.errors import Conflict, Invalid, NotFound
from server.programs import Enrollment, Group, get_program
from server.sessions import Identity
from server.users import Role, User

MAX_CODE = 40
MAX_TITLE = 300


@dataclass(frozen=True)
class Member:
    """A learner of a group and whether they completed the program."""

    user: User
    completed: bool

    def json(self) -> dict[str, object]:
        """What the API shows."""
        return {**self.user.public(), "completed": self.completed}


async def create_group(
    db: AsyncSession, actor: Identity, now: datetime, program_id: int, code: str, title: str
) -> Group:
    """A new group of a program; its code is unique."""
    program = await get_program(db, program_id)
    code, title = code.strip(), title.strip()
    if not code or len(code) > MAX_CODE:
        raise Invalid(f"field 'code' must be 1–{MAX_CODE} characters", field="code")
    if len(title) > MAX_TITLE:
        raise Invalid(f"field 'title' is longer than {MAX_TITLE} characters", field="title")
    if await db.scalar(select(Group.id).where(Group.code == code)) is not None:
        raise Conflict(f"group {code!r} already exists", code="duplicate", field="code")
    group = Group(program_id=program.id, code=code, title=title)
    db.add(group)
    await db.flush()
    await audit.record(db, now, actor.user_id, "group.created", "group", group.id, code=code)
    return group


async def get_group(db: AsyncSession, group_id: int) -> Group:
    """The group with this id."""
    group = await db.get(Group, group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist")
    return group


async def members_of(db: AsyncSession, group_id: int) -> list[Member]:
    """The group's learners by name."""
    rows = await db.execute(
        select(User, Enrollment.completed)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.group_id == group_id)
        .order_by(User.full_name, User.username)
    )
    return [Member(user, bool(completed)) for user, completed in rows.all()]


async def _learner(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None or user.role != Role.LEARNER.value:
        raise NotFound(f"learner {user_id} does not exist")
    return user


async def learner_by_name(db: AsyncSession, username: str) -> User:
    """The learner with this login."""
    user = await db.scalar(select(User).where(User.username == username.strip()))
    if user is None or user.role != Role.LEARNER.value:
        raise NotFound(f"learner {username.strip()!r} does not exist")
    return user


async def enroll(
    db: AsyncSession, actor: Identity, now: datetime, group: Group, user_id: int
) -> Enrollment:
    """Put a learner into the group (not yet completed); twice is a conflict."""
    await _learner(db, user_id)
    if await db.get(Enrollment, (group.id, user_id)) is not None:
        raise Conflict(f"learner {user_id} is already in group {group.code}", code="duplicate")
    row = Enrollment(group_id=group.id, user_id=user_id, completed=False)
    db.add(row)
    await db.flush()
    await audit.record(db, now, actor.user_id, "group.enrolled", "group", group.id, user=user_id)
    return row


async def set_completed(
    db: AsyncSession, actor: Identity, now: datetime, group: Group, user_id: int, completed: bool
) -> Enrollment:
    """Record that a learner completed the program (or not): admission to final
    attestation follows it (B 2.1)."""
    row = await db.get(Enrollment, (group.id, user_id))
    if row is None:
        raise NotFound(f"learner {user_id} is not in group {group.code}")
    if row.completed != completed:
        row.completed = completed
        await audit.record(
            db, now, actor.user_id, "group.completion", "group", group.id,
            user=user_id, completed=completed,
        )  # fmt: skip
    return row


async def withdraw(
    db: AsyncSession, actor: Identity, now: datetime, group: Group, user_id: int
) -> None:
    """Take a learner out of the group; not once they are on an event of it (their
    attestation record must keep its group)."""
    row = await db.get(Enrollment, (group.id, user_id))
    if row is None:
        raise NotFound(f"learner {user_id} is not in group {group.code}")
    on_event = await db.scalar(
        select(Participant.event_id)
        .join(AttestationEvent, AttestationEvent.id == Participant.event_id)
        .where(AttestationEvent.group_id == group.id, Participant.user_id == user_id)
        .limit(1)
    )
    if on_event is not None:
        raise WrongState(f"learner {user_id} is on event {on_event} of group {group.code}")
    await db.delete(row)
    await audit.record(db, now, actor.user_id, "group.withdrawn", "group", group.id, user=user_id)


async def add_participant(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    config: AttestationConfig,
    event: AttestationEvent,
    user_id: int,
    override_reason: str = "",
) -> Participant:
    """Add a learner of the event's group to a scheduled event: admitted only after
    completing the program (B 2.1), told at least three days ahead unless staff give a
    reason (B 2.7), and only before the event starts."""
    await _learner(db, user_id)
    if event.starts_at <= now:
        raise WrongState(f"event {event.id} has started; a learner can no longer be added")
    if await db.scalar(select(Protocol.id).where(Protocol.event_id == event.id)) is not None:
        raise WrongState(f"event {event.id} has its protocol")
    if event.retake_of_id is not None:
        raise WrongState("a retake's learners are named by the head when it is set (B 2.14)")
    if await db.get(Participant, (event.id, user_id)) is not None:
        raise Conflict(f"learner {user_id} is already on event {event.id}", code="duplicate")
    enrollment = await db.get(Enrollment, (event.group_id, user_id))
    if enrollment is None or not enrollment.completed:
        raise RuleBroken(
            "B2.1-admission",
            f"learner {user_id} has not completed the program of group {event.group_id}",
        )
    today = deadlines.local_date(now, config.zone)
    day = deadlines.local_date(event.starts_at, config.zone)
    late = not deadlines.notice_in_time(today, day)
    reason = override_reason.strip()
    if late and not reason:
        raise RuleBroken(
            "B2.7-notice-3d",
            f"date, time and place must reach the learner at least {deadlines.NOTICE_DAYS} "
            f"days ahead: for an event on {day} by "
            f"{deadlines.latest_day(day, deadlines.NOTICE_DAYS)}; give a reason to override",
        )
    row = Participant(event_id=event.id, user_id=user_id, remote=event.remote)
    db.add(row)
    await db.flush()
    await audit.record(
        db, now, actor.user_id, "event.participant_added", "attestation_event", event.id,
        user=user_id, notice_override=reason if late else "",
    )  # fmt: skip
    return row
