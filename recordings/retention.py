"""Retention: when a session's records may go, legal holds, and deletion by policy.

The decisions are pure functions (:func:`retention_dates`, :func:`expired`) with
table-driven tests; :func:`run_retention` applies them: it deletes expired recording
files from the store, marks their manifest rows deleted (the row and its hash stay as
the record of what existed) and writes one audit entry per deletion; then it deletes the
rest of an expired session's evidence (chat, shared files, identity snapshots and
decisions, monitoring events, the participation log) through the proctor modules that
own it, one audit entry per kind with its count, and removes the stored files once the
rows are gone. A session on legal hold (:func:`set_legal_hold`, e.g. an open appeal) loses nothing.

Every server process may run retention at once: a recording is claimed by a conditional
UPDATE and evidence by its DELETE, and only the process whose statement changed rows
writes the audit entry, so nothing is deleted or audited twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from proctor import chat, files, identity, monitoring, presence
from proctor.evidence import EvidenceStore
from recordings.models import RecordingFile, SessionHold
from recordings.storage import RecordingStore
from server import audit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """Days each kind of record of a session is kept after the session ended."""

    recordings_days: int = 365
    evidence_days: int = 1825


def retention_dates(session_end: datetime, policy: Policy) -> dict[str, date]:
    """The last day each kind of record is kept: the session's end date plus its days."""
    day = session_end.date()
    return {
        "recordings": day + timedelta(days=policy.recordings_days),
        "evidence": day + timedelta(days=policy.evidence_days),
    }


def expired(session_end: datetime, kind: str, policy: Policy, now: datetime, held: bool) -> bool:
    """Whether a record of ``kind`` of a session that ended at ``session_end`` is due for
    deletion at ``now``: after its last day, and never while the session is on hold."""
    return not held and now.date() > retention_dates(session_end, policy)[kind]


async def set_legal_hold(
    db: AsyncSession, room_id: str, reason: str, now: datetime, actor_id: int | None = None
) -> SessionHold:
    """Put a session on legal hold (an open appeal): retention deletes nothing of it until
    :func:`release_legal_hold`. Audited; the caller commits."""
    hold = await db.get(SessionHold, room_id)
    if hold is None:
        hold = SessionHold(room=room_id, reason=reason, set_at=now, set_by=actor_id)
        db.add(hold)
    else:
        hold.reason, hold.set_at, hold.set_by = reason, now, actor_id
    await audit.record(
        db, now, actor_id, "recordings.legal_hold", "session", room_id, reason=reason
    )
    return hold


async def release_legal_hold(
    db: AsyncSession, room_id: str, now: datetime, actor_id: int | None = None
) -> None:
    """Lift a session's legal hold (audited; the caller commits)."""
    hold = await db.get(SessionHold, room_id)
    if hold is not None:
        await db.delete(hold)
        await audit.record(db, now, actor_id, "recordings.hold_released", "session", room_id)


@dataclass(frozen=True)
class EvidencePlaces:
    """Where the stored evidence files of sessions live (files shared in rooms, snapshots)."""

    files_dir: Path
    evidence: EvidenceStore


@dataclass(frozen=True)
class EvidenceDeletion:
    """The records of one kind of one session that a run deleted (or would delete)."""

    session: str
    kind: str
    count: int


@dataclass
class RetentionReport:
    """What a retention run deleted (or, dry, would delete)."""

    deleted: list[str]
    held_sessions: list[str]
    bytes_freed: int
    dry_run: bool
    evidence: list[EvidenceDeletion] = field(default_factory=list)


async def due_files(
    db: AsyncSession, policy: Policy, now: datetime
) -> tuple[list[RecordingFile], list[str]]:
    """The files whose session's recordings expired, and the sessions kept by a hold."""
    rows = list(await db.scalars(select(RecordingFile).where(RecordingFile.deleted_at.is_(None))))
    held = set(await db.scalars(select(SessionHold.room)))
    ends: dict[str, datetime] = {}
    for row in rows:
        ends[row.room] = max(ends.get(row.room, row.ended_at), row.ended_at)
    due = [r for r in rows if expired(ends[r.room], "recordings", policy, now, r.room in held)]
    kept = sorted({r.room for r in rows if r.room in held})
    return sorted(due, key=lambda r: r.id), kept


async def session_ends(db: AsyncSession) -> dict[str, datetime]:
    """The end of every session that has evidence: its latest recording, message, shared
    file, snapshot, identity decision, monitoring event, or entry or exit of the room."""
    recorded = await db.execute(
        select(RecordingFile.room, func.max(RecordingFile.ended_at)).group_by(RecordingFile.room)
    )
    ends: dict[str, datetime] = {}
    for times in (
        {room: at for room, at in recorded if at is not None},
        await chat.last_message_times(db),
        await files.last_upload_times(db),
        await identity.last_identity_times(db),
        await monitoring.last_event_times(db),
        await presence.last_presence_times(db),
    ):
        for room, at in times.items():
            ends[room] = max(ends.get(room, at), at)
    return ends


async def due_evidence(
    db: AsyncSession, policy: Policy, now: datetime
) -> tuple[list[str], list[str]]:
    """The sessions whose evidence expired, and the sessions with evidence kept by a hold."""
    ends = await session_ends(db)
    held = set(await db.scalars(select(SessionHold.room)))
    due = sorted(
        room for room, end in ends.items() if expired(end, "evidence", policy, now, room in held)
    )
    return due, sorted(held & ends.keys())


async def _delete_evidence(
    db: AsyncSession, room: str
) -> tuple[dict[str, int], list[str], list[str]]:
    """Delete every kind of a session's evidence rows (messages before the files they
    attach); the rows each DELETE removed, and the stored files left to remove."""
    counts = {"chat_messages": await chat.delete_messages(db, room)}
    file_paths = await files.delete_files(db, room)
    snapshot_paths = await identity.delete_snapshots(db, room)
    counts["room_files"] = len(file_paths)
    counts["snapshots"] = len(snapshot_paths)
    counts["identity_decisions"] = await identity.delete_decisions(db, room)
    counts["monitoring_events"] = await monitoring.delete_events(db, room)
    counts["room_presence"] = await presence.delete_presence(db, room)
    return counts, file_paths, snapshot_paths


async def expire_evidence(
    db: AsyncSession, places: EvidencePlaces, room: str, now: datetime, *, dry_run: bool
) -> list[EvidenceDeletion]:
    """Delete one expired session's evidence in one transaction with one audit entry per
    kind, then remove its stored files; a dry run counts the same rows and rolls back."""
    counts, file_paths, snapshot_paths = await _delete_evidence(db, room)
    done = [EvidenceDeletion(room, kind, n) for kind, n in counts.items() if n]
    if dry_run:
        await db.rollback()
        return done
    for item in done:
        await audit.record(
            db,
            now,
            None,
            "evidence.retention_delete",
            "session",
            room,
            kind=item.kind,
            count=item.count,
        )
    await db.commit()
    # After the commit: a crash in between leaves unreferenced bytes, never a row whose
    # file is gone.
    await files.remove_stored(places.files_dir, file_paths)
    await places.evidence.remove(snapshot_paths)
    for item in done:
        log.info("retention: deleted %d %s of session %s", item.count, item.kind, room)
    return done


async def _claim(db: AsyncSession, row: RecordingFile, now: datetime) -> bool:
    """Mark a recording deleted unless another process already did; True when this one did."""
    claimed = await db.scalars(
        update(RecordingFile)
        .where(RecordingFile.id == row.id, RecordingFile.deleted_at.is_(None))
        .values(deleted_at=now)
        .returning(RecordingFile.id)
    )
    return claimed.first() is not None


async def run_retention(
    db: AsyncSession,
    store: RecordingStore,
    policy: Policy,
    now: datetime,
    *,
    places: EvidencePlaces | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> RetentionReport:
    """Delete every expired recording (each deletion audited and committed on its own,
    so an interrupted run keeps what it did), then, given ``places``, every expired
    session's other evidence (one transaction per session)."""
    due, held = await due_files(db, policy, now)
    rooms, held_evidence = await due_evidence(db, policy, now) if places else ([], [])
    if total is not None:
        total(len(due) + len(rooms))
    report = RetentionReport([], sorted({*held, *held_evidence}), 0, dry_run)
    for row in due:
        if not dry_run:
            if not await _claim(db, row, now):
                await db.commit()  # ends the transaction and keeps the loaded rows usable
                continue
            await store.delete(row.storage_key)
            await audit.record(
                db,
                now,
                None,
                "recordings.retention_delete",
                "recording",
                row.id,
                session=row.room,
                key=row.storage_key,
                sha256=row.sha256,
                size=row.size,
            )
            await db.commit()
            log.info("retention: deleted recording %s of session %s", row.storage_key, row.room)
        report.deleted.append(row.storage_key)
        report.bytes_freed += row.size
        if progress is not None:
            progress(1)
    for room in rooms:
        assert places is not None
        report.evidence += await expire_evidence(db, places, room, now, dry_run=dry_run)
        if progress is not None:
            progress(1)
    return report
