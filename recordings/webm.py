"""WebM files of encoded VP8/Opus frames, written and repaired with PyAV, never transcoded.

:class:`WebmWriter` muxes ``av.Packet`` s built from the bytes the publisher's encoder sent:
the output streams only carry codec parameters (size, sample rate, Opus header) and no
codec is ever run. The matroska muxer keeps a cluster in memory until the cluster closes,
so the writer caps clusters at :data:`CLUSTER_MS` and asks for every packet to be flushed
to the file: a process killed mid-way leaves all but the last cluster readable (measured
with a SIGKILLed server: 0.2–0.3 s lost). The file is also fsynced every
:data:`SYNC_SECONDS`, so a power loss costs little more.

:func:`remux` is the crash repair: a stream copy of whatever packets a file still yields
into a new file, which gets the index (cues) and duration the killed muxer never wrote.
"""

from __future__ import annotations

import fractions
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

#: Matroska cluster length cap: what a SIGKILL can lose at most, besides the last frames.
CLUSTER_MS = 500
#: Longest time the written bytes stay in the OS page cache only (a power loss, not just a
#: killed process, then loses at most this much more).
SYNC_SECONDS = 1.0
#: Millisecond time base: WebM's native timestamp resolution.
TIME_BASE = fractions.Fraction(1, 1000)
#: Muxer options: short clusters, each packet flushed, interleaving held at most 0.5 s.
MUXER_OPTIONS = {
    "cluster_time_limit": str(CLUSTER_MS),
    "flush_packets": "1",
    "max_interleave_delta": "500000",
}
DEFAULT_SIZE = (640, 480)


def vp8_frame_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame's header (RFC 6386, 9.1), else ``None``."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width & 0x3FFF, height & 0x3FFF


def opus_head(channels: int = 2, sample_rate: int = 48000) -> bytes:
    """The ``OpusHead`` identification header WebM keeps as the track's CodecPrivate.

    WebRTC's Opus is always negotiated as 48 kHz stereo; 312 samples of pre-skip is the
    libopus encoder's usual look-ahead.
    """
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, 312, sample_rate, 0, 0)


class WebmWriter:
    """One open WebM file with a VP8 video and/or an Opus audio stream.

    Not thread-safe: one thread at a time (the recorder's writer thread) calls it.
    """

    def __init__(self, path: Path, *, video_size: tuple[int, int] | None, audio: bool) -> None:
        self.path = path
        self._container: Any = av.open(str(path), "w", format="webm", options=MUXER_OPTIONS)
        # A second descriptor of the same file (opened once the muxer created it): fsync
        # through it reaches the muxer's writes.
        self._sync_fd: int | None = None
        self._synced = time.monotonic()
        self._streams: dict[str, Any] = {}
        self._last_pts: dict[str, int] = {}
        self.packets = 0
        self.last_pts = 0
        if video_size is not None:
            video = self._container.add_stream("vp8", rate=15)
            video.width, video.height = video_size
            video.time_base = TIME_BASE
            self._streams["video"] = video
        if audio:
            sound = self._container.add_stream("opus", rate=48000)
            sound.time_base = TIME_BASE
            sound.codec_context.extradata = opus_head()
            self._streams["audio"] = sound
        if not self._streams:
            self._container.close()
            raise ValueError(f"{path}: a recording needs a video or an audio stream")

    @property
    def kinds(self) -> set[str]:
        """The kinds of the file's streams."""
        return set(self._streams)

    def write(self, kind: str, data: bytes, pts_ms: int, keyframe: bool) -> bool:
        """Mux one encoded frame at ``pts_ms``; a frame older than its stream's last one
        is dropped (matroska needs monotonic timestamps). Returns whether it was written."""
        stream = self._streams.get(kind)
        if stream is None or pts_ms < self._last_pts.get(kind, 0):
            return False
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts_ms
        packet.time_base = TIME_BASE
        if keyframe and kind == "video":
            packet.is_keyframe = True
        self._container.mux(packet)
        self._last_pts[kind] = pts_ms
        self.packets += 1
        self.last_pts = max(self.last_pts, pts_ms)
        if self._sync_fd is None:
            self._sync_fd = os.open(self.path, os.O_RDONLY)
        now = time.monotonic()
        if now - self._synced >= SYNC_SECONDS:
            self._synced = now
            os.fsync(self._sync_fd)
        return True

    def close(self) -> None:
        """Write the trailer: cues (the seek index) and the duration; sync to disk."""
        try:
            self._container.close()
            if self._sync_fd is not None:
                os.fsync(self._sync_fd)
        finally:
            if self._sync_fd is not None:
                os.close(self._sync_fd)


@dataclass(frozen=True)
class MediaInfo:
    """What a recorded file holds, as a player sees it."""

    duration: float
    kinds: frozenset[str]
    width: int | None
    height: int | None
    packets: dict[str, int]


def probe(path: Path, *, decode: bool = False) -> MediaInfo:
    """Read every packet of ``path``: its streams, packet counts and the duration taken
    from the last packet's end (a killed file has no duration field). With ``decode``
    the frames are also decoded (a test's proof that the file plays)."""
    packets: dict[str, int] = {}
    end = 0.0
    width = height = None
    with av.open(str(path)) as container:
        for stream in container.streams:
            if stream.type == "video":
                context: Any = stream.codec_context
                width, height = context.width, context.height
        for packet in container.demux():
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            kind = packet.stream.type
            packets[kind] = packets.get(kind, 0) + 1
            duration = packet.duration or 0
            end = max(end, float((packet.pts + duration) * packet.time_base))
            if decode:
                packet.decode()
    return MediaInfo(end, frozenset(packets), width, height, packets)


def remux(source: Path, target: Path) -> int:
    """Stream-copy every readable packet of ``source`` into ``target``, which gets a
    proper index and duration. Stops quietly at a truncated tail. Returns the packets."""
    count = 0
    with av.open(str(source)) as inp:
        out: Any = av.open(str(target), "w", format="webm")
        try:
            mapping = {}
            for stream in inp.streams:
                if stream.type in ("video", "audio"):
                    mapping[stream.index] = out.add_stream_from_template(stream)
            try:
                for packet in inp.demux():
                    if packet.size == 0 or packet.dts is None:
                        continue
                    packet.stream = mapping[packet.stream.index]
                    out.mux(packet)
                    count += 1
            except (av.error.InvalidDataError, av.error.EOFError):
                pass  # the torn last cluster of a killed muxer
        finally:
            out.close()
    return count
