"""The decoder bypass: the guard against aiortc upgrades, and real receivers yielding
encoded frames."""

from __future__ import annotations

import itertools
import logging
import tomllib
from pathlib import Path

import aiortc.codecs
import aiortc.rtcrtpreceiver
import pytest
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from proctor.bypass import (
    PINNED_AIORTC,
    BypassUnavailable,
    EncodedFrame,
    aiortc_version,
    install_decoder_bypass,
    internals_problems,
    passthrough_decoder,
)
from proctor.room import MediaRoom
from tests.proctor.conftest import Peers
from tests.proctor.media import Clip, digest, wait_for

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
UPGRADE_HELP = (
    "The SFU replaces aiortc.rtcrtpreceiver.get_decoder and decoder_worker (decoder bypass), "
    "the room receivers' decoder queue, jitter buffer and REMB estimator (attach_frame_sink), "
    "aiortc.clock's NTP/ms clocks and aioice's consent check (proctor/ice.py), and relies on "
    "RTCRtpSender packing av.Packet s and on _send_keyframe/_send_rtcp_pli. On an aiortc or "
    "aioice upgrade: read the new rtcrtpreceiver (decoder_worker, RTCRtpReceiver.__init__/"
    "receive/_handle_rtp_packet), jitterbuffer, clock, rtcrtpsender._next_encoded_frame and "
    "aioice Connection.query_consent, port proctor/bypass.py, proctor/ice.py and "
    "proctor/forwarding.py, run tests/proctor, then change PINNED_AIORTC and the pin in "
    "pyproject.toml together."
)


def test_guard_aiortc_is_the_pinned_version_and_the_hook_is_ours() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert f"aiortc=={PINNED_AIORTC}" in dependencies, (
        f"pyproject.toml must pin aiortc=={PINNED_AIORTC}. {UPGRADE_HELP}"
    )
    assert aiortc_version() == PINNED_AIORTC, (
        f"aiortc {aiortc_version()} is installed, the decoder bypass was written for "
        f"{PINNED_AIORTC}. {UPGRADE_HELP}"
    )
    assert internals_problems() == [], UPGRADE_HELP
    install_decoder_bypass()
    assert aiortc.rtcrtpreceiver.get_decoder is passthrough_decoder, (
        f"after install_decoder_bypass() receivers still decode. {UPGRADE_HELP}"
    )


def test_install_is_idempotent_and_silent_the_second_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_decoder_bypass()
    with caplog.at_level(logging.INFO, logger="proctor.bypass"):
        install_decoder_bypass()
    assert aiortc.rtcrtpreceiver.get_decoder is passthrough_decoder
    assert caplog.records == []


def test_install_refuses_loudly_when_the_internals_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Simulate an upgrade that dropped a hook point (undone after the test).
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", aiortc.codecs.get_decoder)
    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")
    with pytest.raises(BypassUnavailable) as failure:
        install_decoder_bypass()
    message = str(failure.value)
    assert f"aiortc {aiortc_version()}" in message
    assert "_send_rtcp_pli" in message
    assert aiortc.rtcrtpreceiver.get_decoder is aiortc.codecs.get_decoder


async def test_receiver_yields_encoded_frames_with_keyframes_flagged(
    clip: Clip, peers: Peers, room: MediaRoom
) -> None:
    publisher = peers.publisher()
    await publisher.connect(lambda offer: room.publish("learner", offer))
    frames: list[object] = []
    await wait_for(lambda: room.publishers(), what="the publisher in the room")
    room.add_frame_listener("learner", frames.append)
    await wait_for(
        lambda: sum(isinstance(f, EncodedFrame) and f.kind == "video" for f in frames) >= 20,
        what="20 video frames",
    )
    assert frames and all(isinstance(f, EncodedFrame) for f in frames)
    encoded = [f for f in frames if isinstance(f, EncodedFrame)]
    video = [f for f in encoded if f.kind == "video"]
    audio = [f for f in encoded if f.kind == "audio"]
    assert {f.codec for f in video} == {"VP8"}
    assert {f.codec for f in audio} == {"opus"}
    assert audio and all(f.keyframe for f in audio)

    # The flag matches what the encoder produced, frame by frame.
    clip_keyframes = {digest(data): key for data, key in clip.video}
    assert all(f.keyframe == clip_keyframes[digest(f.data)] for f in video)
    assert any(f.keyframe for f in video) and not all(f.keyframe for f in video)

    # Timestamps in the RTP clock: one 15 fps frame is 6000 ticks at 90 kHz,
    # one 20 ms Opus frame 960 ticks at 48 kHz.
    assert all((b.timestamp - a.timestamp) % 6000 == 0 for a, b in itertools.pairwise(video))
    assert all(b.timestamp > a.timestamp for a, b in itertools.pairwise(video))
    assert all((b.timestamp - a.timestamp) % 960 == 0 for a, b in itertools.pairwise(audio))
