"""A subscriber's outgoing track: the publisher's encoded frames, sent on.

Once the sender is started, a track sends each frame at once through its
:class:`~proctor.egress.Egress` (the payloads packetised once for every viewer, see
:mod:`proctor.egress`). Without an egress (aiortc's own sender loop, e.g. before the
sender started or where the egress is not installed) it queues the frame as an
``av.Packet`` for ``RTCRtpSender``, which packetises it with ``encoder.pack``: a queue
hop (a deque and a future, not an ``asyncio.Queue``) and packetisation per frame.
Each subscriber has its own bounded queue: a slow subscriber never holds back the
publisher or the other subscribers. On overflow the queue is emptied and video waits for
the next keyframe (and asks the publisher for one), because a VP8 delta frame without its
references only shows garbage. A subscriber that just joined waits for a keyframe too.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import logging
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from proctor.bypass import EncodedFrame
from proctor.egress import Egress

log = logging.getLogger(__name__)

CLOCK_RATES = {"video": 90000, "audio": 48000}
TIME_BASES = {kind: fractions.Fraction(1, rate) for kind, rate in CLOCK_RATES.items()}
#: The timestamp step inserted where a new source (a publisher's reconnect) begins.
SPLICE_STEPS = {"video": 90000 // 15, "audio": 960}
#: Default queue bounds: about 2 s of 15 fps video, 1 s of 20 ms Opus frames.
QUEUE_SIZES = {"video": 30, "audio": 50}


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Send this sender's incoming PLI/FIR to ``request`` instead of its (absent) encoder.

    ``RTCRtpSender._send_keyframe`` only sets a flag for its own encoder, which a
    forwarding sender never uses; the bound method is replaced on this instance only.
    """
    setattr(sender, "_send_keyframe", request)  # noqa: B010 - instance override on purpose


class ForwardedTrack(MediaStreamTrack):
    """One kind (video or audio) of one publisher, as sent to one subscriber."""

    def __init__(
        self,
        kind: str,
        *,
        label: str,
        on_keyframe_needed: Callable[[], None],
        max_queue: int | None = None,
    ) -> None:
        super().__init__()
        if kind not in CLOCK_RATES:
            raise ValueError(f"track kind {kind!r} cannot be forwarded")
        self.kind = kind
        self.label = label
        self._on_keyframe_needed = on_keyframe_needed
        # A deque and one waiter future instead of an asyncio.Queue: one producer (the
        # room, on the loop) and one consumer (this track's sender), so the Queue's
        # getter/putter bookkeeping is pure per-frame overhead on the hot path.
        self._queue: collections.deque[EncodedFrame | None] = collections.deque()
        self._max_queue = max_queue or QUEUE_SIZES[kind]
        self._waiter: asyncio.Future[None] | None = None
        self._time_base = TIME_BASES[kind]
        self._waiting_for_keyframe = True
        self._splice = False
        self._offset = 0
        self._last_out: int | None = None
        self.frames_in = 0
        self.frames_out = 0
        self.bytes_out = 0
        self.dropped = 0
        self.overflows = 0
        self.egress: Egress | None = None

    @property
    def waiting_for_keyframe(self) -> bool:
        """Whether frames are being skipped until the next keyframe."""
        return self._waiting_for_keyframe

    def use_egress(self, egress: Egress) -> None:
        """Send through ``egress`` from now on (its sender started). Frames queued for
        aiortc's loop are dropped; video waits for a keyframe, which is asked for."""
        self.egress = egress
        if self._drain() and self.kind == "video":
            self._waiting_for_keyframe = True
            self._on_keyframe_needed()

    def drop_egress(self) -> None:
        """The sender stopped."""
        self.egress = None

    def push(self, frame: EncodedFrame, payloads: list[bytes] | None = None) -> None:
        """Send or queue one frame of the publisher (on the event loop, never blocks).

        ``payloads`` are the frame's RTP payloads (:class:`~proctor.egress.Packetizer`);
        with them and an egress the frame is sent at once.
        """
        if self.readyState != "live":
            return
        self.frames_in += 1
        if self._waiting_for_keyframe:
            if not frame.keyframe:
                self.dropped += 1
                return
            self._waiting_for_keyframe = False
        egress = self.egress
        if egress is not None and payloads is not None:
            try:
                sent = egress.send(self._pts(frame), payloads)
            except Exception:
                # Never into the room's fan-out: the other viewers and the recorder of
                # this publisher must get the frame. This viewer's track ends.
                log.exception("%s: sending failed, the track ends", self.label)
                egress.close()
                self.stop()
                return
            if sent:
                self.frames_out += 1
                self.bytes_out += len(frame.data)
            else:
                self.dropped += 1
            return
        if len(self._queue) >= self._max_queue:
            self._overflow()
            if not frame.keyframe:
                self.dropped += 1
                return
            self._waiting_for_keyframe = False
        self._put(frame)

    def _put(self, item: EncodedFrame | None) -> None:
        self._queue.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def restart(self) -> None:
        """The publisher's stream starts again (reconnect): wait for a keyframe and splice
        its timestamps onto ours so the subscriber's jitter buffer sees time moving on."""
        self._splice = True
        self._waiting_for_keyframe = True
        self._drain()

    def _overflow(self) -> None:
        self.overflows += 1
        self.dropped += self._drain()
        self._waiting_for_keyframe = True
        log.info("%s: queue overflow, waiting for a keyframe", self.label)
        if self.kind == "video":
            self._on_keyframe_needed()

    def _drain(self) -> int:
        dropped = sum(1 for item in self._queue if item is not None)
        self._queue.clear()
        return dropped

    async def recv(self) -> av.Packet[Any]:
        """The next frame as an ``av.Packet`` (pts in the codec's RTP clock)."""
        if self.readyState != "live":
            raise MediaStreamError
        while not self._queue:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        frame = self._queue.popleft()
        if frame is None:
            raise MediaStreamError
        packet = av.Packet(frame.data)
        packet.pts = self._pts(frame)
        packet.time_base = self._time_base
        self.frames_out += 1
        self.bytes_out += len(frame.data)
        return packet

    def _pts(self, frame: EncodedFrame) -> int:
        """The frame's timestamp on this track: from 0, spliced over reconnects."""
        if self._last_out is None:
            self._offset = -frame.timestamp
        elif self._splice:
            self._offset = self._last_out + SPLICE_STEPS[self.kind] - frame.timestamp
        self._splice = False
        pts = frame.timestamp + self._offset
        self._last_out = pts
        return pts

    def stop(self) -> None:
        """End the track; a sender blocked in :meth:`recv` wakes up and stops."""
        if self.readyState == "live":
            self._drain()
            self._put(None)
        super().stop()
