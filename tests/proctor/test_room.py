"""A room with real aiortc peers: one learner publishing, commission members watching."""

from __future__ import annotations

import itertools
import re

import pytest
from aiortc import RTCConfiguration, RTCSessionDescription

from proctor.room import MediaError, MediaRoom, PublisherInfo, RoomRegistry
from tests.proctor.conftest import Peers
from tests.proctor.media import is_subsequence, wait_for


def info(room: MediaRoom, participant_id: str = "learner") -> PublisherInfo:
    return next(i for i in room.publishers() if i.participant_id == participant_id)


async def test_two_viewers_receive_exactly_the_published_bytes(
    peers: Peers, room: MediaRoom
) -> None:
    publisher = await peers.publish(room, "learner")
    viewers = [await peers.watch(room, f"member-{n}", "learner") for n in (1, 2)]
    await wait_for(
        lambda: all(len(v.video) >= 25 and len(v.audio) >= 60 for v in viewers),
        what="both viewers receiving video and audio",
    )
    counts = [len(v.video) for v in viewers]
    await wait_for(
        lambda: all(len(v.video) > c + 5 for v, c in zip(viewers, counts, strict=True)),
        what="frame counts advancing",
    )
    for viewer in viewers:
        assert viewer.received["video"].other == 0 and viewer.received["audio"].other == 0
        assert viewer.video[0].keyframe, "a new viewer's first video frame is a keyframe"
        # No transcoding: every frame a viewer gets is a frame the learner sent, in order.
        assert is_subsequence(viewer.received["video"].digests, publisher.video.sent)
        assert is_subsequence(viewer.received["audio"].digests, publisher.audio.sent)
        assert {f.codec for f in viewer.video} == {"VP8"}
        assert {f.codec for f in viewer.audio} == {"opus"}
    assert info(room).viewers == 2
    assert sorted(room.subscriptions()) == [("member-1", "learner"), ("member-2", "learner")]


async def test_a_joining_viewer_triggers_a_pli_and_starts_on_a_keyframe(
    peers: Peers, room: MediaRoom
) -> None:
    publisher = await peers.publish(room, "learner")
    await wait_for(lambda: info(room).keyframe_requests >= 1, what="the PLI on connect")
    await wait_for(lambda: info(room).video_frames >= 8, what="past the first keyframe")
    asked = publisher.video.keyframe_requests
    sent = info(room).keyframe_requests
    viewer = await peers.watch(room, "member", "learner")
    assert info(room).keyframe_requests > sent
    await wait_for(lambda: publisher.video.keyframe_requests > asked, what="PLI at the learner")
    assert viewer.video[0].keyframe


async def test_keyframe_requests_are_rate_limited(peers: Peers, room: MediaRoom) -> None:
    await peers.publish(room, "learner")
    await wait_for(lambda: info(room).keyframe_requests >= 1, what="the PLI on connect")

    def ask() -> bool:
        room.request_keyframe("learner")
        return info(room).keyframe_requests >= 2

    await wait_for(ask, what="a PLI outside the window")
    base = info(room).keyframe_requests
    for _ in range(20):  # a burst inside pli_min_interval: one trailing PLI
        room.request_keyframe("learner")
    assert info(room).keyframe_requests == base
    await wait_for(lambda: info(room).keyframe_requests == base + 1, what="the trailing PLI")
    room.request_keyframe("learner")
    assert info(room).keyframe_requests == base + 1


async def test_periodic_keyframe_requests(peers: Peers, ice: RTCConfiguration) -> None:
    room = MediaRoom("periodic", ice, keyframe_interval=0.4, pli_min_interval=0.1)
    try:
        publisher = await peers.publish(room, "learner")
        asked = publisher.video.keyframe_requests
        await wait_for(
            lambda: publisher.video.keyframe_requests >= asked + 3,
            what="periodic PLIs without any viewer",
        )
    finally:
        await room.close()


async def test_subscribing_to_nobody_is_a_404(peers: Peers, room: MediaRoom) -> None:
    viewer = peers.viewer()
    with pytest.raises(MediaError) as failure:
        await room.subscribe("member", "ghost", await viewer.offer())
    assert failure.value.status == 404
    assert failure.value.code == "unknown_publisher"
    assert "ghost" in failure.value.message and "room-1" in failure.value.message


async def test_bad_offers_are_422_and_the_room_keeps_working(peers: Peers, room: MediaRoom) -> None:
    publisher = await peers.publish(room, "learner")
    viewer = await peers.watch(room, "member", "learner")
    good_publish = await peers.publisher().offer()
    good_view = await peers.viewer().offer()
    no_vp8 = re.sub(r"a=rtpmap:\d+ VP8/90000\r\n", "", good_view.sdp)
    bad = [
        ("publish", RTCSessionDescription(sdp="v=0\r\nthis is not sdp", type="offer")),
        ("publish", RTCSessionDescription(sdp="", type="offer")),
        ("publish", RTCSessionDescription(sdp=good_publish.sdp, type="answer")),
        ("publish", good_view),  # recvonly: nothing to publish
        ("subscribe", RTCSessionDescription(sdp=no_vp8, type="offer")),
        (
            "subscribe",
            RTCSessionDescription(sdp=good_view.sdp.replace("a=ice-ufrag", "a=x"), type="offer"),
        ),
        ("publish", RTCSessionDescription(sdp="x" * 70_000, type="offer")),
    ]
    for action, offer in bad:
        with pytest.raises(MediaError) as failure:
            if action == "publish":
                await room.publish("intruder", offer)
            else:
                await room.subscribe("intruder", "learner", offer)
        assert failure.value.status == 422, failure.value.message
        assert failure.value.code == "bad_sdp"
    assert [i.participant_id for i in room.publishers()] == ["learner"]
    assert room.subscriptions() == [("member", "learner")]
    before = len(viewer.video)
    await wait_for(lambda: len(viewer.video) > before + 10, what="the viewer still receiving")
    assert is_subsequence(viewer.received["video"].digests, publisher.video.sent)


async def test_a_publisher_reconnect_keeps_the_viewers_receiving(
    peers: Peers, room: MediaRoom
) -> None:
    await peers.publish(room, "learner")
    viewer = await peers.watch(room, "member", "learner")
    old_ingest = room.peer_connections()[0]
    second = await peers.publish(room, "learner")  # the network dropped; publish again
    assert old_ingest.connectionState == "closed"
    assert len(room.peer_connections()) == 2 and old_ingest not in room.peer_connections()
    assert room.subscriptions() == [("member", "learner")]
    mark = len(viewer.video)
    await wait_for(lambda: len(viewer.video) > mark + 15, what="video from the new connection")
    fresh = viewer.received["video"].digests[mark + 1 :]
    assert is_subsequence(fresh[-10:], second.video.sent)
    stamps = [f.timestamp for f in viewer.video]
    assert all(b > a for a, b in itertools.pairwise(stamps)), "timestamps keep moving forward"
    assert info(room).connection == "connected"


async def test_leave_closes_every_connection(peers: Peers, room: MediaRoom) -> None:
    await peers.publish(room, "learner")
    await peers.publish(room, "member")
    await peers.watch(room, "member", "learner")
    await peers.watch(room, "learner", "member")
    await peers.watch(room, "other", "member")
    pcs = room.peer_connections()
    assert len(pcs) == 5
    await room.leave("member")
    assert room.subscriptions() == []
    assert [i.participant_id for i in room.publishers()] == ["learner"]
    assert [pc.connectionState for pc in pcs].count("closed") == 4
    await room.leave("learner")
    assert room.peer_connections() == [] and room.publishers() == []
    assert all(pc.connectionState == "closed" for pc in pcs)


async def test_tile_state_goes_dark_when_the_publisher_stops(peers: Peers, room: MediaRoom) -> None:
    publisher = await peers.publish(room, "learner")
    await wait_for(lambda: info(room).audio_live, what="audio live")
    tile = info(room)
    assert tile.video_live and tile.kinds == {"video", "audio"}
    assert tile.connection == "connected" and tile.last_keyframe_at is not None
    publisher.video.pause()  # the camera froze, the microphone still works
    await wait_for(lambda: not info(room).video_live, within=8, what="video no longer live")
    assert info(room).audio_live
    await publisher.close()  # the learner's network dropped
    await wait_for(lambda: not info(room).audio_live, within=8, what="audio no longer live")
    tile = info(room)
    assert tile.video_frames > 0 and tile.last_frame_at is not None


async def test_registry_creates_rooms_and_never_uses_public_stun() -> None:
    registry = RoomRegistry(RTCConfiguration())  # iceServers=None would mean Google STUN
    room = registry.get("sitting-7")
    assert registry.get("sitting-7") is room and registry.find("sitting-7") is room
    assert registry.find("sitting-8") is None
    assert room.ice.iceServers == []
    await registry.close()
    assert registry.find("sitting-7") is None
    with pytest.raises(MediaError) as failure:
        await room.publish("learner", RTCSessionDescription(sdp="v=0", type="offer"))
    assert failure.value.status == 409
