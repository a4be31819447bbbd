"""The decoder bypass: receivers hand over depayloaded *encoded* frames, never pictures.

aiortc has no public API for this. Every ``RTCRtpReceiver`` runs a decoder thread
(``aiortc.rtcrtpreceiver.decoder_worker``) that looks up the module-level name
``get_decoder`` and pushes whatever ``decoder.decode(jitter_frame)`` returns onto the
receiver's ``RemoteStreamTrack``. Replacing that one name with a factory of pass-through
"decoders" makes ``track.recv()`` return :class:`EncodedFrame` s: no codec work at all on
ingest (ARCHITECTURE.md, "Media plane").

The patch is process-wide and is the **one deliberate exception** to the house rule
"no module-level mutable state": it is applied once at app start (``RoomRegistry``
installs it), it is idempotent, and :func:`install_decoder_bypass` refuses loudly if
aiortc's internals are not the ones this module was written against. The aiortc version
is pinned in ``pyproject.toml``; ``tests/proctor/test_bypass.py`` fails on an upgrade
that breaks the hook.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass
from typing import Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

log = logging.getLogger(__name__)

#: The aiortc release whose internals this module (and ``forwarding``) relies on.
PINNED_AIORTC = "1.16.0"

#: VP8 key frames carry this start code after the 3-byte frame tag (RFC 6386, 9.1).
VP8_START_CODE = b"\x9d\x01\x2a"


class BypassUnavailable(RuntimeError):
    """aiortc's internals are not what the decoder bypass expects; forwarding cannot work."""


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One depayloaded encoded frame as the publisher's encoder produced it.

    ``timestamp`` is in the RTP clock of the codec (90000 Hz video, 48000 Hz audio),
    counted from the receiver's first frame. ``keyframe`` is always true for audio
    (every Opus frame decodes on its own).
    """

    data: bytes
    timestamp: int
    keyframe: bool
    kind: str
    codec: str


def is_vp8_keyframe(data: bytes) -> bool:
    """Whether a VP8 frame is a key frame (frame tag bit 0 clear and the start code)."""
    return len(data) >= 10 and not data[0] & 0x01 and data[3:6] == VP8_START_CODE


class PassThroughDecoder:
    """Stands in for aiortc's decoder: returns the encoded frame instead of decoding it."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.kind = codec.mimeType.split("/")[0].lower()
        self.codec = codec.name

    def decode(self, encoded_frame: JitterFrame) -> list[EncodedFrame]:
        """Wrap the jitter buffer's frame; runs in the receiver's decoder thread."""
        data = bytes(encoded_frame.data)
        if not data:
            return []
        if self.kind == "audio":
            keyframe = True
        elif self.codec.upper() == "VP8":
            keyframe = is_vp8_keyframe(data)
        else:
            # The rooms negotiate VP8 only; other codecs pass through unflagged.
            keyframe = False
        return [EncodedFrame(data, encoded_frame.timestamp, keyframe, self.kind, self.codec)]


def passthrough_decoder(codec: RTCRtpCodecParameters) -> PassThroughDecoder:
    """The replacement for ``aiortc.rtcrtpreceiver.get_decoder``."""
    return PassThroughDecoder(codec)


def aiortc_version() -> str:
    """The installed aiortc version."""
    try:
        return importlib.metadata.version("aiortc")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def internals_problems() -> list[str]:
    """What is missing from aiortc's internals that the bypass and forwarding rely on."""
    problems = []
    receiver: Any = aiortc.rtcrtpreceiver
    worker = getattr(receiver, "decoder_worker", None)
    if not callable(getattr(receiver, "get_decoder", None)):
        problems.append("aiortc.rtcrtpreceiver.get_decoder is gone")
    code = getattr(worker, "__code__", None)
    if code is None:
        problems.append("aiortc.rtcrtpreceiver.decoder_worker is gone")
    elif "get_decoder" not in code.co_names:
        problems.append("decoder_worker no longer looks up the module-level get_decoder")
    rtp_receiver = getattr(receiver, "RTCRtpReceiver", None)
    if not callable(getattr(rtp_receiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli(media_ssrc) is gone")
    sender = getattr(aiortc.rtcrtpsender, "RTCRtpSender", None)
    if not callable(getattr(sender, "_send_keyframe", None)):
        problems.append("RTCRtpSender._send_keyframe() is gone")
    next_frame = getattr(getattr(sender, "_next_encoded_frame", None), "__code__", None)
    if next_frame is None or "pack" not in next_frame.co_names:
        problems.append("RTCRtpSender no longer packs pre-encoded av.Packet s")
    for encoder in (Vp8Encoder, OpusEncoder):
        if not callable(getattr(encoder, "pack", None)):
            problems.append(f"{encoder.__name__}.pack(packet) is gone")
    return problems


def bypass_installed() -> bool:
    """Whether receivers currently hand over encoded frames."""
    return getattr(aiortc.rtcrtpreceiver, "get_decoder", None) is passthrough_decoder


def install_decoder_bypass() -> None:
    """Make every aiortc receiver in this process yield :class:`EncodedFrame` s (idempotent).

    Raises :class:`BypassUnavailable` naming the installed aiortc version when its
    internals changed; the fix is to port this module and ``forwarding`` to that version
    (or keep the pin in ``pyproject.toml``).
    """
    if bypass_installed():
        return
    problems = internals_problems()
    version = aiortc_version()
    if problems:
        raise BypassUnavailable(
            f"decoder bypass cannot be installed on aiortc {version} (written for "
            f"{PINNED_AIORTC}): " + "; ".join(problems)
        )
    if version != PINNED_AIORTC:
        log.warning(
            "aiortc %s is installed but the decoder bypass was written for %s; "
            "its internals still look compatible",
            version,
            PINNED_AIORTC,
        )
    receiver: Any = aiortc.rtcrtpreceiver
    receiver.get_decoder = passthrough_decoder
    log.info("decoder bypass installed on aiortc %s: receivers yield encoded frames", version)
