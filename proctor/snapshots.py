"""JPEG thumbnails and identity-check captures, decoded from keyframes only.

The commission's grid needs a picture of every learner every few seconds; decoding every
frame of every stream for that would cost more than all the forwarding. A VP8 keyframe
decodes on its own, and the room asks publishers for one every few seconds anyway, so a
thumbnail is one keyframe through a fresh decoder, scaled and compressed with Pillow, in a
worker thread, and only when a newer keyframe than the cached one exists.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time

import av
from PIL import Image

from proctor.bypass import EncodedFrame
from proctor.room import MediaError, MediaRoom

log = logging.getLogger(__name__)


class SnapshotError(ValueError):
    """The frame cannot be turned into a picture (not a VP8 keyframe, or corrupt)."""


def keyframe_to_jpeg(frame: EncodedFrame, max_width: int | None = 320, quality: int = 70) -> bytes:
    """Decode one VP8 keyframe with a fresh decoder; JPEG at most ``max_width`` pixels
    wide (``None``: full resolution). CPU-bound: call it in a thread."""
    if frame.kind != "video" or frame.codec.upper() != "VP8" or not frame.keyframe:
        raise SnapshotError(f"a {frame.kind} {frame.codec} frame is not a VP8 keyframe")
    codec = av.CodecContext.create("vp8", "r")
    packet = av.Packet(frame.data)
    try:
        pictures = codec.decode(packet) or codec.decode(None)
    except av.FFmpegError as exc:
        raise SnapshotError(f"the keyframe does not decode: {exc}") from exc
    if not pictures:
        raise SnapshotError("the keyframe decoded to no picture")
    picture = pictures[0]
    if not isinstance(picture, av.VideoFrame):
        raise SnapshotError("the keyframe decoded to no picture")
    width, height = picture.width, picture.height
    if max_width is not None and width > max_width:
        height = max(2, round(height * max_width / width / 2) * 2)
        width = max_width
    plane = picture.reformat(width=width, height=height, format="rgb24").planes[0]
    image = Image.frombuffer(
        "RGB", (plane.width, plane.height), bytes(plane), "raw", "RGB", plane.line_size, 1
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=False)
    return out.getvalue()


class Thumbnails:
    """Thumbnails per publisher, re-decoded only when a newer keyframe exists; and
    full-size captures for identity checks. Lives on the app next to the rooms."""

    def __init__(self, max_width: int = 320, quality: int = 70, capture_quality: int = 90) -> None:
        self.max_width = max_width
        self.quality = quality
        self.capture_quality = capture_quality
        self._cache: dict[tuple[str, str], tuple[EncodedFrame, bytes]] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[bytes]] = {}
        self.decodes = 0

    async def thumbnail(self, room: MediaRoom, publisher_id: str) -> bytes | None:
        """A JPEG of the publisher's latest keyframe (``None`` before the first one)."""
        key = (room.room_id, publisher_id)
        frame = room.last_keyframe(publisher_id)
        if frame is None:
            self._cache.pop(key, None)
            return None
        cached = self._cache.get(key)
        if cached is not None and cached[0] is frame:
            return cached[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            jpeg = await asyncio.to_thread(keyframe_to_jpeg, frame, self.max_width, self.quality)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: only concurrent waiters re-raise it
            raise
        else:
            future.set_result(jpeg)
        finally:
            del self._pending[key]
        self.decodes += 1
        self._cache[key] = (frame, jpeg)
        return jpeg

    def cached_keyframe(self, room: MediaRoom, publisher_id: str) -> EncodedFrame | None:
        """The keyframe the cached thumbnail was made from."""
        cached = self._cache.get((room.room_id, publisher_id))
        return cached[0] if cached is not None else None

    async def capture(
        self, room: MediaRoom, publisher_id: str, *, wait: float = 1.5
    ) -> bytes | None:
        """A full-resolution JPEG for an identity check: asks the publisher for a fresh
        keyframe and waits up to ``wait`` seconds for it, else uses the latest one."""
        loop = asyncio.get_running_loop()
        fresh: asyncio.Future[EncodedFrame] = loop.create_future()

        def on_frame(frame: EncodedFrame) -> None:
            if frame.kind == "video" and frame.keyframe and not fresh.done():
                fresh.set_result(frame)

        try:
            remove = room.add_frame_listener(publisher_id, on_frame)
        except MediaError:
            return None
        started = time.monotonic()
        try:
            room.request_keyframe(publisher_id)
            frame = await asyncio.wait_for(fresh, wait)
        except TimeoutError:
            latest = room.last_keyframe(publisher_id)
            if latest is None:
                return None
            log.info(
                "room %s: no fresh keyframe of %s within %.1f s, capturing the latest",
                room.room_id,
                publisher_id,
                wait,
            )
            frame = latest
        finally:
            remove()
        jpeg = await asyncio.to_thread(keyframe_to_jpeg, frame, None, self.capture_quality)
        log.info(
            "room %s: captured %s (%d bytes, %.2f s)",
            room.room_id,
            publisher_id,
            len(jpeg),
            time.monotonic() - started,
        )
        return jpeg

    def forget(self, room_id: str, publisher_id: str | None = None) -> None:
        """Drop cached thumbnails of a publisher (or of a whole room)."""
        for key in [k for k in self._cache if k[0] == room_id]:
            if publisher_id is None or key[1] == publisher_id:
                del self._cache[key]
