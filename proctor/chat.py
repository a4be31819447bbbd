"""Chat in a live room (B 4.5, 4.7): one thread per learner with the room's commission.

A learner writes only in their own thread and reads only it; the commission and support
write to a learner's thread and read every thread of the room (learners talk only with
the commission, never with each other). Messages keep their delivery state: the other
side's client reports ``delivered`` when a message arrives and ``read`` when it is shown.

Text is stored exactly as sent: escaping is the browser's job (it inserts text with
``textContent`` only), so markup stays verbatim in the evidence. A ``client_id`` makes a
retried send idempotent: the same sender's same ``client_id`` in a room stores one
message. Messages and files are evidence and are never deleted through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from proctor.access import RoomRole, check_access, room_role
from proctor.files import RoomFile, file_json, store_file
from server.access import MAX_INT
from server.database import Base, UTCDateTime
from server.errors import AppError, Conflict, Invalid, NotFound
from server.sessions import Identity
from server.uploads import Upload
from server.users import Role, User

MAX_TEXT = 2000
MAX_CLIENT_ID = 64
#: Message ids one ``chat_delivered`` / ``chat_read`` event may name.
MAX_IDS = 200
HISTORY_LIMIT = 200


class ChatMessage(Base):
    """One message in a learner's thread of a live room."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("room", "sender_id", "client_id"),
        Index("ix_chat_messages_thread", "room", "learner_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(80))
    # The thread: the learner whose conversation with the commission this is.
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str | None] = mapped_column(String(MAX_CLIENT_ID), nullable=True)
    text: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    attachment_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("room_files.id"), nullable=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Receipt(StrEnum):
    """What the other side's client reports about a message."""

    DELIVERED = "delivered"
    READ = "read"


@dataclass(frozen=True)
class Sender:
    """Who wrote a message, as shown next to it."""

    user_id: int
    name: str
    role: str

    @classmethod
    def of(cls, user: Identity | User) -> Sender:
        """The sender behind a session identity or a user row."""
        user_id = user.user_id if isinstance(user, Identity) else user.id
        part = room_role(user.role)
        return cls(user_id, user.full_name or user.username, str(part or user.role))


@dataclass(frozen=True)
class Posted:
    """A message as stored; ``created`` is False for a retry that found its first send."""

    message: ChatMessage
    created: bool
    json: dict[str, Any]


# ---------------------------------------------------------------- pure parts


def _clean_string(value: Any, name: str, limit: int, *, blank_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid(f"field {name!r} must be a string", field=name)
    if not blank_ok and not value.strip():
        raise Invalid(f"field {name!r} is empty", field=name)
    if len(value) > limit:
        raise Invalid(
            f"field {name!r} has {len(value)} characters; at most {limit} are allowed",
            field=name,
        )
    # Neither backend stores NUL or unpaired surrogates (JSON may carry both).
    if "\x00" in value:
        raise Invalid(f"field {name!r} contains a NUL character", field=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"field {name!r} is not valid Unicode text", field=name) from None
    return value


def message_text(value: Any) -> str:
    """A message's text as it will be stored: 1–:data:`MAX_TEXT` characters, not blank."""
    return _clean_string(value, "text", MAX_TEXT)


def client_id_of(data: dict[str, Any]) -> str | None:
    """The optional ``client_id`` that makes a retried send idempotent."""
    value = data.get("client_id")
    return None if value is None else _clean_string(value, "client_id", MAX_CLIENT_ID)


def user_id_field(data: dict[str, Any], name: str) -> int | None:
    """An optional user id field (an integer; a string of digits from a form)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_INT:
        raise Invalid(f"field {name!r} must be the user id of a learner", field=name)
    return value


def message_ids(data: dict[str, Any]) -> list[int]:
    """The ``message_ids`` of a receipt: 1–:data:`MAX_IDS` distinct message ids."""
    value = data.get("message_ids")
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= MAX_IDS
        or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_INT for i in value
        )
    ):
        raise Invalid(
            f"field 'message_ids' must be a list of 1 to {MAX_IDS} message ids",
            field="message_ids",
        )
    return sorted(set(value))


def may_mark(reader: RoomRole, sender_id: int, learner_id: int) -> bool:
    """Whether a reader reports receipts for a message of a thread: only for messages from
    the other side (the learner for the commission's; the commission for the learner's)."""
    from_learner = sender_id == learner_id
    return from_learner if reader is not RoomRole.LEARNER else not from_learner


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def message_json(
    message: ChatMessage, sender: Sender, attachment: RoomFile | None
) -> dict[str, Any]:
    """A message as the ``/proctor`` events show it."""
    return {
        "message_id": message.id,
        "room": message.room,
        "learner": message.learner_id,
        "sender": {"user_id": sender.user_id, "name": sender.name, "role": sender.role},
        "text": message.text,
        "client_id": message.client_id,
        "sent_at": _iso(message.sent_at),
        "delivered_at": _iso(message.delivered_at),
        "read_at": _iso(message.read_at),
        "attachment": None if attachment is None else file_json(attachment),
    }


def state_json(message: ChatMessage) -> dict[str, Any]:
    """A message's delivery state (``chat_state``)."""
    return {
        "message_id": message.id,
        "delivered_at": _iso(message.delivered_at),
        "read_at": _iso(message.read_at),
    }


# ---------------------------------------------------------------- threads


async def thread_of(
    db: AsyncSession, room_id: str, user: Identity, role: RoomRole, requested: int | None
) -> int:
    """The learner whose thread a participant addresses.

    A learner's is always their own (naming another learner's is 404, as if it did not
    exist); the commission and support must name a learner of the room, else 422
    (none named) or 404 ``unknown_learner``.
    """
    if role is RoomRole.LEARNER:
        if requested is not None and requested != user.user_id:
            raise NotFound(f"the thread of learner {requested} in room {room_id} does not exist")
        return user.user_id
    if requested is None:
        raise Invalid("field 'learner' is required: the learner whose thread", field="learner")
    unknown = NotFound(f"learner {requested} is not in room {room_id}", code="unknown_learner")
    learner = await db.get(User, requested)
    if learner is None or learner.role != Role.LEARNER:
        raise unknown
    as_learner = Identity(learner.id, learner.username, learner.role, learner.full_name, "", "")
    try:
        await check_access(db, as_learner, room_id)
    except AppError:
        raise unknown from None
    return learner.id


# ---------------------------------------------------------------- writing


async def _sent_before(
    db: AsyncSession, room_id: str, sender_id: int, client_id: str
) -> ChatMessage | None:
    return await db.scalar(
        select(ChatMessage).where(
            ChatMessage.room == room_id,
            ChatMessage.sender_id == sender_id,
            ChatMessage.client_id == client_id,
        )
    )


async def _attachment(db: AsyncSession, message: ChatMessage) -> RoomFile | None:
    if message.attachment_file_id is None:
        return None
    return await db.get(RoomFile, message.attachment_file_id)


async def _retry(
    db: AsyncSession, first: ChatMessage, learner_id: int, text: str, sender: Sender
) -> Posted:
    if first.learner_id != learner_id or first.text != text:
        raise Conflict(
            f"client_id {first.client_id!r} was already used for message {first.id}",
            code="client_id_reused",
        )
    return Posted(first, False, message_json(first, sender, await _attachment(db, first)))


async def post(
    db: AsyncSession,
    room_id: str,
    learner_id: int,
    sender: Identity,
    text: str,
    client_id: str | None,
    now: datetime,
    attachment: RoomFile | None = None,
) -> Posted:
    """Store a message in a learner's thread (the caller commits).

    A ``client_id`` the sender already used in the room returns the first message
    (409 when the retry differs from it). Run in a session of its own: a concurrent
    retry that wins the race is found by rolling this session back.
    """
    who = Sender.of(sender)
    if client_id is not None:
        first = await _sent_before(db, room_id, sender.user_id, client_id)
        if first is not None:
            return await _retry(db, first, learner_id, text, who)
    message = ChatMessage(
        room=room_id,
        learner_id=learner_id,
        sender_id=sender.user_id,
        client_id=client_id,
        text=text,
        attachment_file_id=None if attachment is None else attachment.id,
        sent_at=now,
    )
    db.add(message)
    try:
        await db.flush()
    except IntegrityError:
        if client_id is None:
            raise
        await db.rollback()
        first = await _sent_before(db, room_id, sender.user_id, client_id)
        if first is None:
            raise
        return await _retry(db, first, learner_id, text, who)
    return Posted(message, True, message_json(message, who, attachment))


async def share_file(
    db: AsyncSession,
    files_dir: Path,
    room_id: str,
    learner_id: int,
    sender: Identity,
    upload: Upload,
    now: datetime,
) -> tuple[RoomFile, Posted]:
    """Store an uploaded file in a learner's thread and post it there as an attachment
    (the caller commits; see :func:`proctor.files.store_file`)."""
    row = await store_file(db, files_dir, room_id, learner_id, sender, upload, now)
    return row, await post(db, room_id, learner_id, sender, "", None, now, attachment=row)


async def mark(
    db: AsyncSession,
    room_id: str,
    reader: Identity,
    role: RoomRole,
    ids: list[int],
    receipt: Receipt,
    now: datetime,
) -> tuple[list[ChatMessage], list[ChatMessage]]:
    """Record that messages reached (or were read by) the other side; the caller commits.

    Returns the named messages and those whose state changed. A learner names messages
    of their own thread only; ids the reader cannot see are 404 like missing ones. The
    reader's own side's messages are left as they are. A time once set never moves.
    """
    query = select(ChatMessage).where(ChatMessage.room == room_id, ChatMessage.id.in_(ids))
    if role is RoomRole.LEARNER:
        query = query.where(ChatMessage.learner_id == reader.user_id)
    rows = list((await db.scalars(query)).all())
    before = {m.id: (m.delivered_at, m.read_at) for m in rows}
    missing = [i for i in ids if i not in before]
    if missing:
        raise NotFound(f"message {missing[0]} does not exist in room {room_id}")
    markable = [m.id for m in rows if may_mark(role, m.sender_id, m.learner_id)]
    if markable:
        # Conditional updates: two readers reporting at once keep the first time.
        await db.execute(
            update(ChatMessage)
            .where(ChatMessage.id.in_(markable), ChatMessage.delivered_at.is_(None))
            .values(delivered_at=now)
        )
        if receipt is Receipt.READ:
            await db.execute(
                update(ChatMessage)
                .where(ChatMessage.id.in_(markable), ChatMessage.read_at.is_(None))
                .values(read_at=now)
            )
    rows = list((await db.scalars(query.execution_options(populate_existing=True))).all())
    changed = [m for m in rows if (m.delivered_at, m.read_at) != before[m.id]]
    return sorted(rows, key=lambda m: m.id), changed


# ---------------------------------------------------------------- reading


async def history(
    db: AsyncSession,
    room_id: str,
    learner_id: int,
    before: int | None = None,
    limit: int = HISTORY_LIMIT,
) -> list[dict[str, Any]]:
    """A thread's latest ``limit`` messages (older than message ``before``), oldest first."""
    query = (
        select(ChatMessage, User, RoomFile)
        .join(User, User.id == ChatMessage.sender_id)
        .outerjoin(RoomFile, RoomFile.id == ChatMessage.attachment_file_id)
        .where(ChatMessage.room == room_id, ChatMessage.learner_id == learner_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(ChatMessage.id < before)
    rows = (await db.execute(query)).all()
    return [message_json(m, Sender.of(u), f) for m, u, f in reversed(rows)]


# ---------------------------------------------------------------- retention


async def last_message_times(db: AsyncSession) -> dict[str, datetime]:
    """Each room's latest message: with the other evidence it dates a session's end."""
    rows = await db.execute(
        select(ChatMessage.room, func.max(ChatMessage.sent_at)).group_by(ChatMessage.room)
    )
    return {room: at for room, at in rows if at is not None}


async def delete_messages(db: AsyncSession, room_id: str) -> int:
    """Delete a room's messages when their retention date passed (in the caller's
    transaction, before the files they attach). Returns how many rows this DELETE removed:
    0 when another server process got there first, so only one of them audits it."""
    deleted = await db.scalars(
        delete(ChatMessage).where(ChatMessage.room == room_id).returning(ChatMessage.id)
    )
    return len(deleted.all())
