"""Evidence files: the JPEG snapshots of identity checks and room views, on disk.

Files live under ``<data_dir>/evidence/<room>/`` (outside the web root) with names the
server generates, never a name a client chose; each file's SHA-256 is returned to be
recorded next to it in the database, and :meth:`EvidenceStore.read` refuses a file whose
content no longer matches. Writes go to a temporary file that is synced and renamed, so
a crash never leaves a half-written picture under a recorded name.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from aiohttp import web

from server.errors import AppError
from server.settings import Settings

log = logging.getLogger(__name__)

# Room ids and kinds become path parts: only characters that cannot climb out of the store.
SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")


class EvidenceError(AppError):
    """An evidence file is missing or no longer matches its recorded SHA-256 (500)."""

    status = 500
    code = "evidence_damaged"


@dataclass(frozen=True)
class StoredFile:
    """A saved evidence file: its path relative to the store, SHA-256 and size in bytes."""

    path: str
    sha256: str
    size: int


def evidence_dir(settings: Settings) -> Path:
    """The directory of evidence files for these settings (outside any web root)."""
    return settings.data_dir.resolve() / "evidence"


class EvidenceStore:
    """Evidence files under one root directory; lives on the app under :data:`EVIDENCE`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def __repr__(self) -> str:
        return f"EvidenceStore({str(self.root)!r})"

    async def save(self, room_id: str, kind: str, data: bytes) -> StoredFile:
        """Write ``data`` as a new JPEG of ``kind`` in the room's directory (in a thread)."""
        return await asyncio.to_thread(self._save, room_id, kind, data)

    def _save(self, room_id: str, kind: str, data: bytes) -> StoredFile:
        for name, part in (("room", room_id), ("kind", kind)):
            if not SAFE_PART.fullmatch(part):
                raise ValueError(f"{name} {part[:80]!r} cannot name an evidence directory")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        relative = f"{room_id}/{kind}-{stamp}-{secrets.token_hex(8)}.jpg"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with partial.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        stored = StoredFile(relative, hashlib.sha256(data).hexdigest(), len(data))
        log.info("evidence %s saved (%d bytes, sha256 %s)", relative, stored.size, stored.sha256)
        return stored

    def _resolve(self, path: str) -> Path:
        parts = PurePosixPath(path).parts
        if len(parts) != 2 or not all(SAFE_PART.fullmatch(Path(p).stem) for p in parts):
            raise EvidenceError(f"evidence path {path[:120]!r} is not one of the store's")
        return self.root.joinpath(*parts)

    def open(self, path: str) -> BinaryIO:
        """The stored file at ``path`` (as :meth:`save` returned it), opened for reading."""
        try:
            return self._resolve(path).open("rb")
        except FileNotFoundError:
            raise EvidenceError(
                f"evidence file {path} is missing", code="evidence_missing"
            ) from None

    async def read(self, path: str, sha256: str) -> bytes:
        """The file's bytes, after checking them against the recorded ``sha256``."""
        return await asyncio.to_thread(self._read, path, sha256)

    def _read(self, path: str, sha256: str) -> bytes:
        with self.open(path) as file:
            data = file.read()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            log.error("evidence %s: sha256 %s does not match the recorded %s", path, actual, sha256)
            raise EvidenceError(f"evidence file {path} does not match its recorded SHA-256")
        return data

    async def remove(self, paths: list[str]) -> None:
        """Remove stored files whose rows retention deleted (no error for one already
        gone), and a room's directory left empty (in a thread)."""
        await asyncio.to_thread(self._remove, paths)

    def _remove(self, paths: list[str]) -> None:
        folders = set()
        for path in paths:
            target = self._resolve(path)
            target.unlink(missing_ok=True)
            folders.add(target.parent)
        for folder in folders:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            log.info("evidence files of %s removed by retention", folder.name)


EVIDENCE: web.AppKey[EvidenceStore] = web.AppKey("evidence", EvidenceStore)
