"""The append-only audit log of decisions and accesses, hash-chained.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
JSON, so altering, removing or reordering any entry breaks every later link.
:func:`verify_chain` reports the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime

GENESIS = "0" * 64


class AuditEntry(Base):
    """One recorded decision or access."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    details: str,
) -> str:
    """The chained hash of one entry."""
    canonical = json.dumps(
        [prev_hash, at.isoformat(), actor_id, action, object_type, object_id, details],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _lock_chain(db: AsyncSession) -> None:
    """Serialise appends so two writers never link to the same previous entry."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        await db.execute(text("SELECT pg_advisory_xact_lock(727001)"))
    else:
        # A write statement takes SQLite's single write lock before the tail is read.
        await db.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))


async def record(
    db: AsyncSession,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: object,
    **details: Any,
) -> AuditEntry:
    """Append an entry in the caller's transaction."""
    await _lock_chain(db)
    last = await db.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev = last or GENESIS
    # Microseconds are dropped so the hash is the same whatever precision the backend keeps.
    at = at.replace(microsecond=0)
    body = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=body,
        prev_hash=prev,
        hash=entry_hash(prev, at, actor_id, action, object_type, str(object_id), body),
    )
    db.add(entry)
    await db.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying the chain."""

    entries: int
    first_broken: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.first_broken is None


async def verify_chain(db: AsyncSession) -> ChainReport:
    """Walk the log in order and report the first entry whose link does not hold."""
    prev = GENESIS
    count = 0
    rows = await db.stream_scalars(select(AuditEntry).order_by(AuditEntry.id))
    async for entry in rows:
        count += 1
        if entry.prev_hash != prev:
            return ChainReport(count, entry.id, "previous hash does not match")
        expected = entry_hash(
            prev,
            entry.at,
            entry.actor_id,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.details,
        )
        if expected != entry.hash:
            return ChainReport(count, entry.id, "entry content does not match its hash")
        prev = entry.hash
    return ChainReport(count, None)
