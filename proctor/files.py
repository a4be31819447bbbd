"""Files exchanged in a live room (B 4.7): recognised, stored, served back as attachments.

A file belongs to one learner's thread of a room (the learner and the commission talk in
it). Its type is recognised from its content against an allow-list (:data:`KINDS`), never
from the name or the type the browser claims; the name the client gave is kept for
display only, cleaned of path parts and control characters, and given the extension of
the recognised type when it has another one (``notes.html`` holding text is offered as
``notes.html.txt``). Bytes go to ``<files_dir>/<room>/<generated name>``, outside any
web root, through a synced temporary file; the SHA-256 recorded with the row is checked
again before every download. Only retention deletes a stored file (:func:`delete_files`,
:func:`remove_stored`), once the evidence's retention date passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from proctor.access import RoomRole, check_access, quiz_id_of_room
from quiz.quizzes import get_quiz
from server import audit
from server.database import Base, UTCDateTime
from server.errors import AppError, Invalid, NotFound
from server.sessions import Identity
from server.uploads import Upload
from server.users import Role

log = logging.getLogger(__name__)

MAX_NAME = 200
CHUNK_BYTES = 1 << 20
# Characters no file system or Content-Disposition header should see in a name.
FORBIDDEN_IN_NAMES = frozenset('<>:"/\\|?*')
# Bytes that never occur in plain text (everything below 0x20 but tab, LF, FF and CR).
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


class UnsupportedFileType(AppError):
    """The content is none of the accepted file types (415)."""

    status = 415
    code = "unsupported_type"


class StoredFileDamaged(AppError):
    """A stored file is missing or no longer matches its recorded SHA-256 (500)."""

    status = 500
    code = "file_damaged"


@dataclass(frozen=True)
class FileKind:
    """An accepted type: its media type and file-name extensions (the first is the usual)."""

    name: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("pdf", "application/pdf", (".pdf",))
PNG = FileKind("png", "image/png", (".png",))
JPEG = FileKind("jpeg", "image/jpeg", (".jpg", ".jpeg"))
DOCX = FileKind(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
ODT = FileKind("odt", ODT_MIMETYPE.decode(), (".odt",))
UTF8_TEXT = FileKind("txt", "text/plain; charset=utf-8", (".txt",))
# Not UTF-8 (a Windows-1251 file, say): the browser must not guess a charset for it.
OTHER_TEXT = FileKind("txt", "text/plain", (".txt",))
ZIP = FileKind("zip", "application/zip", (".zip",))
KINDS = (PDF, PNG, JPEG, DOCX, ODT, UTF8_TEXT, ZIP)


class RoomFile(Base):
    """A file shared in a learner's thread of a live room, kept as evidence."""

    __tablename__ = "room_files"
    __table_args__ = (Index("ix_room_files_thread", "room", "learner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(80))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------- pure parts


def sniff(data: bytes) -> FileKind:
    """The accepted type of this content; 415 ``unsupported_type`` for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _archive_kind(data)
    if data and len(data.translate(None, CONTROL_BYTES)) == len(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return OTHER_TEXT
        return UTF8_TEXT
    accepted = ", ".join(kind.extensions[0].lstrip(".") for kind in KINDS)
    raise UnsupportedFileType(f"the file is not of an accepted type ({accepted})")


def _archive_kind(data: bytes) -> FileKind:
    """DOCX, ODT or a plain ZIP archive, told apart by the entries (nothing is unpacked
    but the few bytes of an ODT's ``mimetype``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    if entry.read(len(ODT_MIMETYPE) + 1) == ODT_MIMETYPE:
                        return ODT
            if {"[Content_Types].xml", "word/document.xml"} <= names:
                return DOCX
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError) as exc:
        raise UnsupportedFileType(
            f"the file looks like a ZIP archive but cannot be read: {exc}"
        ) from exc
    return ZIP


def display_name(raw: str) -> str:
    """A client's file name made safe to show and to offer for download: no directories,
    no control, formatting (bidi override) or reserved characters, at most
    :data:`MAX_NAME` characters with the extension kept; ``file`` when nothing is left."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(
        ch
        for ch in name
        if not unicodedata.category(ch).startswith("C") and ch not in FORBIDDEN_IN_NAMES
    )
    name = " ".join(name.split()).strip(". ")
    return _shorten(name) or "file"


def _shorten(name: str, limit: int = MAX_NAME) -> str:
    if len(name) <= limit:
        return name
    suffix = PurePosixPath(name).suffix
    if not 1 < len(suffix) <= 10:
        suffix = ""
    return name[: limit - len(suffix)].rstrip(". ") + suffix


def file_name(raw: str, kind: FileKind) -> str:
    """:func:`display_name` with the extension of the recognised type."""
    name = display_name(raw)
    if PurePosixPath(name).suffix.lower() in kind.extensions:
        return name
    return _shorten(name, MAX_NAME - len(kind.extensions[0])) + kind.extensions[0]


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\;%' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_json(row: RoomFile) -> dict[str, Any]:
    """What the API shows about a stored file (the download URL included)."""
    return {
        "file_id": row.id,
        "name": row.original_name,
        "size": row.size,
        "content_type": row.content_type,
        "sha256": row.sha256,
        "url": f"/api/rooms/{row.room}/files/{row.id}",
    }


# ---------------------------------------------------------------- storage


def _path(files_dir: Path, stored_path: str) -> Path:
    """The absolute path of a stored file, which must stay inside ``files_dir``."""
    root = files_dir.resolve()
    path = (root / stored_path).resolve()
    if not path.is_relative_to(root) or path == root:
        raise StoredFileDamaged(f"stored path {stored_path!r} leaves the file store")
    return path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


async def store_file(
    db: AsyncSession,
    files_dir: Path,
    room_id: str,
    learner_id: int,
    uploader: Identity,
    upload: Upload,
    now: datetime,
) -> RoomFile:
    """Recognise, write and record an uploaded file in a learner's thread; the upload goes
    to the audit log (``file.upload``) in the caller's transaction, which the caller
    commits (and on failure hands the row to :func:`discard_unsaved`)."""
    if not upload.data:
        raise Invalid(f"file {display_name(upload.filename)!r} is empty", field="file")
    kind = sniff(upload.data)
    # The room id was checked against the room pattern by the caller's access check.
    stored_path = f"{room_id}/{secrets.token_hex(16)}{kind.extensions[0]}"
    path = _path(files_dir, stored_path)
    row = RoomFile(
        room=room_id,
        learner_id=learner_id,
        uploader_id=uploader.user_id,
        original_name=file_name(upload.filename, kind),
        stored_path=stored_path,
        content_type=kind.content_type,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        uploaded_at=now,
    )
    await asyncio.to_thread(_write, path, upload.data)
    try:
        db.add(row)
        await db.flush()
        await audit.record(
            db,
            now,
            uploader.user_id,
            "file.upload",
            "room_file",
            row.id,
            room=room_id,
            learner=learner_id,
            name=row.original_name,
            size=row.size,
            sha256=row.sha256,
            content_type=row.content_type,
        )
    except BaseException:
        await discard_unsaved(files_dir, row)
        raise
    log.info(
        "user %s shared file %s (%s, %d bytes) with learner %s in room %s",
        uploader.user_id,
        row.id,
        kind.name,
        row.size,
        learner_id,
        room_id,
    )
    return row


async def discard_unsaved(files_dir: Path, row: RoomFile) -> None:
    """Remove the bytes of a file whose row was never committed (nothing refers to them)."""
    await asyncio.to_thread(_path(files_dir, row.stored_path).unlink, missing_ok=True)


async def verified_path(files_dir: Path, row: RoomFile) -> Path:
    """The path of a stored file whose content still matches its recorded SHA-256."""
    path = _path(files_dir, row.stored_path)
    try:
        digest = await asyncio.to_thread(_sha256_of, path)
    except FileNotFoundError:
        digest = ""
    if digest != row.sha256:
        log.error("file %s of room %s is missing or altered: %s", row.id, row.room, path)
        raise StoredFileDamaged(
            f"file {row.id} of room {row.room} is missing or damaged in storage"
        )
    return path


# ---------------------------------------------------------------- access


async def check_reader(db: AsyncSession, user: Identity, room_id: str) -> RoomRole | None:
    """Who may read a room's files: its participants (:func:`check_access`), and auditors
    of any existing room, read-only (None); 404 for a room that does not exist."""
    if user.role != Role.AUDITOR:
        return await check_access(db, user, room_id)
    try:
        await get_quiz(db, quiz_id_of_room(room_id))
    except NotFound:
        raise NotFound(f"room {room_id[:80]!r} does not exist") from None
    return None


async def readable_file(db: AsyncSession, user: Identity, room_id: str, file_id: int) -> RoomFile:
    """A file of the room that this user may download: a learner only from their own
    thread; the commission, support and auditors from every thread. 404 otherwise."""
    role = await check_reader(db, user, room_id)
    row = await db.get(RoomFile, file_id)
    if (
        row is None
        or row.room != room_id
        or (role is RoomRole.LEARNER and row.learner_id != user.user_id)
    ):
        raise NotFound(f"file {file_id} does not exist in room {room_id}")
    return row


# ---------------------------------------------------------------- retention


async def last_upload_times(db: AsyncSession) -> dict[str, datetime]:
    """Each room's latest shared file: with the other evidence it dates a session's end."""
    rows = await db.execute(
        select(RoomFile.room, func.max(RoomFile.uploaded_at)).group_by(RoomFile.room)
    )
    return {room: at for room, at in rows if at is not None}


async def delete_files(db: AsyncSession, room_id: str) -> list[str]:
    """Delete a room's file rows when their retention date passed (in the caller's
    transaction, after the messages that attach them); returns the stored paths this
    DELETE removed (none when another server process got there first), whose bytes
    :func:`remove_stored` removes once the transaction committed."""
    deleted = await db.scalars(
        delete(RoomFile).where(RoomFile.room == room_id).returning(RoomFile.stored_path)
    )
    return list(deleted.all())


def _remove(files_dir: Path, stored_paths: list[str]) -> None:
    folders = set()
    for stored_path in stored_paths:
        path = _path(files_dir, stored_path)
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in folders:
        if folder != files_dir.resolve() and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


async def remove_stored(files_dir: Path, stored_paths: list[str]) -> None:
    """Remove the bytes of deleted file rows, and a room's directory left empty."""
    await asyncio.to_thread(_remove, files_dir, stored_paths)
