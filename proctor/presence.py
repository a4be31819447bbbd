"""Participation log of the live rooms: who entered and left a room, and when.

The ``/proctor`` namespace writes a ``join`` row for every admitted ``join`` (in the
transaction that admits it, so nobody is in a room without a row) and a ``leave`` row
when a socket that was in the room leaves it: by ``leave`` (reason ``left``), by losing
its connection (``disconnected``) or because its login session ended (``session_ended``).
Both carry the server time. Learners, the commission and support are logged alike, so a
participant who never publishes (a commission member who only watches) is on the session's
timeline too. The rows are evidence of the session: retention deletes them with the rest.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime


class PresenceAction(StrEnum):
    """Whether the participant came in or went out."""

    JOIN = "join"
    LEAVE = "leave"


class LeaveReason(StrEnum):
    """Why a socket left the room."""

    LEFT = "left"
    DISCONNECTED = "disconnected"
    SESSION_ENDED = "session_ended"


class RoomPresence(Base):
    """One entry into or exit from a live room, through one socket."""

    __tablename__ = "room_presence"
    __table_args__ = (Index("ix_room_presence_room_at", "room_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    participant_id: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


def record_presence(
    db: AsyncSession,
    room_id: str,
    user_id: int,
    participant_id: str,
    role: str,
    action: PresenceAction,
    at: datetime,
    reason: LeaveReason | None = None,
) -> RoomPresence:
    """Add a row to the log (the caller commits); a join has no reason, a leave has one."""
    if (action is PresenceAction.LEAVE) != (reason is not None):
        raise ValueError(f"a {action} {'needs' if reason is None else 'has no'} reason")
    row = RoomPresence(
        room_id=room_id,
        user_id=user_id,
        participant_id=participant_id,
        role=str(role),
        action=str(action),
        reason=None if reason is None else str(reason),
        at=at,
    )
    db.add(row)
    return row


async def presence_of(db: AsyncSession, room_id: str) -> list[RoomPresence]:
    """The room's log in time order (rows of one instant in the order they were written)."""
    rows = await db.scalars(
        select(RoomPresence)
        .where(RoomPresence.room_id == room_id)
        .order_by(RoomPresence.at, RoomPresence.id)
    )
    return list(rows)


# ---------------------------------------------------------------- retention


async def last_presence_times(db: AsyncSession) -> dict[str, datetime]:
    """Each room's latest entry or exit: with the other evidence it dates a session's end."""
    rows = await db.execute(
        select(RoomPresence.room_id, func.max(RoomPresence.at)).group_by(RoomPresence.room_id)
    )
    return {room: at for room, at in rows if at is not None}


async def delete_presence(db: AsyncSession, room_id: str) -> int:
    """Delete a room's log when its retention date passed (in the caller's transaction);
    the number of rows this DELETE removed (0 when another server process got there
    first, so only one of them audits it)."""
    deleted = await db.scalars(
        delete(RoomPresence).where(RoomPresence.room_id == room_id).returning(RoomPresence.id)
    )
    return len(deleted.all())


__all__ = [
    "LeaveReason",
    "PresenceAction",
    "RoomPresence",
    "delete_presence",
    "last_presence_times",
    "presence_of",
    "record_presence",
]
