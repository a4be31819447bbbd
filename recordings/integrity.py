"""The recordings' part of ``examroom audit verify``: every stored file still has the
size and SHA-256 its manifest row recorded at sealing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recordings.models import RecordingFile
from recordings.storage import RecordingStore, sha256_of
from server.errors import NotFound


@dataclass(frozen=True)
class FilesReport:
    """The outcome of checking the recordings against the manifest."""

    files: int
    first_broken: str | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every file matches."""
        return self.first_broken is None


async def verify_files(db: AsyncSession, store: RecordingStore) -> FilesReport:
    """Re-hash every live recording in manifest order; report the first that differs."""
    rows = await db.scalars(
        select(RecordingFile).where(RecordingFile.deleted_at.is_(None)).order_by(RecordingFile.id)
    )
    count = 0
    for row in rows:
        count += 1
        try:
            size, digest = await sha256_of(store, row.storage_key)
        except NotFound:
            return FilesReport(count, row.storage_key, "file is missing from the store")
        if size != row.size:
            return FilesReport(
                count, row.storage_key, f"size {size} differs from the manifest's {row.size}"
            )
        if digest != row.sha256:
            return FilesReport(count, row.storage_key, "SHA-256 differs from the manifest")
    return FilesReport(count, None)
