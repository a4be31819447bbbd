"""Replay: the session page, its timeline, the media with Range, the evidence bundle.

Only auditors, admins and the commission may replay a session; learners (and everyone
else) get 403, an unknown session 404. Opening a replay and downloading a bundle are
written to the audit log.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from proctor.access import quiz_id_of_room
from quiz.quizzes import get_quiz
from recordings.manifest import files_of, manifest
from recordings.models import RecordingFile
from recordings.retention import set_legal_hold
from recordings.service import STORE, policy_of
from recordings.storage import RecordingStore
from recordings.timeline import timeline
from server import audit
from server.access import path_int, read_json, require_user
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from server.errors import BadRequest, NotFound
from server.pages import render
from server.sessions import Identity
from server.users import Role

routes = web.RouteTableDef()

REPLAYERS = frozenset({Role.AUDITOR, Role.ADMIN, Role.COMMISSION})
MAX_REASON = 2000


async def replay_access(db: AsyncSession, user: Identity, room_id: str) -> None:
    """Whether ``user`` may replay the session: 404 for an unknown one. The role check
    (403) happens first, so a learner learns nothing about which sessions exist."""
    test_id = quiz_id_of_room(room_id)
    try:
        await get_quiz(db, test_id)
    except NotFound:
        raise NotFound(f"session {room_id} does not exist") from None


async def _open(request: web.Request) -> tuple[Identity, str]:
    user = require_user(request, REPLAYERS)
    room_id = request.match_info["room"]
    async with request.app[SESSIONS]() as db:
        await replay_access(db, user, room_id)
    return user, room_id


async def _audit(
    request: web.Request, user: Identity, action: str, room_id: str, **details: Any
) -> None:
    async with request.app[SESSIONS]() as db:
        await audit.record(
            db, request.app[CLOCK].now(), user.user_id, action, "session", room_id, **details
        )
        await db.commit()


@routes.get("/recordings/{room}")
async def replay_page(request: web.Request) -> web.StreamResponse:
    """The replay page (every opening is audited)."""
    user, room_id = await _open(request)
    await _audit(request, user, "recordings.replay", room_id)
    return render(request, "replay.html", params={"room": room_id})


@routes.get("/api/recordings/{room}/timeline")
async def timeline_api(request: web.Request) -> web.Response:
    """The session's videos and evidence items with offsets."""
    _, room_id = await _open(request)
    async with request.app[SESSIONS]() as db:
        body = await timeline(db, room_id)
    return web.json_response(body)


@routes.get("/api/recordings/{room}/manifest")
async def manifest_api(request: web.Request) -> web.Response:
    """The session's manifest (files, hashes, retention, hold)."""
    _, room_id = await _open(request)
    async with request.app[SESSIONS]() as db:
        body = await manifest(db, room_id, policy_of(request.app[SETTINGS]))
    return web.json_response(body)


async def _file(request: web.Request, room_id: str) -> RecordingFile:
    file_id = path_int(request, "file_id")
    async with request.app[SESSIONS]() as db:
        row = await db.get(RecordingFile, file_id)
    if row is None or row.room != room_id or row.deleted_at is not None:
        raise NotFound(f"recording {file_id} of session {room_id} does not exist")
    return row


def _range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end exclusive)`` of a single ``bytes=`` range; None if unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        raise BadRequest(f"Range {header[:60]!r} is not a single byte range", code="bad_range")
    first, _, last = spec.strip().partition("-")
    try:
        if first:
            start = int(first)
            end = int(last) + 1 if last else size
        else:
            start, end = max(0, size - int(last)), size
    except ValueError:
        raise BadRequest(f"Range {header[:60]!r} is malformed", code="bad_range") from None
    end = min(end, size)
    return (start, end) if 0 <= start < end else None


@routes.get("/api/recordings/{room}/files/{file_id}")
async def media(request: web.Request) -> web.StreamResponse:
    """One recording, with HTTP Range (local files directly, S3 by proxying the range)."""
    _, room_id = await _open(request)
    row = await _file(request, room_id)
    store = request.app[STORE]
    headers = {"Cache-Control": "private, no-store", "Content-Type": "video/webm"}
    path = store.local_path(row.storage_key)
    if path is not None:
        if not path.is_file():
            raise NotFound(f"recording {row.id} is missing from the store")
        return web.FileResponse(path, headers=headers)
    size = await store.size(row.storage_key)
    start, end, status = 0, size, 200
    if "Range" in request.headers:
        span = _range(request.headers["Range"], size)
        if span is None:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        (start, end), status = span, 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Accept-Ranges"] = "bytes"
    headers["Content-Length"] = str(end - start)
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    async for chunk in store.read(row.storage_key, start, end):
        await response.write(chunk)
    await response.write_eof()
    return response


async def build_bundle(
    store: RecordingStore, rows: list[RecordingFile], documents: dict[str, Any], target: Path
) -> None:
    """A zip of the session's recordings and its JSON documents (manifest, timeline)."""
    archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
    try:
        for name, body in documents.items():
            data = json.dumps(body, ensure_ascii=False, indent=2).encode()
            await asyncio.to_thread(archive.writestr, name, data)
        for row in rows:
            name = "recordings/" + row.storage_key.rsplit("/", 1)[-1]
            with archive.open(name, "w", force_zip64=True) as entry:
                async for chunk in store.read(row.storage_key):
                    await asyncio.to_thread(entry.write, chunk)
    finally:
        archive.close()


@routes.get("/api/recordings/{room}/bundle")
async def bundle(request: web.Request) -> web.StreamResponse:
    """The evidence bundle for an appeal: recordings + manifest + timeline (audited)."""
    user, room_id = await _open(request)
    async with request.app[SESSIONS]() as db:
        body = await manifest(db, room_id, policy_of(request.app[SETTINGS]))
        events = await timeline(db, room_id)
        rows = await files_of(db, room_id)
    await _audit(request, user, "recordings.download", room_id, files=len(rows))
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        target = Path(tmp) / "bundle.zip"
        await build_bundle(
            request.app[STORE], rows, {"manifest.json": body, "timeline.json": events}, target
        )
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{room_id}-evidence.zip"',
                "Cache-Control": "private, no-store",
                "Content-Length": str(target.stat().st_size),
            }
        )
        await response.prepare(request)
        with target.open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, 256 * 1024):
                await response.write(chunk)
        await response.write_eof()
        return response


@routes.post("/api/recordings/{room}/hold")
async def hold(request: web.Request) -> web.Response:
    """Put the session on legal hold (admins; the appeal workflow calls the service)."""
    user = require_user(request, {Role.ADMIN})
    room_id = request.match_info["room"]
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise BadRequest("reason must be a non-empty text", code="bad_reason")
    async with request.app[SESSIONS]() as db:
        await replay_access(db, user, room_id)
        await set_legal_hold(db, room_id, reason.strip(), request.app[CLOCK].now(), user.user_id)
        await db.commit()
    return web.json_response({"ok": True, "session": room_id, "legal_hold": reason.strip()})
