"""Sealing a finished recording: SHA-256, into the store, one manifest row.

The order makes a crash at any point harmless: the spool file is removed only after
the row is committed, and the repair on the next start re-seals a spool file whose row
is missing (the put is idempotent) or just drops one whose row exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recordings.models import RecordingFile
from recordings.recorder import Segment, safe_part
from recordings.storage import RecordingStore, hash_file
from recordings.writer import sidecar_path

log = logging.getLogger(__name__)


def storage_key(segment: Segment) -> str:
    """The store key of a segment: ``<room>/<file name>``."""
    return f"{safe_part(segment.room_id)}/{segment.path.name}"


def user_id_of(participant_id: str) -> int | None:
    """The user id in a room participant id ``u<id>``."""
    digits = participant_id[1:]
    return int(digits) if participant_id.startswith("u") and digits.isdigit() else None


class Sealer:
    """Seals segments into ``store`` and the manifest table."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: RecordingStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.clock = clock

    async def seal(self, segment: Segment, *, repaired: bool = False) -> RecordingFile | None:
        """Hash, store and record ``segment``; returns its row (``None`` if it was sealed
        before a crash and only the spool copy was left)."""
        key = storage_key(segment)
        async with self.sessions() as db:
            existing = await db.scalar(
                select(RecordingFile).where(RecordingFile.storage_key == key)
            )
        if existing is not None:
            self._drop_spool(segment)
            return None
        size, digest = await asyncio.to_thread(hash_file, segment.path)
        await self.store.put(key, segment.path)
        row = RecordingFile(
            room=segment.room_id,
            participant=segment.participant_id,
            user_id=user_id_of(segment.participant_id),
            kinds=",".join(sorted(segment.kinds)),
            storage_key=key,
            started_at=segment.started_at,
            ended_at=segment.ended_at or segment.started_at,
            size=size,
            sha256=digest,
            reason=segment.reason,
            repaired=repaired,
            sealed_at=self.clock(),
        )
        async with self.sessions() as db:
            db.add(row)
            await db.commit()
            await db.refresh(row)
        self._drop_spool(segment)
        log.info(
            "room %s: recording %s of %s sealed (%d bytes, sha256 %s)",
            segment.room_id,
            key,
            segment.participant_id,
            size,
            digest[:12],
        )
        return row

    async def __call__(self, segment: Segment) -> None:
        await self.seal(segment)

    @staticmethod
    def _drop_spool(segment: Segment) -> None:
        segment.path.unlink(missing_ok=True)
        sidecar_path(segment.path).unlink(missing_ok=True)
