"""Egress: the send path of forwarded media, packetised once per frame for all viewers.

aiortc's ``RTCRtpSender`` runs a task per sender that, for every frame, awaits its track,
packetises the frame (the VP8 payload descriptor), builds an ``RtpPacket`` per payload,
serialises its header extensions and awaits three coroutine layers per packet (DTLS, ICE,
aioice) down to the UDP socket. In a room every viewer of a publisher gets the same
payloads, so the room packetises a frame once (:class:`Packetizer`, one per publisher)
and each viewer's :class:`Egress` only writes its own 12-byte RTP header (its SSRC,
sequence numbers and timestamps) in front of the shared payloads, protects the packet
with its own SRTP session and hands it to the UDP transport, synchronously from the
room's fan-out: no task wake-up, no await, no per-packet objects.

aiortc keeps doing everything else for the sender: negotiation, RTCP (sender reports
from the counters kept here, receiver reports, NACKs: lost packets are retransmitted from
a history kept here, wrapped as RTX the way aiortc does it), keyframe requests
(:func:`proctor.forwarding.route_keyframe_requests`) and ``stop()``. The header
extensions (the ``mid``) are serialised once per sender by aiortc's own serialiser.

A viewer whose selected ICE pair is relayed (TURN) cannot be written to synchronously;
its packets go through aiortc's awaitable path, in order, from the sender's own task.
:func:`egress_problems` lists the aiortc/aioice internals this relies on;
``install_decoder_bypass`` refuses to run when any is missing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import struct
from collections.abc import Callable
from typing import Any

import aioice.ice
import aiortc.clock
from aiortc import RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket

log = logging.getLogger(__name__)

#: The RTP fixed header: V/P/X/CC, M/PT, sequence number, timestamp, SSRC.
RTP_HEADER = struct.Struct("!BBHII")
#: The sender's private attributes used here (name-mangled).
SENDER_ATTRIBUTES = (
    "_RTCRtpSender__rtp_started",
    "_RTCRtpSender__rtp_exited",
    "_RTCRtpSender__rtp_history",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__mid",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__packet_count",
)
DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"


class Packetizer:
    """A publisher's frames as RTP payloads, made once per frame for every viewer.

    VP8 frames get the payload descriptor with a picture id counted per publisher (a
    viewer that skipped frames sees a gap, which is what the picture id is for); Opus
    frames are their own payload.
    """

    def __init__(self) -> None:
        self._picture_id = 0

    def payloads(self, kind: str, codec: str, data: bytes) -> list[bytes]:
        """The RTP payloads of one frame."""
        if kind == "video" and codec.upper() == "VP8":
            payloads: list[bytes] = Vp8Encoder._packetize(data, self._picture_id)
            self._picture_id = (self._picture_id + 1) & 0x7FFF
            return payloads
        return [data]


class Egress:
    """One sender's RTP output: a viewer's copy of one kind of one publisher."""

    def __init__(self, sender: RTCRtpSender, codec: RTCRtpCodecParameters, origin: int) -> None:
        target: Any = sender
        self._sender = target
        self._dtls: Any = sender.transport
        self._pt = (codec.payloadType or 0) & 0x7F
        self._ssrc = sender._ssrc
        self._origin = origin
        self._sequence = secrets.randbits(16)
        probe = RtpPacket(payload_type=self._pt, ssrc=self._ssrc)
        probe.extensions.mid = target._RTCRtpSender__mid
        header = probe.serialize(target._RTCRtpSender__rtp_header_extensions_map)
        self._first = header[0]
        self._extensions = header[12:]
        self._history: dict[int, tuple[int, int, int, bytes]] = {}
        self._relayed: collections.deque[bytes] = collections.deque()
        self._relay_waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.packets = 0
        self.relayed_packets = 0

    def send(self, timestamp: int, payloads: list[bytes]) -> bool:
        """Send one frame (its RTP timestamp and payloads); False if it cannot be sent."""
        dtls = self._dtls
        if self.closed or dtls._state is not State.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return False
        ts = (self._origin + timestamp) & 0xFFFFFFFF
        protect = dtls._tx_srtp.protect
        direct = type(pair.protocol) is aioice.ice.StunProtocol
        transport = pair.protocol.transport if direct else None
        address = pair.remote_addr
        history = self._history
        seq = self._sequence
        last = len(payloads) - 1
        first, pt, ssrc, extensions = self._first, self._pt, self._ssrc, self._extensions
        sent = 0
        for index, payload in enumerate(payloads):
            marker = 0x80 if index == last else 0
            data = protect(
                RTP_HEADER.pack(first, marker | pt, seq, ts, ssrc) + extensions + payload
            )
            history[seq % RTP_HISTORY_SIZE] = (seq, ts, marker, payload)
            if transport is not None:
                transport.sendto(data, address)
            else:
                self._relay(data)
            sent += len(data)
            seq = (seq + 1) & 0xFFFF
        self._sequence = seq
        count = last + 1
        sender = self._sender
        sender._RTCRtpSender__ntp_timestamp = aiortc.clock.current_ntp_time()
        sender._RTCRtpSender__rtp_timestamp = ts
        sender._RTCRtpSender__octet_count += sum(len(p) for p in payloads)
        sender._RTCRtpSender__packet_count += count
        setattr(dtls, DTLS_TX_BYTES, getattr(dtls, DTLS_TX_BYTES) + sent)
        setattr(dtls, DTLS_TX_PACKETS, getattr(dtls, DTLS_TX_PACKETS) + count)
        self.packets += count
        return True

    def _relay(self, data: bytes) -> None:
        self._relayed.append(data)
        self.relayed_packets += 1
        waiter = self._relay_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run_relay(self) -> None:
        """Send relayed packets in order through aiortc's path until closed."""
        send = self._dtls.transport._send
        while not self.closed:
            while self._relayed:
                await send(self._relayed.popleft())
            self._relay_waiter = asyncio.get_running_loop().create_future()
            await self._relay_waiter

    def close(self) -> None:
        """Stop sending; the relay task ends."""
        self.closed = True
        self._relayed.clear()
        waiter = self._relay_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def retransmit(self, sequence_number: int) -> None:
        """A NACKed packet again, from the history, through aiortc's retransmission."""
        entry = self._history.get(sequence_number % RTP_HISTORY_SIZE)
        if entry is None or entry[0] != sequence_number:
            return
        seq, ts, marker, payload = entry
        packet = RtpPacket(
            payload_type=self._pt,
            marker=1 if marker else 0,
            sequence_number=seq,
            timestamp=ts,
            ssrc=self._ssrc,
            payload=payload,
        )
        packet.extensions.mid = self._sender._RTCRtpSender__mid
        self._sender._RTCRtpSender__rtp_history[seq % RTP_HISTORY_SIZE] = packet
        await RTCRtpSender._retransmit(self._sender, sequence_number)


def install_egress(
    sender: RTCRtpSender,
    attach: Callable[[Egress], None],
    detach: Callable[[], None],
) -> None:
    """Make ``sender`` send through an :class:`Egress` instead of its track loop.

    When aiortc starts the sender (after DTLS is up) an egress is made and handed to
    ``attach``; when the sender stops, ``detach`` is called. Instance overrides only:
    other senders of the process keep aiortc's own loop.
    """
    target: Any = sender
    state: dict[str, Egress] = {}

    async def run_rtp(codec: RTCRtpCodecParameters) -> None:
        target._RTCRtpSender__rtp_started.set()
        egress = Egress(sender, codec, origin=secrets.randbits(32))
        state["egress"] = egress
        try:
            attach(egress)
            await egress.run_relay()
        except (asyncio.CancelledError, ConnectionError):
            pass
        except Exception:
            log.exception("egress of sender %s failed", target._ssrc)
        finally:
            egress.close()
            with contextlib.suppress(Exception):
                detach()
            target._RTCRtpSender__rtp_exited.set()

    async def retransmit(sequence_number: int) -> None:
        egress = state.get("egress")
        if egress is not None:
            await egress.retransmit(sequence_number)

    setattr(target, "_run_rtp", run_rtp)  # noqa: B010 - instance override on purpose
    setattr(target, "_retransmit", retransmit)  # noqa: B010


def code_names(function: Any) -> tuple[str, ...]:
    """The global and attribute names a function's code uses (empty if it has none)."""
    code = getattr(function, "__code__", None)
    return tuple(code.co_names) if code is not None else ()


def egress_problems() -> list[str]:
    """What is missing from aiortc's and aioice's internals that :class:`Egress` uses."""
    problems = []
    init = code_names(getattr(RTCRtpSender, "__init__", None)) + code_names(
        getattr(RTCRtpSender, "send", None)
    )
    for name in SENDER_ATTRIBUTES:
        if name not in init:
            problems.append(f"RTCRtpSender no longer keeps self.{name}")
    if "_run_rtp" not in code_names(getattr(RTCRtpSender, "send", None)):
        problems.append("RTCRtpSender.send no longer starts self._run_rtp(codec)")
    if "_retransmit" not in code_names(getattr(RTCRtpSender, "_handle_rtcp_packet", None)):
        problems.append("RTCRtpSender no longer retransmits NACKed packets via _retransmit")
    if not callable(getattr(Vp8Encoder, "_packetize", None)):
        problems.append("Vp8Encoder._packetize(buffer, picture_id) is gone")
    dtls_init = code_names(getattr(RTCDtlsTransport, "__init__", None))
    for name in (DTLS_TX_BYTES, DTLS_TX_PACKETS, "_tx_srtp", "_state"):
        if name not in dtls_init:
            problems.append(f"RTCDtlsTransport no longer keeps self.{name}")
    if "_nominated" not in code_names(getattr(aioice.ice.Connection, "__init__", None)):
        problems.append("aioice Connection no longer keeps _nominated pairs")
    if "transport" not in code_names(getattr(aioice.ice.StunProtocol, "connection_made", None)):
        problems.append("aioice StunProtocol no longer keeps its datagram transport")
    send = code_names(getattr(aioice.ice.Connection, "sendto", None))
    if "protocol" not in send or "remote_addr" not in send:
        problems.append("aioice Connection.sendto no longer sends on pair.protocol/remote_addr")
    return problems
