"""The room's receive path without aiortc's decoder thread: frames reach the room on the
event loop, complete frames leave the jitter buffer at once, no bandwidth estimation and
no abs-send-time, the cheap NTP clock, and the guard that names each of these hook points
when an aiortc upgrade moves them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import aiortc.clock
import aiortc.rtcrtpreceiver
import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from proctor.bypass import (
    ABS_SEND_TIME,
    BypassUnavailable,
    LoopFrameQueue,
    PromptJitterBuffer,
    fast_ntp_time,
    inline_aware_decoder_worker,
    install_decoder_bypass,
    internals_problems,
)
from proctor.room import PUBLISH_PTIME_MS, MediaRoom
from tests.proctor.conftest import Peers
from tests.proctor.media import digest, wait_for


def rtp(seq: int, timestamp: int, payload: bytes, marker: int = 0) -> RtpPacket:
    packet = RtpPacket(sequence_number=seq, timestamp=timestamp, marker=marker)
    packet._data = payload  # type: ignore[attr-defined]  # what depayload() sets
    return packet


def test_a_video_frame_leaves_on_its_marker_packet_not_on_the_next_frame() -> None:
    buffer = PromptJitterBuffer("video")
    assert buffer.add(rtp(100, 0, b"a"))[1] is None
    assert buffer.add(rtp(101, 0, b"b"))[1] is None
    frame = buffer.add(rtp(102, 0, b"c", marker=1))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"abc", 0)
    # aiortc's own buffer would still hold it: it waits for the next frame's first packet.
    stock = JitterBuffer(capacity=512, is_video=True)
    assert [stock.add(p)[1] for p in (rtp(100, 0, b"a"), rtp(101, 0, b"c", 1))] == [None, None]


def test_a_lost_marker_releases_the_frame_on_the_next_timestamp() -> None:
    buffer = PromptJitterBuffer("video")
    buffer.add(rtp(7, 3000, b"x"))
    buffer.add(rtp(8, 3000, b"y"))  # its marker packet is a later frame's first, say
    frame = buffer.add(rtp(9, 9000, b"z"))[1]
    assert frame is not None and (frame.data, frame.timestamp) == (b"xy", 3000)
    last = buffer.add(rtp(10, 9000, b"w", marker=1))[1]
    assert last is not None and (last.data, last.timestamp) == (b"zw", 9000)


def test_a_gap_holds_frames_back_until_it_is_filled() -> None:
    buffer = PromptJitterBuffer("video")
    assert buffer.add(rtp(1, 0, b"a", marker=1))[1] is not None
    assert buffer.add(rtp(3, 6000, b"c", marker=1))[1] is None  # packet 2 missing
    frame = buffer.add(rtp(2, 6000, b"b"))[1]  # the retransmission arrives
    assert frame is not None and frame.data == b"bc"


def test_opus_packets_leave_as_they_arrive() -> None:
    buffer = PromptJitterBuffer("audio")
    frames = [buffer.add(rtp(50 + i, 960 * i, bytes([i])))[1] for i in range(5)]
    assert [f.data if f else None for f in frames] == [bytes([i]) for i in range(5)]


def test_the_fast_ntp_clock_agrees_with_aiortcs() -> None:
    install_decoder_bypass()
    assert aiortc.clock.current_ntp_time is fast_ntp_time
    reference = aiortc.clock.datetime_to_ntp(aiortc.clock.current_datetime())
    difference = abs(fast_ntp_time() - reference) / (1 << 32)
    assert difference < 0.05, f"fast NTP time is {difference:.3f} s off aiortc's"


async def test_room_receivers_feed_the_room_on_the_loop_without_a_decoder_thread(
    peers: Peers, room: MediaRoom
) -> None:
    publisher = await peers.publish(room, "learner")
    ingest_pc = room.peer_connections()[0]
    receivers: list[Any] = [t.receiver for t in ingest_pc.getTransceivers()]
    assert {r.track.kind for r in receivers} == {"video", "audio"}
    for receiver in receivers:
        assert isinstance(receiver._RTCRtpReceiver__decoder_queue, LoopFrameQueue)
        assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, PromptJitterBuffer)
        assert receiver._RTCRtpReceiver__remote_bitrate_estimator is None
        thread = receiver._RTCRtpReceiver__decoder_thread
        assert thread is not None and not thread.is_alive()

    seen: list[tuple[str, bool]] = []
    room.add_frame_listener(
        "learner", lambda f: seen.append((f.kind, threading.current_thread() is main))
    )
    main = threading.current_thread()
    await wait_for(lambda: sum(k == "video" for k, _ in seen) >= 10, what="10 video frames")
    assert all(on_loop for _, on_loop in seen), "frames reached the room off the loop thread"
    assert {k for k, _ in seen} == {"video", "audio"}
    queues = [r._RTCRtpReceiver__decoder_queue for r in receivers]
    assert all(q.frames > 0 for q in queues)
    # The published bytes, frame by frame, no decoding.
    sent = set(publisher.video.sent)  # digests of what the publisher sent
    keyframe = room.last_keyframe("learner")
    assert keyframe is not None and digest(keyframe.data) in sent


async def test_no_abs_send_time_is_negotiated_either_way(peers: Peers, room: MediaRoom) -> None:
    publisher = peers.publisher()
    answers: list[str] = []

    async def publish(offer: Any) -> Any:
        answer = await room.publish("learner", offer)
        answers.append(answer.sdp)
        return answer

    await publisher.connect(publish)
    assert ABS_SEND_TIME in publisher.pc.localDescription.sdp  # aiortc offers it
    viewer = peers.viewer()

    async def watch(offer: Any) -> Any:
        answer = await room.subscribe("member", "learner", offer)
        answers.append(answer.sdp)
        return answer

    await viewer.connect(watch)
    assert len(answers) == 2
    assert all(ABS_SEND_TIME not in sdp and "a=extmap:" in sdp for sdp in answers)
    # Publishers are asked for 40 ms Opus packets; what viewers get is what was published.
    audio = answers[0][answers[0].index("m=audio") :].split("m=video")[0]
    assert f"a=ptime:{PUBLISH_PTIME_MS}\r\n" in audio
    assert "a=ptime" not in answers[1]
    await wait_for(lambda: len(viewer.video) > 2, what="the viewer receiving video")


def test_the_decoder_thread_of_other_receivers_still_decodes() -> None:
    install_decoder_bypass()
    assert aiortc.rtcrtpreceiver.decoder_worker is inline_aware_decoder_worker
    original: Callable[..., None] = inline_aware_decoder_worker.__wrapped__  # type: ignore[attr-defined]
    assert "get_decoder" in original.__code__.co_names


@pytest.mark.parametrize(
    ("target", "name", "expected"),
    [
        (RTCRtpReceiver, "_handle_rtp_packet", "_handle_rtp_packet no longer puts frames"),
        (RTCRtpReceiver, "receive", "receive no longer starts decoder_worker"),
        (JitterBuffer, "add", "_remove_frame"),
    ],
)
def test_the_guard_names_a_moved_receive_path(
    monkeypatch: pytest.MonkeyPatch, target: type, name: str, expected: str
) -> None:
    async def replacement(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(target, name, replacement)
    problems = internals_problems()
    assert any(expected in p for p in problems), problems


def test_the_guard_names_a_changed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc.clock, "datetime_to_ntp", lambda dt: int(time.time() * 1000))
    assert any("NTP" in p for p in internals_problems())


async def test_an_unknown_receiver_is_refused_not_half_patched() -> None:
    from proctor.bypass import attach_frame_sink

    with pytest.raises(BypassUnavailable):
        attach_frame_sink(object(), lambda frame: None, "test")
