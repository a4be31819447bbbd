#!/usr/bin/env python3
"""The baseline of the media benchmark: a minimal room server on *stock* aiortc.

    python bench/media_baseline.py --port 8123 [--host 127.0.0.1]

What ARCHITECTURE.md ("Media plane") compares the SFU with: every publisher's tracks go
through aiortc's stock ``RTCRtpReceiver`` (which always decodes: VP8 → pictures, Opus →
PCM), and every viewer is fed through ``aiortc.contrib.media.MediaRelay``, so each viewer's
``RTCRtpSender`` re-encodes the pictures and samples (VP8, Opus). Nothing of
``proctor/`` is used here (not the decoder bypass, not the forwarding tracks).

Its signaling has the shape of examroom's, so the load generator drives both servers with
the same client code (bench/media_clients.py ``Person``):

- ``POST /api/login`` {username, password} → session cookie ``examroom_session`` (anyone
  with any password: there is no database);
- socket.io namespace ``/proctor``: ``join`` {room} → {ok, participant_id, ice_servers: []},
  ``publish`` {room, sdp, type} → answer, ``subscribe`` {room, publisher, sdp, type} →
  answer, ``leave`` {room};
- ``GET /api/rooms/<room>/publishers/<pid>/thumbnail.jpg``: the publisher's latest
  decoded picture, scaled to 320 px and compressed with Pillow (the stock way to make the
  commission's grid: the pictures are decoded anyway).

Choices that keep the baseline bounded rather than weaker: video is relayed with
``MediaRelay.subscribe(..., buffered=False)`` (a viewer whose encoder falls behind gets the
newest picture instead of an unbounded queue of 460 KB pictures), audio with the default
``buffered=True`` (unbuffered, the bursts of the audio jitter buffer lose ~15 % of it);
one consumer per published track keeps the newest picture for thumbnails (without one,
the stock receiver's decoded frames pile up).
Access control is not checked (the SFU's costs one DB query per join, outside the window).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import av
import socketio
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from PIL import Image

log = logging.getLogger("media_baseline")
NS = "/proctor"
COOKIE = "examroom_session"
CODECS = {"video": ("video/vp8", "video/rtx"), "audio": ("audio/opus",)}


def preferences(kind: str) -> list[Any]:
    return [
        c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in CODECS[kind]
    ]


@dataclass
class Publisher:
    pc: RTCPeerConnection
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)
    latest: av.VideoFrame | None = None
    sinks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class Room:
    publishers: dict[str, Publisher] = field(default_factory=dict)
    viewers: dict[tuple[str, str], RTCPeerConnection] = field(default_factory=dict)


class Baseline:
    def __init__(self) -> None:
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
        self.relay = MediaRelay()
        self.rooms: dict[str, Room] = {}
        self.sessions: dict[str, str] = {}  # cookie → username
        self.users: dict[str, str] = {}  # sid → username
        self.ice = RTCConfiguration(iceServers=[])  # never aiortc's public STUN fallback
        for name in ("connect", "disconnect", "join", "publish", "subscribe", "leave"):
            self.sio.on(name, getattr(self, f"on_{name}"), namespace=NS)

    # -- HTTP ---------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        username = str(body.get("username", ""))
        token = secrets.token_urlsafe(16)
        self.sessions[token] = username
        response = web.json_response({"csrf_token": "-", "user": {"username": username}})
        response.set_cookie(COOKIE, token, httponly=True, path="/")
        return response

    async def thumbnail(self, request: web.Request) -> web.Response:
        room = self.rooms.get(request.match_info["room"])
        pub = room.publishers.get(request.match_info["participant"]) if room else None
        if pub is None or pub.latest is None:
            return web.json_response({"error": "no_picture"}, status=404)
        jpeg = await asyncio.to_thread(to_jpeg, pub.latest)
        return web.Response(body=jpeg, content_type="image/jpeg")

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    # -- signaling ------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        token = cookie[COOKIE].value if COOKIE in cookie else ""
        if token not in self.sessions:
            raise socketio.exceptions.ConnectionRefusedError("unauthenticated")
        self.users[sid] = self.sessions[token]

    async def on_disconnect(self, sid: str, *_: Any) -> None:
        self.users.pop(sid, None)

    async def on_join(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room_id = str(data["room"])
        self.rooms.setdefault(room_id, Room())
        return {
            "ok": True,
            "room": room_id,
            "participant_id": f"p-{self.users[sid]}",
            "role": "any",
            "ice_servers": [],
            "publishers": [],
        }

    async def on_publish(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = self.rooms[str(data["room"])]
        pid = f"p-{self.users[sid]}"
        pc = RTCPeerConnection(self.ice)
        pub = Publisher(pc)
        old = room.publishers.get(pid)
        room.publishers[pid] = pub
        if old is not None:
            await close_publisher(old)
        offer = RTCSessionDescription(sdp=data["sdp"], type=data["type"])

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            pub.tracks[track.kind] = track
            # The stock receiver decodes; someone must read its pictures: keep the newest.
            pub.sinks.append(asyncio.ensure_future(sink(pub, self.relay.subscribe(track, False))))

        await pc.setRemoteDescription(offer)
        for transceiver in pc.getTransceivers():
            transceiver.setCodecPreferences(preferences(transceiver.kind))
        await pc.setLocalDescription(await pc.createAnswer())
        return {"sdp": pc.localDescription.sdp, "type": "answer"}

    async def on_subscribe(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = self.rooms[str(data["room"])]
        viewer = f"p-{self.users[sid]}"
        pub = room.publishers.get(str(data["publisher"]))
        if pub is None:
            return {"error": "unknown_publisher", "message": "no such publisher"}
        for _ in range(100):  # the publisher's tracks appear once its offer was applied
            if len(pub.tracks) == 2:
                break
            await asyncio.sleep(0.05)
        key = (viewer, str(data["publisher"]))
        old = room.viewers.pop(key, None)
        if old is not None:
            await old.close()
        pc = RTCPeerConnection(self.ice)
        room.viewers[key] = pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type=data["type"]))
        for kind in ("video", "audio"):
            source = pub.tracks.get(kind)
            if source is not None:
                # As aiortc's own examples do: one relayed proxy per viewer, re-encoded by
                # that viewer's sender.
                pc.addTrack(self.relay.subscribe(source, buffered=kind == "audio"))
        for transceiver in pc.getTransceivers():
            transceiver.setCodecPreferences(preferences(transceiver.kind))
        await pc.setLocalDescription(await pc.createAnswer())
        return {"sdp": pc.localDescription.sdp, "type": "answer"}

    async def on_leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = self.rooms.get(str(data["room"]))
        pid = f"p-{self.users.get(sid)}"
        if room is not None:
            for key in [k for k in room.viewers if pid in k]:
                await room.viewers.pop(key).close()
            pub = room.publishers.pop(pid, None)
            if pub is not None:
                await close_publisher(pub)
        return {"ok": True}

    async def close(self, _app: web.Application) -> None:
        for room in self.rooms.values():
            for pc in room.viewers.values():
                await pc.close()
            for pub in room.publishers.values():
                await close_publisher(pub)

    def app(self) -> web.Application:
        app = web.Application()
        self.sio.attach(app)
        app.router.add_post("/api/login", self.login)
        app.router.add_get("/healthz", self.health)
        app.router.add_get(
            "/api/rooms/{room}/publishers/{participant}/thumbnail.jpg", self.thumbnail
        )
        app.on_shutdown.append(self.close)
        return app


async def sink(pub: Publisher, track: MediaStreamTrack) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, av.VideoFrame):
            pub.latest = frame


async def close_publisher(pub: Publisher) -> None:
    await pub.pc.close()
    for task in pub.sinks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*pub.sinks, return_exceptions=True)


def to_jpeg(frame: av.VideoFrame, max_width: int = 320, quality: int = 70) -> bytes:
    height = max(2, round(frame.height * max_width / frame.width / 2) * 2)
    image: Image.Image = frame.to_image(width=max_width, height=height)  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    web.run_app(Baseline().app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
