"""The manifest of a session (a room): every sealed file with its SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recordings.models import RecordingFile, SessionHold
from recordings.retention import Policy, retention_dates


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def file_json(row: RecordingFile) -> dict[str, Any]:
    """One manifest entry."""
    return {
        "id": row.id,
        "participant": row.participant,
        "user_id": row.user_id,
        "kinds": row.kinds.split(",") if row.kinds else [],
        "file": row.storage_key.rsplit("/", 1)[-1],
        "started_at": _iso(row.started_at),
        "ended_at": _iso(row.ended_at),
        "size": row.size,
        "sha256": row.sha256,
        "reason": row.reason,
        "repaired": row.repaired,
        "sealed_at": _iso(row.sealed_at),
        "deleted_at": _iso(row.deleted_at),
    }


async def files_of(
    db: AsyncSession, room_id: str, *, include_deleted: bool = False
) -> list[RecordingFile]:
    """The sealed files of a session in start order."""
    query = select(RecordingFile).where(RecordingFile.room == room_id)
    if not include_deleted:
        query = query.where(RecordingFile.deleted_at.is_(None))
    return list(await db.scalars(query.order_by(RecordingFile.started_at, RecordingFile.id)))


async def manifest(db: AsyncSession, room_id: str, policy: Policy) -> dict[str, Any]:
    """The session's manifest as JSON: files, recording span, retention and hold."""
    rows = await files_of(db, room_id, include_deleted=True)
    hold = await db.get(SessionHold, room_id)
    live = [r for r in rows if r.deleted_at is None]
    start = min((r.started_at for r in rows), default=None)
    end = max((r.ended_at for r in rows), default=None)
    dates = retention_dates(end, policy) if end is not None else {}
    return {
        "session": room_id,
        "recording_started_at": _iso(start),
        "recording_ended_at": _iso(end),
        "files": [file_json(r) for r in rows],
        "total_size": sum(r.size for r in live),
        "retention": {kind: day.isoformat() for kind, day in dates.items()},
        "legal_hold": None
        if hold is None
        else {"reason": hold.reason, "set_at": _iso(hold.set_at), "set_by": hold.set_by},
    }
