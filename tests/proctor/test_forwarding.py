"""A subscriber's forwarded track: packets not pictures, keyframe gating, bounded queue,
splicing after a publisher's reconnect, and subscriber PLIs reaching the publisher."""

from __future__ import annotations

import fractions

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from proctor.bypass import EncodedFrame
from proctor.forwarding import ForwardedTrack
from proctor.room import MediaRoom
from tests.proctor.conftest import Peers
from tests.proctor.media import Clip, wait_for


def video_frames(clip: Clip, start: int = 0) -> list[EncodedFrame]:
    """The clip's real VP8 frames from ``start`` on, as the bypass would hand them over."""
    return [
        EncodedFrame(data, (start + i) * 6000, key, "video", "VP8")
        for i, (data, key) in enumerate(clip.video)
    ]


class Requests:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def track(kind: str = "video", max_queue: int | None = None) -> tuple[ForwardedTrack, Requests]:
    requests = Requests()
    return (
        ForwardedTrack(kind, label="test", on_keyframe_needed=requests, max_queue=max_queue),
        requests,
    )


async def test_waits_for_a_keyframe_then_yields_packets_with_the_same_bytes(clip: Clip) -> None:
    forwarded, _ = track()
    frames = video_frames(clip)
    first_key = next(i for i, f in enumerate(frames) if f.keyframe and i > 0)
    for frame in frames[1:first_key]:
        forwarded.push(frame)
    assert forwarded.waiting_for_keyframe and forwarded.dropped == first_key - 1
    for frame in frames[first_key : first_key + 3]:
        forwarded.push(frame)
    packets = [await forwarded.recv() for _ in range(3)]
    assert all(isinstance(p, av.Packet) for p in packets)
    assert [bytes(p) for p in packets] == [f.data for f in frames[first_key : first_key + 3]]
    assert [p.pts for p in packets] == [0, 6000, 12000]
    assert all(p.time_base == fractions.Fraction(1, 90000) for p in packets)
    assert forwarded.bytes_out == sum(len(f.data) for f in frames[first_key : first_key + 3])


async def test_overflow_drops_until_the_next_keyframe_and_asks_for_one(clip: Clip) -> None:
    forwarded, requests = track(max_queue=4)
    frames = video_frames(clip)
    assert frames[0].keyframe and not any(f.keyframe for f in frames[1:15])
    for frame in frames[:10]:
        forwarded.push(frame)
    assert forwarded.overflows == 1 and requests.count == 1
    assert forwarded.waiting_for_keyframe
    for frame in frames[10:15]:  # deltas: useless without their references
        forwarded.push(frame)
    assert requests.count == 1
    forwarded.push(frames[15])  # the next keyframe
    packet = await forwarded.recv()
    assert bytes(packet) == frames[15].data


async def test_audio_overflow_does_not_ask_for_a_keyframe() -> None:
    forwarded, requests = track("audio", max_queue=3)
    for i in range(5):
        forwarded.push(EncodedFrame(bytes([i]) * 40, i * 960, True, "audio", "opus"))
    assert requests.count == 0
    packet = await forwarded.recv()
    assert packet.time_base == fractions.Fraction(1, 48000)


async def test_restart_continues_the_timestamps_of_the_new_source(clip: Clip) -> None:
    forwarded, _ = track()
    for frame in video_frames(clip, start=100)[:3]:
        forwarded.push(frame)
    before = [(await forwarded.recv()).pts for _ in range(3)]
    forwarded.restart()  # the publisher reconnected: its new receiver counts from 0 again
    for frame in video_frames(clip, start=0)[:3]:
        forwarded.push(frame)
    after = [(await forwarded.recv()).pts for _ in range(3)]
    assert before == [0, 6000, 12000]
    assert after == [18000, 24000, 30000]


@pytest.mark.parametrize("kind", ["video", "audio"])
async def test_stop_ends_a_waiting_sender(kind: str) -> None:
    forwarded, _ = track(kind)
    forwarded.stop()
    with pytest.raises(MediaStreamError):
        await forwarded.recv()


async def test_a_viewers_pli_reaches_the_publisher(peers: Peers, room: MediaRoom) -> None:
    publisher = await peers.publish(room, "learner")
    viewer = await peers.watch(room, "member", "learner")
    sent = room.publishers()[0].keyframe_requests
    asked = publisher.video.keyframe_requests
    # The viewer reports picture loss over real RTCP, like a browser would.
    receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
    ssrc = receiver.getSynchronizationSources()[0].source
    await receiver._send_rtcp_pli(ssrc)
    await wait_for(
        lambda: room.publishers()[0].keyframe_requests > sent, what="the room sending a PLI"
    )
    await wait_for(
        lambda: publisher.video.keyframe_requests > asked, what="the PLI at the publisher"
    )
