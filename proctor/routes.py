"""The live rooms' HTTP API under ``/api/rooms/``: ICE servers, thumbnails, captures,
the files learners and the commission exchange (:mod:`proctor.files`), and the evidence
of identity checks and monitoring (:mod:`proctor.identity`, :mod:`proctor.monitoring`).

Thumbnails and captures are served to the room's participants only: their access was
checked (and support's entry audited) when they joined over ``/proctor``, so a grid
that refreshes thirty thumbnails every few seconds costs no database work. Like the
room's media, these requests must reach the process that holds the room (rooms are
sharded by process; the load balancer keeps ``/api/rooms/<room>`` on it).
"""

from __future__ import annotations

from aiohttp import web

from proctor import chat, files, identity, monitoring
from proctor.access import (
    VIEWERS,
    Participant,
    RoomRole,
    check_access,
    may_capture,
    participant_id,
)
from proctor.evidence import EVIDENCE
from proctor.ice import ice_servers_for
from proctor.namespace import PROCTOR_NS, thread_rooms
from proctor.room import MediaRoom
from server.access import path_int, require_user
from server.appkeys import CLOCK, ROOMS, ROSTER, SESSIONS, SETTINGS, SIO, THUMBNAILS
from server.errors import Forbidden, NotFound
from server.uploads import read_upload
from server.users import Role

routes = web.RouteTableDef()

JPEG_HEADERS = {"Cache-Control": "no-store"}
THUMBNAIL_ROLES = frozenset({Role.COMMISSION, Role.ADMIN, Role.SUPPORT})
# Learners capture their own stream only (checked against the room's participant).
CAPTURE_ROLES = frozenset({Role.COMMISSION, Role.ADMIN, Role.LEARNER})
# Files: the room's people share them; auditors read them as evidence but never write.
FILE_SENDERS = frozenset({Role.LEARNER, Role.COMMISSION, Role.ADMIN, Role.SUPPORT})
FILE_READERS = FILE_SENDERS | {Role.AUDITOR}


def _live(request: web.Request, roles: frozenset[str]) -> tuple[str, MediaRoom, Participant, str]:
    """The live room of the request, the requester's place in it, and the publisher named;
    roles outside ``roles`` are refused before anything about the room is looked up."""
    user = require_user(request, roles)
    room_id = request.match_info["room"]
    room = request.app[ROOMS].find(room_id)
    if room is None:
        raise NotFound(f"room {room_id[:80]!r} is not live")
    me = request.app[ROSTER].get(room_id, participant_id(user.user_id))
    if me is None:
        raise Forbidden(f"join room {room_id} first", code="not_joined")
    return room_id, room, me, request.match_info["participant"]


def _require_publisher(room: MediaRoom, room_id: str, publisher: str) -> None:
    if not any(info.participant_id == publisher for info in room.publishers()):
        raise NotFound(
            f"publisher {publisher[:80]!r} is not in room {room_id}", code="unknown_publisher"
        )


def _jpeg(data: bytes | None, room_id: str, publisher: str) -> web.Response:
    if data is None:
        raise NotFound(
            f"publisher {publisher} in room {room_id} has sent no keyframe yet",
            code="no_keyframe",
        )
    return web.Response(body=data, content_type="image/jpeg", headers=JPEG_HEADERS)


@routes.get("/api/rooms/{room}/ice")
async def ice_servers(request: web.Request) -> web.Response:
    """The ICE servers (STUN, TURN with fresh credentials) for the user's peer connections."""
    user = require_user(request)
    room_id = request.match_info["room"]
    async with request.app[SESSIONS]() as db:
        await check_access(db, user, room_id)
    now = request.app[CLOCK].now()
    return web.json_response(
        {"ice_servers": ice_servers_for(request.app[SETTINGS], user.user_id, now)}
    )


@routes.get("/api/rooms/{room}/publishers/{participant}/thumbnail.jpg")
async def thumbnail(request: web.Request) -> web.Response:
    """The publisher's latest thumbnail for the commission's grid (never cached)."""
    room_id, room, me, publisher = _live(request, THUMBNAIL_ROLES)
    if me.role not in VIEWERS:
        raise Forbidden(f"a {me.role} does not see the thumbnails of room {room_id}")
    _require_publisher(room, room_id, publisher)
    return _jpeg(await request.app[THUMBNAILS].thumbnail(room, publisher), room_id, publisher)


@routes.post("/api/rooms/{room}/publishers/{participant}/capture")
async def capture(request: web.Request) -> web.Response:
    """A full-size snapshot of the publisher's video now (identity check, room view)."""
    room_id, room, me, publisher = _live(request, CAPTURE_ROLES)
    if not may_capture(me.role, own_stream=publisher == me.participant_id):
        raise Forbidden(f"a {me.role} may not capture {publisher[:80]} in room {room_id}")
    _require_publisher(room, room_id, publisher)
    return _jpeg(await request.app[THUMBNAILS].capture(room, publisher), room_id, publisher)


@routes.post("/api/rooms/{room}/files")
async def upload_file(request: web.Request) -> web.Response:
    """Share a file in a learner's thread (multipart ``file``; staff name the ``learner``);
    it is stored as evidence and posted in the thread as an attachment."""
    user = require_user(request, FILE_SENDERS)
    room_id = request.match_info["room"]
    async with request.app[SESSIONS]() as db:
        role = await check_access(db, user, room_id)  # before a byte of the body is read
    upload = await read_upload(request)
    files_dir = request.app[SETTINGS].files_dir
    async with request.app[SESSIONS]() as db:
        learner = await chat.thread_of(
            db, room_id, user, role, chat.user_id_field(upload.fields, "learner")
        )
        stored, posted = await chat.share_file(
            db, files_dir, room_id, learner, user, upload, request.app[CLOCK].now()
        )
        try:
            await db.commit()
        except BaseException:
            await files.discard_unsaved(files_dir, stored)
            raise
    await request.app[SIO].emit(
        "chat_message",
        posted.json,
        room=thread_rooms(request.app[ROSTER], room_id, learner),
        namespace=PROCTOR_NS,
    )
    return web.json_response(
        {**files.file_json(stored), "message_id": posted.message.id}, status=201
    )


@routes.get("/api/rooms/{room}/files/{file_id}")
async def download_file(request: web.Request) -> web.StreamResponse:
    """A file of the room, as an attachment that browsers never render or sniff: for its
    thread's learner, the room's commission and support, and auditors."""
    user = require_user(request, FILE_READERS)
    room_id = request.match_info["room"]
    file_id = path_int(request, "file_id")
    async with request.app[SESSIONS]() as db:
        stored = await files.readable_file(db, user, room_id, file_id)
    path = await files.verified_path(request.app[SETTINGS].files_dir, stored)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": stored.content_type,
            "Content-Disposition": files.content_disposition(stored.original_name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# Evidence of the identity check and the monitoring: read from the database, so on any
# process, and by auditors too (they never join live but review); learners see their own.
EVIDENCE_READERS = frozenset(
    {Role.LEARNER, Role.COMMISSION, Role.ADMIN, Role.SUPPORT, Role.AUDITOR}
)
EVENT_READERS = EVIDENCE_READERS - {Role.LEARNER}


@routes.get("/api/rooms/{room}/snapshots/{snapshot_id}.jpg")
async def snapshot_file(request: web.Request) -> web.Response:
    """An identity-check or room-view snapshot (checked against its recorded SHA-256)."""
    user = require_user(request, EVIDENCE_READERS)
    room_id = request.match_info["room"]
    snapshot_id = path_int(request, "snapshot_id")
    async with request.app[SESSIONS]() as db:
        role = await identity.evidence_access(db, user, room_id)
        snapshot = await identity.get_snapshot(db, room_id, snapshot_id)
    if role is RoomRole.LEARNER and snapshot.learner_id != user.user_id:
        raise NotFound(f"snapshot {snapshot_id} of room {room_id} does not exist")
    data = await request.app[EVIDENCE].read(snapshot.path, snapshot.sha256)
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="snapshot-{snapshot.id}.jpg"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.get("/api/rooms/{room}/identity")
async def room_identity(request: web.Request) -> web.Response:
    """Each learner's identity check in the room: status, decision, snapshots (a learner:
    their own only)."""
    user = require_user(request, EVIDENCE_READERS)
    room_id = request.match_info["room"]
    async with request.app[SESSIONS]() as db:
        role = await identity.evidence_access(db, user, room_id)
        if role is RoomRole.LEARNER:
            learners = [await identity.identity_json(db, room_id, user.user_id)]
        else:
            present = {
                person.user_id: person.name
                for person in request.app[ROSTER].participants(room_id)
                if person.role is RoomRole.LEARNER
            }
            learners = await identity.room_identities(db, room_id, present)
    mode = request.app[SETTINGS].identity_check
    return web.json_response({"room": room_id, "identity_check": mode, "learners": learners})


@routes.get("/api/rooms/{room}/events")
async def room_events(request: web.Request) -> web.Response:
    """The room's monitoring events, oldest first (commission, support, admin, auditors)."""
    user = require_user(request, EVENT_READERS)
    room_id = request.match_info["room"]
    async with request.app[SESSIONS]() as db:
        await identity.evidence_access(db, user, room_id)
        events = await monitoring.events_of_room(db, room_id)
    return web.json_response(
        {"room": room_id, "events": [monitoring.event_json(e) for e in events]}
    )
