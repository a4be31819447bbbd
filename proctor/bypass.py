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

The room's own receivers go one step further (:func:`attach_frame_sink`): their decoder
queue is replaced by a :class:`LoopFrameQueue` that hands each frame to the room on the
event loop, inside the receiver's packet handler, so no decoder thread runs for them and
no frame crosses threads twice (``queue.Queue`` + ``run_coroutine_threadsafe`` per frame
cost ~11–18 % of the loop and two GIL-contending threads per publisher). The same call
releases a video frame on its last packet's RTP marker bit instead of on the next frame's
first packet (one frame interval less latency), forwards Opus frames as they arrive, and
turns off REMB bandwidth estimation, which an SFU that cannot change a publisher's
bitrate has no use for. :func:`install_decoder_bypass` also installs a cheap NTP clock
(aiortc builds two ``datetime`` s per sent packet) and, via :mod:`proctor.ice`, a consent
check that survives a briefly overloaded loop.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiortc.clock
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from proctor import ice
from proctor.egress import code_names, egress_problems

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


#: What a room's receiver hands each encoded frame to (on the event loop; must not block).
FrameSink = Callable[[EncodedFrame], None]

#: The receiver attributes :func:`attach_frame_sink` replaces (name-mangled privates).
RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_STARTED = "_RTCRtpReceiver__started"
#: aiortc's jitter buffer sizes (``RTCRtpReceiver.__init__``), kept.
JITTER_CAPACITY = {"video": 512, "audio": 16}
#: The header extension that only feeds REMB estimation; never negotiated by the rooms.
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#: Seconds between 1900-01-01 (NTP epoch) and 1970-01-01 (Unix epoch).
NTP_UNIX_OFFSET = 2208988800


class PromptJitterBuffer(JitterBuffer):
    """aiortc's jitter buffer, but a frame leaves as soon as it is complete.

    aiortc's releases a frame only when the first packet of the *next* frame arrives,
    which adds one frame interval (67 ms at 15 fps) to every forwarded video frame and,
    with its audio ``prefetch=4``, 80 ms to audio. Here a video frame is complete on the
    packet carrying the RTP marker bit (RFC 7741: the last packet of a VP8 frame), or when
    a packet of a later frame arrives (a lost marker); an Opus packet is a whole frame.
    Ordering, loss and wrap-around handling stay aiortc's (only ``_remove_frame`` differs).
    """

    def __init__(self, kind: str) -> None:
        super().__init__(capacity=JITTER_CAPACITY[kind], prefetch=0, is_video=kind == "video")
        self._whole_packets = kind != "video"

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        capacity = self._capacity
        origin: int = self._origin  # type: ignore[assignment]  # set by add() first
        ring = self._packets
        packets: list[RtpPacket] = []
        timestamp = None
        for count in range(capacity):
            packet = ring[(origin + count) % capacity]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                # The previous frame is complete although its marker never came.
                self.remove(count)
                return _joined(packets, timestamp)
            packets.append(packet)
            if self._whole_packets or packet.marker:
                self.remove(count + 1)
                return _joined(packets, timestamp)
        return None


def _joined(packets: list[RtpPacket], timestamp: int) -> JitterFrame:
    return JitterFrame(data=b"".join([p._data for p in packets]), timestamp=timestamp)  # type: ignore[attr-defined]


class LoopFrameQueue:
    """Stands in for a receiver's decoder queue: ``put`` is called by the receiver's RTP
    handler on the event loop with ``(codec, jitter_frame)``, and the frame goes to the
    sink right there. The receiver's decoder thread, started anyway by aiortc, sees this
    queue and exits at once (see :func:`inline_aware_decoder_worker`)."""

    def __init__(self, sink: FrameSink, label: str) -> None:
        self._sink = sink
        self._label = label
        self._decoders: dict[str, PassThroughDecoder] = {}
        self.frames = 0

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        """Take one frame (or ``None``: the receiver stopped)."""
        if item is None:
            return
        codec, jitter_frame = item
        decoder = self._decoders.get(codec.name)
        if decoder is None:
            decoder = self._decoders[codec.name] = PassThroughDecoder(codec)
        for frame in decoder.decode(jitter_frame):
            self.frames += 1
            try:
                self._sink(frame)
            except Exception:
                # Never let a room bug end the transport's receive loop.
                log.exception("%s: frame sink failed", self._label)

    def get(self) -> None:
        """What a decoder thread reads: nothing, ever (it exits on ``None``)."""
        return None


def inline_aware_decoder_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any] | LoopFrameQueue,
    output_q: asyncio.Queue[Any],
    decode_error: threading.Event,
) -> None:
    """aiortc's ``decoder_worker``, except for receivers whose frames go to a sink on the
    loop: their thread has nothing to do and ends immediately."""
    if isinstance(input_q, LoopFrameQueue):
        return
    ORIGINAL_DECODER_WORKER(loop, input_q, output_q, decode_error)


#: aiortc's own decoder thread body, wrapped by :func:`inline_aware_decoder_worker`.
ORIGINAL_DECODER_WORKER: Callable[..., None] = getattr(
    aiortc.rtcrtpreceiver.decoder_worker, "__wrapped__", aiortc.rtcrtpreceiver.decoder_worker
)
inline_aware_decoder_worker.__wrapped__ = ORIGINAL_DECODER_WORKER  # type: ignore[attr-defined]


def attach_frame_sink(receiver: Any, sink: FrameSink, label: str) -> LoopFrameQueue:
    """Make a not-yet-started receiver hand its encoded frames to ``sink`` on the loop,
    release them as soon as they are complete and skip bandwidth estimation.

    Raises :class:`BypassUnavailable` if the receiver is not the aiortc receiver this was
    written for, or already started (its decoder thread would hold the old queue).
    """
    kind = getattr(receiver, "_RTCRtpReceiver__kind", None)
    missing = [
        name
        for name in (RECEIVER_DECODER_QUEUE, RECEIVER_JITTER_BUFFER, RECEIVER_ESTIMATOR)
        if not hasattr(receiver, name)
    ]
    if missing or kind not in JITTER_CAPACITY:
        raise BypassUnavailable(
            f"aiortc {aiortc_version()} receivers lack {', '.join(missing) or 'a kind'}"
        )
    if getattr(receiver, RECEIVER_STARTED, True):
        raise BypassUnavailable("the receiver already started: attach the sink on 'track'")
    sink_queue = LoopFrameQueue(sink, label)
    setattr(receiver, RECEIVER_DECODER_QUEUE, sink_queue)
    setattr(receiver, RECEIVER_JITTER_BUFFER, PromptJitterBuffer(kind))
    setattr(receiver, RECEIVER_ESTIMATOR, None)
    return sink_queue


def drop_abs_send_time(pc: Any) -> None:
    """Negotiate no abs-send-time on any of ``pc``'s transceivers (call between
    ``setRemoteDescription`` and ``createAnswer``). It only feeds REMB estimation: the
    rooms cannot change a publisher's bitrate (the browser caps it) nor a viewer's (no
    transcoding), so neither direction needs it; without it Chromium falls back to its
    loss-based estimate, and aiortc skips the per-packet estimator."""
    for transceiver in pc.getTransceivers():
        extensions = transceiver._headerExtensions
        transceiver._headerExtensions = [e for e in extensions if e.uri != ABS_SEND_TIME]


def fast_ms() -> int:
    """``aiortc.clock.current_ms`` (NTP-epoch milliseconds, read per received packet)
    from ``time.time()``."""
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)


def fast_ntp_time() -> int:
    """``aiortc.clock.current_ntp_time`` from ``time.time()``: the same 32.32 NTP value
    without building two ``datetime`` s (it runs twice per sent RTP packet)."""
    now = time.time()
    seconds = int(now)
    return ((seconds + NTP_UNIX_OFFSET) << 32) | int((now - seconds) * 4294967296.0)


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
    worker = getattr(worker, "__wrapped__", worker)
    if not callable(getattr(receiver, "get_decoder", None)):
        problems.append("aiortc.rtcrtpreceiver.get_decoder is gone")
    code = getattr(worker, "__code__", None)
    if code is None:
        problems.append("aiortc.rtcrtpreceiver.decoder_worker is gone")
    else:
        if "get_decoder" not in code.co_names:
            problems.append("decoder_worker no longer looks up the module-level get_decoder")
        if code.co_varnames[:4] != ("loop", "input_q", "output_q", "decode_error"):
            problems.append("decoder_worker(loop, input_q, output_q, decode_error) changed")
    rtp_receiver = getattr(receiver, "RTCRtpReceiver", None)
    if not callable(getattr(rtp_receiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli(media_ssrc) is gone")
    problems += _receiver_problems(rtp_receiver)
    problems += _jitter_buffer_problems()
    problems += _clock_problems()
    problems += ice.consent_problems()
    problems += egress_problems()
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


def _receiver_problems(rtp_receiver: Any) -> list[str]:
    """What :func:`attach_frame_sink` and :func:`drop_abs_send_time` rely on."""
    problems = []
    init = code_names(getattr(rtp_receiver, "__init__", None))
    receive = code_names(getattr(rtp_receiver, "receive", None))
    handle = code_names(getattr(rtp_receiver, "_handle_rtp_packet", None))
    for name in (RECEIVER_DECODER_QUEUE, RECEIVER_JITTER_BUFFER, RECEIVER_ESTIMATOR):
        if name not in init or name not in handle:
            problems.append(f"RTCRtpReceiver no longer keeps and uses self.{name}")
    if RECEIVER_STARTED not in init:
        problems.append(f"RTCRtpReceiver no longer keeps self.{RECEIVER_STARTED}")
    if "decoder_worker" not in receive or RECEIVER_DECODER_QUEUE not in receive:
        problems.append("RTCRtpReceiver.receive no longer starts decoder_worker on its queue")
    if "put" not in handle or "_RTCRtpReceiver__decoder_thread" not in handle:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer puts frames on its queue")
    connection: Any = aiortc.rtcpeerconnection.RTCPeerConnection
    if "_headerExtensions" not in code_names(connection.setRemoteDescription):
        problems.append("RTCPeerConnection no longer negotiates transceiver._headerExtensions")
    return problems


def _jitter_buffer_problems() -> list[str]:
    problems = []
    if "_remove_frame" not in code_names(JitterBuffer.add):
        problems.append("JitterBuffer.add no longer releases frames via _remove_frame")
    init = getattr(JitterBuffer.__init__, "__code__", None)
    if init is None or init.co_varnames[:4] != ("self", "capacity", "prefetch", "is_video"):
        problems.append("JitterBuffer(capacity, prefetch, is_video) changed")
    buffer = JitterBuffer(capacity=16)
    if not all(hasattr(buffer, a) for a in ("_capacity", "_origin", "_packets", "remove")):
        problems.append("JitterBuffer no longer keeps _capacity/_origin/_packets/remove()")
    if "marker" not in RtpPacket().__dict__:
        problems.append("RtpPacket.marker is gone")
    return problems


def _clock_problems() -> list[str]:
    problems = []
    original = getattr(aiortc.clock, "datetime_to_ntp", None)
    current = getattr(aiortc.clock, "current_datetime", None)
    epoch = getattr(aiortc.clock, "NTP_EPOCH", None)
    if not callable(original) or not callable(current) or epoch is None:
        problems.append("aiortc.clock.datetime_to_ntp/current_datetime/NTP_EPOCH are gone")
    else:
        if abs((original(current()) >> 32) - (fast_ntp_time() >> 32)) > 1:
            problems.append("aiortc.clock's NTP time is no longer NTP seconds << 32")
        if abs((current() - epoch).total_seconds() * 1000 - fast_ms()) > 1000:
            problems.append("aiortc.clock.current_ms is no longer NTP-epoch milliseconds")
    run_rtp = code_names(getattr(aiortc.rtcrtpsender.RTCRtpSender, "_run_rtp", None))
    if "clock" not in run_rtp or "current_ntp_time" not in run_rtp:
        problems.append("RTCRtpSender._run_rtp no longer calls clock.current_ntp_time()")
    return problems


def bypass_installed() -> bool:
    """Whether receivers currently hand over encoded frames (and the rest is installed)."""
    receiver: Any = aiortc.rtcrtpreceiver
    return (
        receiver.get_decoder is passthrough_decoder
        and receiver.decoder_worker is inline_aware_decoder_worker
        and aiortc.clock.current_ntp_time is fast_ntp_time
        and aiortc.clock.current_ms is fast_ms
        and ice.tolerant_consent_installed()
    )


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
    receiver.decoder_worker = inline_aware_decoder_worker
    clock: Any = aiortc.clock
    clock.current_ntp_time = fast_ntp_time
    clock.current_ms = fast_ms
    ice.install_tolerant_consent()
    log.info("decoder bypass installed on aiortc %s: receivers yield encoded frames", version)
