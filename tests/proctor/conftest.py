"""Fixtures of the SFU tests: one pre-encoded clip per session, the decoder bypass, a room,
and real aiortc peers (closed at teardown) that talk to it over the host's own addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration

from proctor.bypass import install_decoder_bypass
from proctor.room import MediaRoom
from tests.proctor.media import Clip, ClipPublisher, Viewer, make_clip, wait_for


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """3 s of 640×480 VP8 at 15 fps (keyframe every second) and an Opus tone."""
    return make_clip(Path(tmp_path_factory.mktemp("clip")))


@pytest.fixture(scope="session", autouse=True)
def decoder_bypass() -> None:
    """As at app start: receivers in this process yield encoded frames."""
    install_decoder_bypass()


@pytest.fixture
def ice() -> RTCConfiguration:
    """No STUN/TURN: host candidates only (never aiortc's public STUN fallback)."""
    return RTCConfiguration(iceServers=[])


class Peers:
    """Creates the client-side peers of a test and closes them at teardown."""

    def __init__(self, clip: Clip, ice: RTCConfiguration) -> None:
        self.clip = clip
        self.ice = ice
        self._closing: list[ClipPublisher | Viewer] = []

    def publisher(self) -> ClipPublisher:
        peer = ClipPublisher(self.clip, self.ice)
        self._closing.append(peer)
        return peer

    def viewer(self, kinds: tuple[str, ...] = ("video", "audio")) -> Viewer:
        peer = Viewer(self.ice, kinds)
        self._closing.append(peer)
        return peer

    async def publish(self, room: MediaRoom, participant_id: str) -> ClipPublisher:
        """A publisher connected to ``room`` whose frames already arrive there."""
        peer = self.publisher()
        before = _video_frames(room, participant_id)
        await peer.connect(lambda offer: room.publish(participant_id, offer))
        await wait_for(
            lambda: _video_frames(room, participant_id) > before + 2,
            what=f"video of {participant_id} arriving in the room",
        )
        return peer

    async def watch(self, room: MediaRoom, viewer_id: str, publisher_id: str) -> Viewer:
        """A viewer subscribed to ``publisher_id`` that already received video."""
        peer = self.viewer()
        await peer.connect(lambda offer: room.subscribe(viewer_id, publisher_id, offer))
        await wait_for(lambda: len(peer.video) > 2, what=f"{viewer_id} receiving video")
        return peer

    async def close(self) -> None:
        for peer in self._closing:
            await peer.close()


def _video_frames(room: MediaRoom, participant_id: str) -> int:
    for info in room.publishers():
        if info.participant_id == participant_id:
            return info.video_frames
    return 0


@pytest.fixture
async def peers(clip: Clip, ice: RTCConfiguration) -> AsyncIterator[Peers]:
    p = Peers(clip, ice)
    yield p
    await p.close()


@pytest.fixture
async def room(ice: RTCConfiguration) -> AsyncIterator[MediaRoom]:
    """A room without periodic keyframe requests (tests that need them make their own)."""
    r = MediaRoom("room-1", ice, keyframe_interval=0, pli_min_interval=0.2)
    yield r
    await r.close()
