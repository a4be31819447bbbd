"""The live rooms' HTTP API under ``/api/rooms/``: ICE servers, thumbnails, captures.

Thumbnails and captures are served to the room's participants only: their access was
checked (and support's entry audited) when they joined over ``/proctor``, so a grid
that refreshes thirty thumbnails every few seconds costs no database work. Like the
room's media, these requests must reach the process that holds the room (rooms are
sharded by process; the load balancer keeps ``/api/rooms/<room>`` on it).
"""

from __future__ import annotations

from aiohttp import web

from proctor.access import (
    VIEWERS,
    Participant,
    check_access,
    may_capture,
    participant_id,
)
from proctor.ice import ice_servers_for
from proctor.room import MediaRoom
from server.access import require_user
from server.appkeys import CLOCK, ROOMS, ROSTER, SESSIONS, SETTINGS, THUMBNAILS
from server.errors import Forbidden, NotFound
from server.users import Role

routes = web.RouteTableDef()

JPEG_HEADERS = {"Cache-Control": "no-store"}
THUMBNAIL_ROLES = frozenset({Role.COMMISSION, Role.ADMIN, Role.SUPPORT})
# Learners capture their own stream only (checked against the room's participant).
CAPTURE_ROLES = frozenset({Role.COMMISSION, Role.ADMIN, Role.LEARNER})


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
