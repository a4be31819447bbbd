"""Real media for the SFU tests, cheap to send: a pre-encoded VP8 + Opus clip.

``make_clip`` encodes a few seconds of a moving test pattern (VP8, keyframe every second)
and an Opus tone into a WebM file once per session; ``ClipTrack`` replays its packets in
real time as ``av.Packet`` s, so an aiortc publisher only packetises (no encoding). A PLI
from the server makes the track jump back to the start of the current group of pictures,
so the next frame it sends is a keyframe, as a browser's encoder would do.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from PIL import Image, ImageDraw

from proctor.bypass import EncodedFrame
from proctor.forwarding import route_keyframe_requests

WIDTH, HEIGHT, FPS = 640, 480, 15
AUDIO_RATE, AUDIO_SAMPLES = 48000, 960


@dataclass(frozen=True)
class Clip:
    """The encoded packets of the clip, in order: video ``(data, keyframe)``, audio data."""

    path: Path
    video: list[tuple[bytes, bool]]
    audio: list[bytes]


def digest(data: bytes) -> bytes:
    """A short fingerprint of one encoded frame."""
    return hashlib.blake2b(data, digest_size=12).digest()


def _picture(index: int) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), (20, 40, 90))
    draw = ImageDraw.Draw(image)
    for i in range(8):
        draw.rectangle((i * 80, 0, i * 80 + 39, 60), fill=(30 * i, 255 - 30 * i, 128))
    x = (index * 17) % (WIDTH - 120)
    draw.ellipse((x, 180, x + 120, 300), fill=(250, 200, 40))
    draw.text((20, HEIGHT - 40), f"frame {index}", fill=(255, 255, 255))
    return image


def make_clip(directory: Path, seconds: int = 3) -> Clip:
    """Encode the test clip into ``directory/clip.webm`` and read its packets back."""
    path = directory / "clip.webm"
    with av.open(str(path), "w", format="webm") as container:
        video = container.add_stream(
            "libvpx",
            rate=FPS,
            options={
                "deadline": "realtime",
                "cpu-used": "16",
                "lag-in-frames": "0",
                "auto-alt-ref": "0",
            },
        )
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 600_000
        video.codec_context.gop_size = FPS
        # One thread: libvpx's own threads thrash on a busy 2-core machine (10× slower).
        video.codec_context.thread_count = 1
        audio = container.add_stream("libopus", rate=AUDIO_RATE)
        audio.layout = "mono"
        for index in range(seconds * FPS):
            frame = av.VideoFrame.from_image(_picture(index)).reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = fractions.Fraction(1, FPS)
            if index % FPS == 0:
                frame.pict_type = av.video.frame.PictureType.I
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for index in range(seconds * AUDIO_RATE // AUDIO_SAMPLES):
            start = index * AUDIO_SAMPLES
            samples = array.array(
                "h",
                (
                    int(8000 * math.sin(2 * math.pi * 440 * (start + n) / AUDIO_RATE))
                    for n in range(AUDIO_SAMPLES)
                ),
            )
            sound = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
            sound.planes[0].update(samples.tobytes())
            sound.sample_rate = AUDIO_RATE
            sound.pts = start
            sound.time_base = fractions.Fraction(1, AUDIO_RATE)
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
    video_packets: list[tuple[bytes, bool]] = []
    audio_packets: list[bytes] = []
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size == 0:
                continue
            if packet.stream.type == "video":
                video_packets.append((bytes(packet), bool(packet.is_keyframe)))
            else:
                audio_packets.append(bytes(packet))
    return Clip(path, video_packets, audio_packets)


class ClipTrack(MediaStreamTrack):
    """Replays the clip's packets of one kind, looping, in real time."""

    def __init__(self, kind: str, clip: Clip) -> None:
        super().__init__()
        self.kind = kind
        if kind == "video":
            self._packets = clip.video
            self._step, self._rate = 90000 // FPS, 90000
        else:
            self._packets = [(data, True) for data in clip.audio]
            self._step, self._rate = AUDIO_SAMPLES, AUDIO_RATE
        self._time_base = fractions.Fraction(1, self._rate)
        self._index = 0
        self._count = 0
        self._start: float | None = None
        self.sent: list[bytes] = []
        self.keyframe_requests = 0
        self._running = asyncio.Event()
        self._running.set()

    def pause(self) -> None:
        """Stop sending (a camera that froze) until :meth:`resume`."""
        self._running.clear()

    def resume(self) -> None:
        """Send again, starting with a keyframe."""
        self.request_keyframe()
        self._running.set()

    def request_keyframe(self) -> None:
        """A PLI/FIR arrived: restart the current group of pictures."""
        self.keyframe_requests += 1
        position = self._index % len(self._packets)
        while position > 0 and not self._packets[position][1]:
            position -= 1
        self._index = position

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._running.is_set():
            await self._running.wait()
            self._start = time.monotonic() - self._count * self._step / self._rate
        if self._start is None:
            self._start = time.monotonic()
        else:
            due = self._start + self._count * self._step / self._rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        data, _ = self._packets[self._index % len(self._packets)]
        packet = av.Packet(data)
        packet.pts = self._count * self._step
        packet.time_base = self._time_base
        self._index += 1
        self._count += 1
        self.sent.append(digest(data))
        return packet


class ClipPublisher:
    """A learner's browser stand-in: publishes the clip's video and audio."""

    def __init__(self, clip: Clip, ice: RTCConfiguration) -> None:
        self.pc = RTCPeerConnection(ice)
        self.video = ClipTrack("video", clip)
        self.audio = ClipTrack("audio", clip)
        for track in (self.video, self.audio):
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video":
                route_keyframe_requests(transceiver.sender, self.video.request_keyframe)

    async def offer(self) -> RTCSessionDescription:
        """The publish offer (ICE candidates gathered)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription

    async def connect(
        self, publish: Callable[[RTCSessionDescription], Awaitable[RTCSessionDescription]]
    ) -> None:
        """Offer, hand the offer to ``publish`` and apply its answer."""
        await self.pc.setRemoteDescription(await publish(await self.offer()))

    async def close(self) -> None:
        await self.pc.close()


@dataclass
class Received:
    """What a viewer's track delivered."""

    frames: list[EncodedFrame] = field(default_factory=list)
    other: int = 0

    @property
    def digests(self) -> list[bytes]:
        return [digest(frame.data) for frame in self.frames]


class Viewer:
    """A commission member's browser stand-in: receives video and audio (bypassed too, so
    what arrives are the encoded frames the server forwarded, byte for byte)."""

    def __init__(self, ice: RTCConfiguration, kinds: tuple[str, ...] = ("video", "audio")):
        self.pc = RTCPeerConnection(ice)
        self.received = {"video": Received(), "audio": Received()}
        self._tasks: list[asyncio.Task[None]] = []
        for kind in kinds:
            self.pc.addTransceiver(kind, direction="recvonly")
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.create_task(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        received = self.received[track.kind]
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, EncodedFrame):
                received.frames.append(frame)
            else:
                received.other += 1

    @property
    def video(self) -> list[EncodedFrame]:
        return self.received["video"].frames

    @property
    def audio(self) -> list[EncodedFrame]:
        return self.received["audio"].frames

    async def offer(self) -> RTCSessionDescription:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription

    async def connect(
        self, subscribe: Callable[[RTCSessionDescription], Awaitable[RTCSessionDescription]]
    ) -> None:
        """Offer, hand the offer to ``subscribe`` and apply its answer."""
        await self.pc.setRemoteDescription(await subscribe(await self.offer()))

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def wait_for(
    predicate: Callable[[], object], within: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


def is_subsequence(part: list[bytes], whole: list[bytes]) -> bool:
    """Whether ``part`` appears in ``whole`` in order (gaps allowed)."""
    remaining = iter(whole)
    return all(item in remaining for item in part)
