"""Thumbnails and identity-check captures from keyframes, decoded only when needed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from proctor.bypass import EncodedFrame
from proctor.room import MediaRoom
from proctor.snapshots import SnapshotError, Thumbnails, keyframe_to_jpeg
from tests.proctor.conftest import Peers
from tests.proctor.media import HEIGHT, WIDTH, Clip, wait_for


def size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        image.load()
        return image.size


def test_keyframe_to_jpeg_scales_down_and_keeps_full_size_on_request(clip: Clip) -> None:
    data, key = clip.video[0]
    assert key
    frame = EncodedFrame(data, 0, True, "video", "VP8")
    assert size(keyframe_to_jpeg(frame)) == (320, 240)
    assert size(keyframe_to_jpeg(frame, max_width=None, quality=90)) == (WIDTH, HEIGHT)


def test_a_delta_frame_or_audio_is_refused(clip: Clip) -> None:
    data, key = clip.video[1]
    assert not key
    with pytest.raises(SnapshotError):
        keyframe_to_jpeg(EncodedFrame(data, 0, False, "video", "VP8"))
    with pytest.raises(SnapshotError):
        keyframe_to_jpeg(EncodedFrame(clip.audio[0], 0, True, "audio", "opus"))


async def test_thumbnail_is_cached_until_a_newer_keyframe(peers: Peers, room: MediaRoom) -> None:
    thumbnails = Thumbnails()
    assert await thumbnails.thumbnail(room, "learner") is None
    publisher = await peers.publish(room, "learner")
    await wait_for(lambda: room.last_keyframe("learner") is not None, what="a keyframe")

    # A frozen camera: no newer keyframe, so no more decoding.
    publisher.video.pause()
    await wait_for(lambda: not room.publishers()[0].video_live, within=8, what="video stopped")
    first = await thumbnails.thumbnail(room, "learner")
    assert first is not None and size(first)[0] <= 320 and size(first) == (320, 240)
    assert thumbnails.decodes == 1
    for _ in range(3):
        assert await thumbnails.thumbnail(room, "learner") is first
    assert thumbnails.decodes == 1

    publisher.video.resume()
    cached = thumbnails.cached_keyframe(room, "learner")
    await wait_for(lambda: room.last_keyframe("learner") is not cached, what="a newer keyframe")
    assert await thumbnails.thumbnail(room, "learner") is not None
    assert thumbnails.decodes == 2


async def test_capture_is_full_size_from_a_fresh_keyframe(peers: Peers, room: MediaRoom) -> None:
    thumbnails = Thumbnails()
    assert await thumbnails.capture(room, "nobody") is None
    publisher = await peers.publish(room, "learner")
    await wait_for(lambda: room.publishers()[0].keyframe_requests >= 1, what="connect PLI")
    asked = publisher.video.keyframe_requests
    sent = room.publishers()[0].keyframe_requests
    jpeg = await thumbnails.capture(room, "learner")
    assert jpeg is not None and size(jpeg) == (WIDTH, HEIGHT)
    assert room.publishers()[0].keyframe_requests > sent, "capture asks for a fresh keyframe"
    await wait_for(lambda: publisher.video.keyframe_requests > asked, what="PLI at the learner")
