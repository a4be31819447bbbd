"""The video room of an appeal hearing (B VII): the appellant may attend the hearing
remotely, so each appeal with a scheduled hearing has a live room ``appeal-<id>``.

Only the appellant (as the one who publishes and sees the commission), the members of
the appeal commission (who see and hear the appellant) and support (whose entry is
audited by the room) may join; everyone else learns nothing about the room.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import seat_of
from attestation.models import Appeal, AttestationEvent
from proctor.access import RoomRole
from server.access import MAX_INT
from server.errors import Forbidden, NotFound
from server.sessions import Identity
from server.users import Role

HEARING_PATTERN = re.compile(r"appeal-([1-9][0-9]{0,9})")


def hearing_room(appeal_id: int) -> str:
    """The live room of an appeal's hearing."""
    return f"appeal-{appeal_id}"


def is_hearing_room(room_id: str) -> bool:
    """Whether the name is that of a hearing room (it may still not exist)."""
    return HEARING_PATTERN.fullmatch(room_id) is not None


async def hearing_of_room(db: AsyncSession, room_id: str) -> Appeal:
    """The appeal whose hearing is scheduled in this room; 404 otherwise (no such
    appeal, or its commission and hearing time are not set yet)."""
    match = HEARING_PATTERN.fullmatch(room_id)
    if match is None or int(match.group(1)) > MAX_INT:
        raise NotFound(f"room {room_id[:80]!r} does not exist")
    appeal = await db.get(Appeal, int(match.group(1)))
    if appeal is None or appeal.hearing_at is None or appeal.commission_id is None:
        raise NotFound(f"room {room_id} does not exist")
    return appeal


async def hearing_access(db: AsyncSession, user: Identity, room_id: str) -> RoomRole:
    """The person's part in the hearing room: the appellant is the learner, members of
    the appeal commission are the commission, support is support; auditors never join
    live (403); anyone else gets 404."""
    if user.role == Role.AUDITOR:
        raise Forbidden("auditors review recordings and never join live rooms")
    appeal = await hearing_of_room(db, room_id)
    assert appeal.commission_id is not None
    if user.role == Role.LEARNER:
        if appeal.learner_id == user.user_id:
            return RoomRole.LEARNER
    elif user.role == Role.SUPPORT:
        return RoomRole.SUPPORT
    elif await seat_of(db, appeal.commission_id, user.user_id) is not None:
        return RoomRole.COMMISSION
    raise NotFound(f"room {room_id} does not exist")


async def may_join(db: AsyncSession, user: Identity, appeal: Appeal) -> bool:
    """Whether the person may enter the appeal's hearing room now (for the pages' links)."""
    try:
        await hearing_access(db, user, hearing_room(appeal.id))
    except (NotFound, Forbidden):
        return False
    return True


async def hearing_title(db: AsyncSession, room_id: str) -> str:
    """The subtitle of the hearing room's page."""
    appeal = await hearing_of_room(db, room_id)
    event = await db.get(AttestationEvent, appeal.event_id)
    title = event.title if event is not None else ""
    return f"Заседание апелляционной комиссии по апелляции № {appeal.id}" + (
        f" ({title})" if title else ""
    )
