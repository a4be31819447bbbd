"""The recorder muxes a real aiortc publisher's encoded frames into playable WebM."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from datetime import timedelta

import av
import pytest

from proctor.room import MediaRoom
from recordings.recorder import Recorder
from recordings.webm import WebmWriter, probe
from tests.proctor.conftest import Peers
from tests.proctor.media import digest, is_subsequence, wait_for
from tests.recordings.conftest import Collected


def _packets(path: object) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                found[packet.stream.type].append(digest(bytes(packet)))
    return found


async def test_recording_decodes_with_both_tracks_and_the_published_bytes(
    room: MediaRoom, peers: Peers, recorder: Recorder, collected: Collected
) -> None:
    publisher = await peers.publish(room, "u7")
    started = time.monotonic()
    await asyncio.sleep(3.0)
    await room.leave("u7")
    elapsed = time.monotonic() - started
    await wait_for(lambda: collected.segments, what="the segment handed over for sealing")
    [segment] = collected.segments
    assert segment.room_id == "test-1" and segment.participant_id == "u7"
    assert segment.kinds == {"video", "audio"}
    info = probe(segment.path, decode=True)
    assert info.kinds == {"video", "audio"}
    assert (info.width, info.height) == (640, 480)
    # From the first keyframe after publishing to the leave: within a second of the wall time.
    assert elapsed - 1.5 <= info.duration <= elapsed + 0.5, (info.duration, elapsed)
    assert segment.ended_at is not None
    span = (segment.ended_at - segment.started_at).total_seconds()
    assert abs(span - info.duration) < 0.2
    recorded = _packets(segment.path)
    # Nearly every frame (a loaded machine may make the jitter buffer drop a few).
    assert len(recorded["video"]) >= 0.8 * 15 * info.duration, len(recorded["video"])
    assert len(recorded["audio"]) >= 0.8 * 50 * info.duration, len(recorded["audio"])
    assert is_subsequence(recorded["video"], publisher.video.sent)
    assert is_subsequence(recorded["audio"], publisher.audio.sent)
    with av.open(str(segment.path)) as container:
        first = next(p for p in container.demux(video=0) if p.size)
        assert first.is_keyframe


async def test_audio_and_video_start_together(
    room: MediaRoom, peers: Peers, recorder: Recorder, collected: Collected
) -> None:
    await peers.publish(room, "u7")
    await asyncio.sleep(2.0)
    await room.leave("u7")
    await wait_for(lambda: collected.segments, what="the segment")
    starts: dict[str, float] = {}
    with av.open(str(collected.segments[0].path)) as container:
        for packet in container.demux():
            if packet.size and packet.pts is not None and packet.time_base is not None:
                starts.setdefault(packet.stream.type, float(packet.pts * packet.time_base))
    assert starts["video"] == 0.0
    # The publisher sends both from the same instant: their first recorded frames are
    # within a frame interval or two of each other on the common clock.
    assert abs(starts["audio"] - starts["video"]) < 0.15, starts


async def test_segments_roll_over_on_keyframes_and_on_reconnect(
    room: MediaRoom, peers: Peers, recorder: Recorder, collected: Collected
) -> None:
    recorder.segment_seconds = 1.5
    await peers.publish(room, "u7")
    await asyncio.sleep(3.5)
    await peers.publish(room, "u7")  # the same participant publishes again: a reconnect
    await asyncio.sleep(1.0)
    await room.leave("u7")
    await wait_for(
        lambda: (
            any(s.reason == "reconnect" for s in collected.segments)
            and len(collected.segments) >= 3
        ),
        what="segments of both connections",
    )
    reasons = [s.reason for s in collected.segments]
    assert reasons[0] == "start" and "rollover" in reasons and reasons[-1] == "reconnect"
    for segment in collected.segments:
        assert segment.ended_at is not None and segment.ended_at > segment.started_at
        with av.open(str(segment.path)) as container:
            first = next(p for p in container.demux(video=0) if p.size)
            assert first.is_keyframe and first.pts == 0
    ordered = sorted(collected.segments, key=lambda s: s.started_at)
    for before, after in itertools.pairwise(ordered):
        assert after.started_at >= before.ended_at - timedelta(milliseconds=100)


async def test_muxing_never_runs_on_the_event_loop(
    room: MediaRoom,
    peers: Peers,
    recorder: Recorder,
    collected: Collected,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The frame listener only timestamps and queues: every WebM write happens on the
    writer thread, none on the loop (its cost is measured in bench/recording_cost.py)."""
    loop_thread = threading.get_ident()
    threads: list[int] = []
    original = WebmWriter.write

    def spy(self: WebmWriter, kind: str, data: bytes, pts_ms: int, keyframe: bool) -> bool:
        threads.append(threading.get_ident())
        return original(self, kind, data, pts_ms, keyframe)

    monkeypatch.setattr(WebmWriter, "write", spy)
    await peers.publish(room, "u7")
    assert recorder.recording("test-1", "u7") is not None
    await asyncio.sleep(2.0)
    await room.leave("u7")
    assert len(threads) > 50
    assert loop_thread not in threads
