"""The identity check before a test starts (B 4.8) and the view of the room (B 4.11).

The learner, or a commission member, presses "capture" for the face, the identity
document and, during a slow pan of the camera, several views of the room; each capture is
a full-size JPEG taken on the server from the learner's live stream
(:meth:`~proctor.snapshots.Thumbnails.capture`), stored as evidence
(:mod:`proctor.evidence`) and recorded as a :class:`Snapshot`. A commission member then
confirms or rejects the identity with a comment (:func:`decide`); the decision, who made
it and when are stored in :class:`IdentityCheck` and in the audit log.

The gate (:func:`start_gate`): with the setting ``identity_check = required`` a learner's
test does not start until their identity is confirmed; ``later`` lets large groups start
and be checked during the attempt; ``off`` turns the check off.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from proctor.access import (
    RoomRole,
    check_access,
    participant_id,
    quiz_id_of_room,
    room_of_test,
)
from proctor.evidence import EvidenceStore
from proctor.room import MediaRoom
from proctor.snapshots import Thumbnails
from quiz.attempts import StartGate
from quiz.quizzes import get_quiz
from server import audit
from server.database import Base, UTCDateTime
from server.errors import Conflict, Invalid, NotFound
from server.sessions import Identity
from server.users import Role, get_user

log = logging.getLogger(__name__)

MAX_COMMENT = 2000
#: Snapshots one learner may have in one room: retakes and a long pan, not a flood.
MAX_SNAPSHOTS = 60


class IdentityStatus(StrEnum):
    """Where a learner's identity check stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class SnapshotKind(StrEnum):
    """What a snapshot shows."""

    FACE = "face"
    DOCUMENT = "document"
    ROOM_VIEW = "room_view"


class IdentityMode(StrEnum):
    """The ``identity_check`` setting: whether a test waits for the confirmation."""

    REQUIRED = "required"
    LATER = "later"
    OFF = "off"


#: What a commission member must have seen before confirming an identity.
REQUIRED_FOR_CONFIRMATION = (SnapshotKind.FACE, SnapshotKind.DOCUMENT)


class IdentityNotConfirmed(Conflict):
    """The test cannot start before a commission member confirmed the identity (409)."""

    code = "identity_not_confirmed"


class SnapshotsMissing(Conflict):
    """A confirmation without the face or document snapshot it must rest on (409)."""

    code = "snapshots_missing"


class IdentityCheck(Base):
    """The commission's decision on one learner's identity in one room."""

    __tablename__ = "identity_checks"
    __table_args__ = (UniqueConstraint("room", "learner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(80))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")


class Snapshot(Base):
    """A picture taken from a learner's stream for the identity check or the room view."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_room_learner", "room", "learner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(80))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    taken_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


def snapshot_kind(value: Any) -> SnapshotKind:
    """The kind named by a client; 422 for anything else."""
    if not isinstance(value, str) or value not in set(SnapshotKind):
        kinds = ", ".join(SnapshotKind)
        raise Invalid(f"kind must be one of {kinds}, not {str(value)[:40]!r}", field="kind")
    return SnapshotKind(value)


def identity_mode(value: str) -> IdentityMode:
    """The ``identity_check`` setting's value; ValueError for an unknown one."""
    try:
        return IdentityMode(value)
    except ValueError:
        modes = ", ".join(IdentityMode)
        raise ValueError(f"{value!r} is not one of {modes}") from None


def snapshot_url(room_id: str, snapshot_id: int) -> str:
    """Where a snapshot's JPEG is served."""
    return f"/api/rooms/{room_id}/snapshots/{snapshot_id}.jpg"


def snapshot_json(snapshot: Snapshot) -> dict[str, Any]:
    """A snapshot as the API shows it (the file itself is at ``url``)."""
    return {
        "snapshot_id": snapshot.id,
        "kind": snapshot.kind,
        "url": snapshot_url(snapshot.room, snapshot.id),
        "sha256": snapshot.sha256,
        "size": snapshot.size,
        "taken_by": snapshot.taken_by,
        "taken_at": snapshot.taken_at.isoformat(),
    }


# ---------------------------------------------------------------- captures


async def take_snapshot(
    db: AsyncSession,
    thumbnails: Thumbnails,
    evidence: EvidenceStore,
    room: MediaRoom,
    learner_id: int,
    kind: SnapshotKind,
    taken_by: int,
    now: datetime,
) -> Snapshot:
    """Capture a full-size JPEG of the learner's stream now, store it and record it (in
    the caller's transaction); 404 ``no_keyframe`` before the stream sent a picture,
    409 ``too_many_snapshots`` past :data:`MAX_SNAPSHOTS`."""
    publisher = participant_id(learner_id)
    taken = await db.scalar(
        select(func.count(Snapshot.id)).where(
            Snapshot.room == room.room_id, Snapshot.learner_id == learner_id
        )
    )
    if (taken or 0) >= MAX_SNAPSHOTS:
        raise Conflict(
            f"learner {learner_id} already has {MAX_SNAPSHOTS} snapshots in room {room.room_id}",
            code="too_many_snapshots",
        )
    jpeg = await thumbnails.capture(room, publisher)
    if jpeg is None:
        raise NotFound(
            f"publisher {publisher} in room {room.room_id} has sent no picture yet",
            code="no_keyframe",
        )
    stored = await evidence.save(room.room_id, kind.value, jpeg)
    snapshot = Snapshot(
        room=room.room_id,
        learner_id=learner_id,
        kind=kind.value,
        path=stored.path,
        sha256=stored.sha256,
        size=stored.size,
        taken_by=taken_by,
        taken_at=now,
    )
    db.add(snapshot)
    await db.flush()
    log.info(
        "room %s: %s snapshot %s of user %s taken by user %s",
        room.room_id,
        kind,
        snapshot.id,
        learner_id,
        taken_by,
    )
    return snapshot


async def get_snapshot(db: AsyncSession, room_id: str, snapshot_id: int) -> Snapshot:
    """The snapshot of this room; 404 for another room's or a missing one."""
    snapshot = await db.get(Snapshot, snapshot_id)
    if snapshot is None or snapshot.room != room_id:
        raise NotFound(f"snapshot {snapshot_id} of room {room_id} does not exist")
    return snapshot


# ---------------------------------------------------------------- decisions


async def learner_of_room(db: AsyncSession, room_id: str, user_id: int) -> None:
    """Check that the user is a learner who belongs to the room; 404 otherwise."""
    try:
        user = await get_user(db, user_id)
    except NotFound:
        user = None
    unknown = NotFound(f"learner {user_id} is not in room {room_id}", code="unknown_learner")
    if user is None or user.role != Role.LEARNER:
        raise unknown
    learner = Identity(user.id, user.username, user.role, user.full_name, "", "")
    try:
        await check_access(db, learner, room_id)
    except NotFound:
        raise unknown from None


async def snapshots_of(
    db: AsyncSession, room_id: str, learner_id: int | None = None
) -> list[Snapshot]:
    """The room's snapshots (of one learner), oldest first."""
    query = select(Snapshot).where(Snapshot.room == room_id)
    if learner_id is not None:
        query = query.where(Snapshot.learner_id == learner_id)
    return list(await db.scalars(query.order_by(Snapshot.taken_at, Snapshot.id)))


async def _check_row(
    db: AsyncSession, room_id: str, learner_id: int, *, lock: bool = False
) -> IdentityCheck | None:
    query = select(IdentityCheck).where(
        IdentityCheck.room == room_id, IdentityCheck.learner_id == learner_id
    )
    if lock:
        query = query.with_for_update()
    return await db.scalar(query)


async def decide(
    db: AsyncSession,
    room_id: str,
    learner_id: int,
    decision: Any,
    comment: Any,
    commissioner: int,
    now: datetime,
) -> IdentityCheck:
    """A commission member confirms or rejects the learner's identity (in the caller's
    transaction, audited). Confirming needs a face and a document snapshot; rejecting
    needs a comment saying why. A later decision replaces an earlier one."""
    if decision not in (IdentityStatus.CONFIRMED, IdentityStatus.REJECTED):
        raise Invalid("decision must be 'confirmed' or 'rejected'", field="decision")
    status = IdentityStatus(decision)
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment.strip()) > MAX_COMMENT:
        raise Invalid(
            f"comment must be a string of at most {MAX_COMMENT} characters", field="comment"
        )
    comment = comment.strip()
    if status is IdentityStatus.REJECTED and not comment:
        raise Invalid("say why the identity is rejected: a comment is required", field="comment")
    await learner_of_room(db, room_id, learner_id)
    snapshots = await snapshots_of(db, room_id, learner_id)
    if status is IdentityStatus.CONFIRMED:
        taken = {s.kind for s in snapshots}
        missing = [kind.value for kind in REQUIRED_FOR_CONFIRMATION if kind not in taken]
        if missing:
            raise SnapshotsMissing(
                f"the identity of learner {learner_id} in room {room_id} cannot be confirmed "
                f"without a {' and a '.join(missing)} snapshot",
                missing=missing,
            )
    check = await _check_row(db, room_id, learner_id, lock=True)
    if check is None:
        try:
            async with db.begin_nested():
                check = IdentityCheck(room=room_id, learner_id=learner_id, comment="")
                check.status = status.value
                db.add(check)
        except IntegrityError:
            # Another commission member decided at the same moment: this decision follows.
            check = await _check_row(db, room_id, learner_id, lock=True)
            assert check is not None
    check.status = status.value
    check.decided_by = commissioner
    check.decided_at = now
    check.comment = comment
    await db.flush()
    await audit.record(
        db,
        now,
        commissioner,
        "identity.confirm" if status is IdentityStatus.CONFIRMED else "identity.reject",
        "identity_check",
        check.id,
        room=room_id,
        learner_id=learner_id,
        comment=comment,
        snapshots=[{"id": s.id, "kind": s.kind, "sha256": s.sha256} for s in snapshots],
    )
    log.info(
        "room %s: identity of user %s %s by user %s", room_id, learner_id, status, commissioner
    )
    return check


async def identity_status(db: AsyncSession, room_id: str, learner_id: int) -> IdentityStatus:
    """The learner's identity status in the room (``pending`` before any decision)."""
    check = await _check_row(db, room_id, learner_id)
    return IdentityStatus(check.status) if check is not None else IdentityStatus.PENDING


async def require_confirmed(db: AsyncSession, room_id: str, learner_id: int) -> None:
    """409 ``identity_not_confirmed`` unless a commission member confirmed the identity."""
    status = await identity_status(db, room_id, learner_id)
    if status is not IdentityStatus.CONFIRMED:
        raise IdentityNotConfirmed(
            f"the identity of learner {learner_id} in room {room_id} is {status}: "
            "a commission member must confirm it before the test starts",
            room=room_id,
            identity=status.value,
        )


def start_gate(mode: IdentityMode) -> StartGate | None:
    """What a new attempt must pass under this ``identity_check`` mode: ``(db, test id,
    learner id)`` → None or :class:`IdentityNotConfirmed`; None when nothing is checked."""
    if mode is not IdentityMode.REQUIRED:
        return None

    async def gate(db: AsyncSession, test_id: int, learner_id: int) -> None:
        await require_confirmed(db, room_of_test(test_id), learner_id)

    return gate


async def identity_json(
    db: AsyncSession, room_id: str, learner_id: int, name: str | None = None
) -> dict[str, Any]:
    """One learner's identity check: status, decision and snapshots."""
    check = await _check_row(db, room_id, learner_id)
    if name is None:
        try:
            user = await get_user(db, learner_id)
            name = user.full_name or user.username
        except NotFound:
            name = ""
    return {
        "room": room_id,
        "learner_id": learner_id,
        "participant_id": participant_id(learner_id),
        "name": name,
        "status": check.status if check is not None else IdentityStatus.PENDING.value,
        "decided_by": check.decided_by if check is not None else None,
        "decided_at": check.decided_at.isoformat() if check and check.decided_at else None,
        "comment": check.comment if check is not None else "",
        "snapshots": [snapshot_json(s) for s in await snapshots_of(db, room_id, learner_id)],
    }


async def room_identities(
    db: AsyncSession, room_id: str, learners: dict[int, str]
) -> list[dict[str, Any]]:
    """The identity checks of the room: every learner with a decision or a snapshot, and
    the ``learners`` given (user id → name: those in the room now)."""
    ids = dict(learners)
    for learner_id in await db.scalars(
        select(IdentityCheck.learner_id).where(IdentityCheck.room == room_id)
    ):
        ids.setdefault(learner_id, "")
    for learner_id in await db.scalars(
        select(Snapshot.learner_id).where(Snapshot.room == room_id).distinct()
    ):
        ids.setdefault(learner_id, "")
    return [
        await identity_json(db, room_id, learner_id, name or None)
        for learner_id, name in sorted(ids.items())
    ]


async def evidence_access(db: AsyncSession, user: Identity, room_id: str) -> RoomRole | None:
    """Who reads a room's evidence: its participants (checked as for joining) and auditors,
    who never join but review (None); 404 for a room that does not exist."""
    if user.role == Role.AUDITOR:
        try:
            await get_quiz(db, quiz_id_of_room(room_id))
        except NotFound:
            raise NotFound(f"room {room_id[:80]!r} does not exist") from None
        return None
    return await check_access(db, user, room_id)


def may_decide(role: RoomRole) -> bool:
    """Only the commission (and admins acting as commission) decide on an identity."""
    return role is RoomRole.COMMISSION


# ---------------------------------------------------------------- retention


async def last_identity_times(db: AsyncSession) -> dict[str, datetime]:
    """Each room's latest snapshot or decision: with the other evidence it dates a
    session's end."""
    times: dict[str, datetime] = {}
    for query in (
        select(Snapshot.room, func.max(Snapshot.taken_at)).group_by(Snapshot.room),
        select(IdentityCheck.room, func.max(IdentityCheck.decided_at)).group_by(IdentityCheck.room),
    ):
        for room, at in await db.execute(query):
            if at is not None:
                times[room] = max(times.get(room, at), at)
    return times


async def delete_snapshots(db: AsyncSession, room_id: str) -> list[str]:
    """Delete a room's snapshot rows when their retention date passed (in the caller's
    transaction); returns the evidence paths this DELETE removed (none when another server
    process got there first), for :meth:`EvidenceStore.remove` after the commit."""
    deleted = await db.scalars(
        delete(Snapshot).where(Snapshot.room == room_id).returning(Snapshot.path)
    )
    return list(deleted.all())


async def delete_decisions(db: AsyncSession, room_id: str) -> int:
    """Delete a room's identity decisions when their retention date passed (in the
    caller's transaction); the number of rows this DELETE removed."""
    deleted = await db.scalars(
        delete(IdentityCheck).where(IdentityCheck.room == room_id).returning(IdentityCheck.id)
    )
    return len(deleted.all())
