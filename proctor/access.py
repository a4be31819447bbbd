"""Who may enter a live video room, in what part, and who is in it now.

For now there is one room per test sitting, named ``test-<test id>``: its learners are
those of the test's group (any learner when the test has no group), and the commission
watches them. The attestation workflow will attach rooms to attestation events instead;
only :func:`quiz_id_of_room` and :func:`check_access` change then.

Parts (:class:`RoomRole`): learners publish their camera and microphone; commission
members (and admins, who act as commission) watch every publisher and publish their own
camera so that the learner sees and hears them (two-way contact, B 4.4); support may join
like the commission, and every entry of support is written to the audit log; auditors
never join live (they review recordings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from quiz.quizzes import get_quiz
from server import audit
from server.access import MAX_INT
from server.errors import Forbidden, NotFound
from server.programs import group_ids_of
from server.sessions import Identity
from server.users import Role

ROOM_PATTERN = re.compile(r"test-([1-9][0-9]{0,9})")


class RoomRole(StrEnum):
    """A person's part in a live room."""

    LEARNER = "learner"
    COMMISSION = "commission"
    SUPPORT = "support"


ROOM_ROLES: dict[str, RoomRole] = {
    Role.LEARNER: RoomRole.LEARNER,
    Role.COMMISSION: RoomRole.COMMISSION,
    Role.ADMIN: RoomRole.COMMISSION,
    Role.SUPPORT: RoomRole.SUPPORT,
}
# Who watches: every publisher of the room is theirs to see, and thumbnails too.
VIEWERS = frozenset({RoomRole.COMMISSION, RoomRole.SUPPORT})


def room_role(user_role: str) -> RoomRole | None:
    """The part a user of this role takes in a live room; None when they never join live."""
    return ROOM_ROLES.get(user_role)


def may_subscribe(viewer: RoomRole, publisher: RoomRole) -> bool:
    """Whether ``viewer`` may receive the streams of ``publisher``.

    The commission and support see everyone; a learner sees and hears only the commission,
    never another learner.
    """
    return viewer in VIEWERS or publisher is RoomRole.COMMISSION


def may_capture(role: RoomRole, own_stream: bool) -> bool:
    """Whether someone may take an identity-check snapshot of a stream: the commission, or
    the learner of their own stream."""
    return role is RoomRole.COMMISSION or (role is RoomRole.LEARNER and own_stream)


def participant_id(user_id: int) -> str:
    """A user's id in a room (the same on every reconnect)."""
    return f"u{user_id}"


def room_of_test(test_id: int) -> str:
    """The live room of a test sitting."""
    return f"test-{test_id}"


def quiz_id_of_room(room_id: str) -> int:
    """The test whose sitting a room is; 404 for a name that is no room."""
    match = ROOM_PATTERN.fullmatch(room_id)
    if match is None or int(match.group(1)) > MAX_INT:
        raise NotFound(f"room {room_id[:80]!r} does not exist")
    return int(match.group(1))


async def check_access(db: AsyncSession, user: Identity, room_id: str) -> RoomRole:
    """The user's part in the room; 403 for roles that never join live, 404 when the room
    does not exist or is not the learner's (an outsider learns nothing about it).

    An appeal hearing's room (``appeal-<id>``) admits its own people only; the workflow
    decides who they are (imported here, as it builds on this module)."""
    if room_id.startswith("appeal-"):
        from attestation.hearings import hearing_access

        return await hearing_access(db, user, room_id)
    role = room_role(user.role)
    if role is None:
        detail = "auditors review recordings and never join" if user.role == Role.AUDITOR else ""
        raise Forbidden(f"role {user.role} may not join live rooms{'; ' if detail else ''}{detail}")
    test_id = quiz_id_of_room(room_id)
    try:
        quiz = await get_quiz(db, test_id)
    except NotFound:
        raise NotFound(f"room {room_id} does not exist") from None
    if (
        role is RoomRole.LEARNER
        and quiz.group_id is not None
        and quiz.group_id not in await group_ids_of(db, user.user_id)
    ):
        raise NotFound(f"room {room_id} does not exist")
    return role


async def admit(db: AsyncSession, user: Identity, room_id: str, now: datetime) -> RoomRole:
    """:func:`check_access` for entering the room; support's entry goes to the audit log
    (in the caller's transaction, which the caller commits)."""
    role = await check_access(db, user, room_id)
    if role is RoomRole.SUPPORT:
        await audit.record(
            db, now, user.user_id, "proctor.support_join", "room", room_id, username=user.username
        )
    return role


@dataclass
class Participant:
    """A person in a live room and the sockets through which they are in it."""

    participant_id: str
    user_id: int
    name: str
    role: RoomRole
    sids: set[str] = field(default_factory=set)


class Roster:
    """Who is in which live room now, on this process.

    Every participant of a room is on the process that holds the room's media (rooms are
    sharded by process), so this in-memory map is the whole truth for the room. A person
    may be in a room through several sockets (two tabs, a reconnect racing the old
    socket's disconnect); they leave when the last one does.
    """

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Participant]] = {}

    def enter(self, room_id: str, sid: str, user: Identity, role: RoomRole) -> Participant:
        """Put the user into the room through this socket."""
        people = self._rooms.setdefault(room_id, {})
        pid = participant_id(user.user_id)
        person = people.get(pid)
        if person is None:
            person = Participant(pid, user.user_id, user.full_name or user.username, role)
            people[pid] = person
        person.sids.add(sid)
        return person

    def exit(self, room_id: str, sid: str) -> Participant | None:
        """Take this socket out of the room; returns the participant when it was their last."""
        people = self._rooms.get(room_id, {})
        for person in list(people.values()):
            if sid in person.sids:
                person.sids.discard(sid)
                if person.sids:
                    return None
                del people[person.participant_id]
                if not people:
                    self._rooms.pop(room_id, None)
                return person
        return None

    def get(self, room_id: str, pid: str) -> Participant | None:
        """The participant with this id in the room, or None."""
        return self._rooms.get(room_id, {}).get(pid)

    def member(self, room_id: str, sid: str) -> Participant | None:
        """The participant this socket is in the room as, or None."""
        for person in self._rooms.get(room_id, {}).values():
            if sid in person.sids:
                return person
        return None

    def rooms_of(self, sid: str) -> list[str]:
        """The rooms this socket is in."""
        return [
            room_id
            for room_id, people in self._rooms.items()
            if any(sid in person.sids for person in people.values())
        ]

    def participants(self, room_id: str) -> list[Participant]:
        """Everyone in the room."""
        return list(self._rooms.get(room_id, {}).values())

    def rooms(self) -> list[str]:
        """Every room someone is in."""
        return list(self._rooms)
