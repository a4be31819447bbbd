"""The egress: frames packetised once and written out by each viewer's sender at once."""

from __future__ import annotations

import struct
from typing import Any

import aioice.ice
import pytest
from aiortc.rtp import RtcpRtpfbPacket

from proctor.egress import Egress, Packetizer, egress_problems
from proctor.forwarding import ForwardedTrack
from proctor.room import MediaRoom
from tests.proctor.conftest import Peers
from tests.proctor.media import is_subsequence, wait_for


def forwarded_tracks(room: MediaRoom, viewer_id: str) -> list[ForwardedTrack]:
    return [
        track
        for (viewer, _), subscription in room._subscriptions.items()
        if viewer == viewer_id
        for track in subscription.tracks
    ]


def egresses(room: MediaRoom, viewer_id: str) -> list[Egress]:
    found = [t.egress for t in forwarded_tracks(room, viewer_id)]
    assert all(e is not None for e in found), "every forwarded track sends through an egress"
    return [e for e in found if e is not None]


async def test_viewers_get_the_published_bytes_through_the_egress(
    peers: Peers, room: MediaRoom
) -> None:
    publisher = await peers.publish(room, "learner")
    viewer = await peers.watch(room, "member", "learner")
    await wait_for(
        lambda: len(viewer.video) >= 20 and len(viewer.audio) >= 40, what="viewer receiving"
    )
    sent = egresses(room, "member")
    assert len(sent) == 2 and all(e.packets > 0 for e in sent)
    assert all(e.relayed_packets == 0 for e in sent), "a host pair is written to directly"
    # aiortc's own sender loop never ran: the track's queue stays empty.
    assert all(not t._queue for t in forwarded_tracks(room, "member"))
    assert is_subsequence(viewer.received["video"].digests, publisher.video.sent)
    assert is_subsequence(viewer.received["audio"].digests, publisher.audio.sent)
    # The sender's counters (for its RTCP sender reports and getStats) are kept.
    pc = room._subscriptions[("member", "learner")].pc
    stats = [s for t in pc.getTransceivers() for s in (await t.sender.getStats()).values()]
    outbound = [s for s in stats if s.type == "outbound-rtp"]
    assert outbound and all(s.packetsSent > 0 and s.bytesSent > 0 for s in outbound)


class RelayedProtocol:
    """Stands for a TURN-relayed pair: not a plain UDP protocol, sends by awaiting."""

    def __init__(self, inner: aioice.ice.StunProtocol) -> None:
        self._inner = inner
        self.sent = 0

    async def send_data(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent += 1
        await self._inner.send_data(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_relayed_pair_gets_the_frames_in_order_through_aiortcs_path(
    peers: Peers, room: MediaRoom
) -> None:
    publisher = await peers.publish(room, "learner")
    viewer = await peers.watch(room, "member", "learner")
    await wait_for(lambda: len(viewer.video) >= 5, what="viewer receiving")
    pc = room._subscriptions[("member", "learner")].pc
    transport: Any = pc.getTransceivers()[0].sender.transport
    pair = transport.transport._connection._nominated[1]
    relayed = RelayedProtocol(pair.protocol)
    pair.protocol = relayed
    mark = len(viewer.video)
    await wait_for(lambda: len(viewer.video) >= mark + 20, what="frames over the relayed pair")
    assert relayed.sent > 0
    assert all(e.relayed_packets > 0 for e in egresses(room, "member"))
    assert is_subsequence(viewer.received["video"].digests[mark:], publisher.video.sent)


async def test_a_nacked_packet_is_sent_again(peers: Peers, room: MediaRoom) -> None:
    await peers.publish(room, "learner")
    viewer = await peers.watch(room, "member", "learner")
    await wait_for(lambda: len(viewer.video) >= 10, what="viewer receiving")
    pc = room._subscriptions[("member", "learner")].pc
    sender: Any = next(t.sender for t in pc.getTransceivers() if t.kind == "video")
    egress = next(e for e in egresses(room, "member") if e is sender_egress(room, sender))
    seq, _, _, payload = next(iter(egress._history.values()))
    resent: list[bytes] = []
    original = sender.transport._send_rtp

    async def spy(data: bytes) -> None:
        resent.append(data)
        await original(data)

    sender.transport._send_rtp = spy
    nack = RtcpRtpfbPacket(fmt=1, ssrc=1234, media_ssrc=sender._ssrc)
    nack.lost.append(seq)
    await sender._handle_rtcp_packet(nack)
    assert len(resent) == 1
    packet = resent[0]
    # RTX (negotiated for video): the original sequence number leads the payload.
    assert struct.unpack_from("!H", packet, len(packet) - len(payload) - 2)[0] == seq
    assert packet.endswith(payload)
    unknown = RtcpRtpfbPacket(fmt=1, ssrc=1234, media_ssrc=sender._ssrc)
    unknown.lost.append((seq + 30000) & 0xFFFF)
    await sender._handle_rtcp_packet(unknown)
    assert len(resent) == 1, "a packet no longer in the history is not invented"


def sender_egress(room: MediaRoom, sender: Any) -> Egress | None:
    for track in forwarded_tracks(room, "member"):
        if track.egress is not None and track.egress._sender is sender:
            return track.egress
    return None


def test_vp8_frames_are_packetised_once_with_a_picture_id_per_publisher() -> None:
    packetizer = Packetizer()
    frame = bytes(range(256)) * 12
    first = packetizer.payloads("video", "VP8", frame)
    second = packetizer.payloads("video", "VP8", frame)
    assert len(first) == len(second) > 1
    # Payload descriptor: X and S bits on the first packet, 15-bit picture id counting up.
    assert first[0][0] & 0x90 == 0x90 and not second[1][0] & 0x10
    ids = [struct.unpack_from("!H", p, 2)[0] & 0x7FFF for p in (first[0], second[0])]
    assert ids[1] == ids[0] + 1
    assert b"".join(p[4:] for p in first) == frame
    assert packetizer.payloads("audio", "opus", b"opus") == [b"opus"]


def test_the_internals_it_relies_on_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert egress_problems() == []
    monkeypatch.delattr(aioice.ice.Connection, "sendto")
    assert any("sendto" in p for p in egress_problems())


async def test_a_failing_egress_ends_only_its_own_track(peers: Peers, room: MediaRoom) -> None:
    await peers.publish(room, "learner")
    broken = await peers.watch(room, "member-1", "learner")
    healthy = await peers.watch(room, "member-2", "learner")
    await wait_for(
        lambda: len(broken.video) >= 5 and len(healthy.video) >= 5, what="both receiving"
    )
    video = next(t for t in forwarded_tracks(room, "member-1") if t.kind == "video")
    egress = video.egress
    assert egress is not None

    def fail(timestamp: int, payloads: list[bytes]) -> bool:
        raise RuntimeError("SRTP session gone")

    egress.send = fail  # type: ignore[method-assign]
    recorded: list[int] = []
    remove = room.add_frame_listener("learner", lambda frame: recorded.append(frame.timestamp))
    try:
        mark = len(healthy.video)
        await wait_for(lambda: video.readyState == "ended", what="the broken track ending")
        assert egress.closed
        await wait_for(lambda: len(healthy.video) >= mark + 15, what="the other viewer going on")
        await wait_for(lambda: len(recorded) >= 15, what="the listeners (recorder) going on")
    finally:
        remove()
