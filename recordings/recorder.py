"""The recorder: one WebM file per participant per room segment, from the encoded frames.

It observes a :class:`~proctor.room.RoomRegistry`: when a participant publishes it adds a
frame listener to the room; the listener (on the event loop, so it must stay cheap)
places each frame on a common wall-clock axis and posts it to the
:class:`~recordings.writer.WriterThread`. A file starts on a video keyframe (or on the
first audio frame of a microphone-only participant); it rolls over into a new segment
after ``segment_seconds`` (at the next keyframe, so every segment is seekable from its
start) and when the participant reconnects; it ends when the participant leaves. A
finished segment is handed to the ``seal`` callback (hash, storage, manifest).

Audio and video of one participant are aligned through their arrival times: each track's
RTP clock is anchored at the monotonic time its first frame arrived, so a frame's media
time is ``anchor + (rtp - first rtp) / rate``; the segment's timestamps count from the
media time of its first keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proctor.bypass import EncodedFrame
from recordings.webm import DEFAULT_SIZE, vp8_frame_size
from recordings.writer import WriterThread

if TYPE_CHECKING:
    from proctor.room import MediaRoom, RoomRegistry

log = logging.getLogger(__name__)

RATES = {"video": 90000, "audio": 48000}
#: A track whose media time strays this far from its arrival time is re-anchored (a
#: sender whose RTP clock jumped, a long network stall).
MAX_SKEW = 2.0
#: Frames waiting for the writer thread beyond which new ones are dropped (a stalled
#: disk must not eat the memory): about a minute of 30 learners' audio and video.
MAX_BACKLOG = 120_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Segment:
    """One recording file while it is written and when it is handed over for sealing."""

    key: str
    room_id: str
    participant_id: str
    kinds: frozenset[str]
    path: Path
    started_at: datetime
    reason: str
    ended_at: datetime | None = None

    def meta(self) -> dict[str, Any]:
        """The sidecar contents (JSON)."""
        return {
            "key": self.key,
            "room": self.room_id,
            "participant": self.participant_id,
            "kinds": sorted(self.kinds),
            "started_at": self.started_at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_meta(cls, path: Path, meta: dict[str, Any]) -> Segment:
        """The segment described by a sidecar (crash repair)."""
        return cls(
            key=str(meta["key"]),
            room_id=str(meta["room"]),
            participant_id=str(meta["participant"]),
            kinds=frozenset(str(k) for k in meta["kinds"]),
            path=path,
            started_at=datetime.fromisoformat(str(meta["started_at"])),
            reason=str(meta.get("reason", "start")),
        )


Sealer = Callable[[Segment], Awaitable[None]]


def safe_part(value: str) -> str:
    """A room or participant id as a file-name part (never a path separator)."""
    return _UNSAFE.sub("_", value)[:80] or "_"


@dataclass
class TrackClock:
    """Maps one track's RTP timestamps onto the monotonic clock (32-bit wrap-around and
    late, reordered frames included)."""

    rate: int
    anchor: float
    first: int  # the unwrapped timestamp at ``anchor``
    last: int  # the newest raw timestamp seen
    unwrapped: int  # ... and its unwrapped value

    @classmethod
    def start(cls, rate: int, timestamp: int, now: float) -> TrackClock:
        """A clock whose first frame arrived at ``now``."""
        return cls(rate, now, timestamp, timestamp, timestamp)

    def at(self, timestamp: int, now: float) -> float:
        """The media time (monotonic seconds) of a frame arriving at ``now``."""
        delta = (timestamp - self.last) % (1 << 32)
        if delta >= 1 << 31:
            delta -= 1 << 32  # older than the newest frame
        unwrapped = self.unwrapped + delta
        if delta > 0:
            self.last, self.unwrapped = timestamp, unwrapped
        media = self.anchor + (unwrapped - self.first) / self.rate
        if abs(media - now) > MAX_SKEW:
            self.anchor, self.first = now, unwrapped
            media = now
        return media


@dataclass
class _Current:
    segment: Segment
    start: float  # the media time of pts 0


@dataclass
class ParticipantRecording:
    """The recording of one participant in one room, across segments and reconnects."""

    recorder: Recorder
    room_id: str
    participant_id: str
    kinds: frozenset[str]
    remove_listener: Callable[[], None] = lambda: None
    clocks: dict[str, TrackClock] = field(default_factory=dict)
    current: _Current | None = None
    frames: int = 0
    dropped: int = 0
    next_reason: str = "start"

    def on_frame(self, frame: EncodedFrame) -> None:
        """The room's frame listener (event loop; cheap)."""
        now = time.monotonic()
        clock = self.clocks.get(frame.kind)
        if clock is None:
            clock = TrackClock.start(RATES.get(frame.kind, 90000), frame.timestamp, now)
            self.clocks[frame.kind] = clock
        media = clock.at(frame.timestamp, now)
        current = self.current
        opens_segment = frame.keyframe and (frame.kind == "video" or "video" not in self.kinds)
        if current is None:
            if not opens_segment:
                return
            current = self._open(frame, media, now, self.next_reason)
        elif opens_segment and media - current.start >= self.recorder.segment_seconds:
            self.recorder.finish(current.segment, current.start, now)
            current = self._open(frame, media, now, "rollover")
        pts = round((media - current.start) * 1000)
        if pts < 0:
            return
        if self.recorder.writer.backlog() > MAX_BACKLOG:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "room %s: recording of %s is behind, %d frames dropped",
                    self.room_id,
                    self.participant_id,
                    self.dropped,
                )
            return
        self.frames += 1
        self.recorder.writer.write(current.segment.key, frame.kind, frame.data, pts, frame.keyframe)

    def _open(self, frame: EncodedFrame, media: float, now: float, reason: str) -> _Current:
        recorder = self.recorder
        started_at = recorder.clock() - timedelta(seconds=now - media)
        key = uuid.uuid4().hex
        name = f"{safe_part(self.participant_id)}-{started_at:%Y%m%dT%H%M%S}-{key[:8]}.webm"
        segment = Segment(
            key=key,
            room_id=self.room_id,
            participant_id=self.participant_id,
            kinds=self.kinds,
            path=recorder.spool / safe_part(self.room_id) / name,
            started_at=started_at,
            reason=reason,
        )
        size = None
        if "video" in self.kinds:
            size = (vp8_frame_size(frame.data) if frame.kind == "video" else None) or DEFAULT_SIZE
        recorder.writer.open(key, segment.path, size, "audio" in self.kinds, segment.meta())
        self.current = _Current(segment, media)
        log.info(
            "room %s: recording %s (%s) into %s",
            self.room_id,
            self.participant_id,
            reason,
            segment.path.name,
        )
        return self.current

    def cut(self, reason: str) -> None:
        """End the current segment (a reconnect or leave); the next keyframe opens one."""
        current, self.current = self.current, None
        self.clocks.clear()
        self.next_reason = "reconnect" if reason == "reconnect" else "start"
        if current is not None:
            self.recorder.finish(current.segment, current.start, time.monotonic())
            log.info("room %s: recording of %s cut (%s)", self.room_id, self.participant_id, reason)


class Recorder:
    """Records every publisher of the rooms it observes; lives on the app."""

    def __init__(
        self,
        spool: Path,
        seal: Sealer,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        segment_seconds: float = 600.0,
    ) -> None:
        self.spool = spool
        self.clock = clock
        self.segment_seconds = segment_seconds
        self.writer = WriterThread()
        self._seal = seal
        self._recordings: dict[tuple[str, str], ParticipantRecording] = {}
        self._sealing: set[asyncio.Task[None]] = set()
        self._registry: RoomRegistry | None = None

    def attach(self, registry: RoomRegistry) -> None:
        """Record every room of ``registry``, present and future."""
        registry.observers.append(self.on_publisher)
        self._registry = registry

    def recording(self, room_id: str, participant_id: str) -> ParticipantRecording | None:
        """The live recording of a participant, if any."""
        return self._recordings.get((room_id, participant_id))

    def on_publisher(self, room: MediaRoom, event: str, participant_id: str) -> None:
        """The room's publisher observer: start, cut or end a participant's recording."""
        key = (room.room_id, participant_id)
        recording = self._recordings.get(key)
        if event == "leave":
            if recording is not None:
                del self._recordings[key]
                recording.remove_listener()
                recording.cut("leave")
            return
        kinds = frozenset(
            next(
                (i.kinds for i in room.publishers() if i.participant_id == participant_id),
                {"video", "audio"},
            )
        )
        if recording is not None:
            # A reconnect: a new peer connection with new RTP clocks, so a new file.
            recording.cut(event)
            recording.kinds = kinds
            return
        recording = ParticipantRecording(self, room.room_id, participant_id, kinds)
        recording.remove_listener = room.add_frame_listener(participant_id, recording.on_frame)
        self._recordings[key] = recording

    def finish(self, segment: Segment, start: float, now: float) -> None:
        """Close ``segment`` on the writer thread, then seal it (in the background)."""
        closing = self.writer.close_segment(segment.key)

        async def seal() -> None:
            packets, last_pts = await closing
            if packets == 0:
                log.info("recording %s is empty, dropped", segment.path.name)
                segment.path.unlink(missing_ok=True)
                segment.path.with_suffix(".json").unlink(missing_ok=True)
                return
            ended = segment.started_at + timedelta(milliseconds=last_pts)
            await self._seal(dataclasses.replace(segment, ended_at=ended))

        task = asyncio.ensure_future(self._guarded(seal(), segment))
        self._sealing.add(task)
        task.add_done_callback(self._sealing.discard)

    async def _guarded(self, job: Awaitable[None], segment: Segment) -> None:
        try:
            await job
        except Exception:
            # The file stays in the spool; the next start's repair seals it.
            log.exception("recording %s could not be sealed", segment.path)

    async def close(self) -> None:
        """End every recording, wait until each file is sealed, stop the writer thread."""
        if self._registry is not None:
            with contextlib.suppress(ValueError):
                self._registry.observers.remove(self.on_publisher)
        for key, recording in list(self._recordings.items()):
            del self._recordings[key]
            recording.remove_listener()
            recording.cut("shutdown")
        while self._sealing:
            await asyncio.gather(*self._sealing, return_exceptions=True)
        await self.writer.stop()
