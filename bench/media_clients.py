"""Client side of the media benchmark (bench/media_load.py): cheap publishers and viewers.

A publisher replays a pre-encoded VP8 + Opus clip as ``av.Packet`` s, so aiortc only
packetises and encrypts (no encoding); a viewer receives with the decoder bypass of
:mod:`proctor.bypass` installed in this process, so it gets the encoded frames and never
decodes. Both run in load-generator processes (:func:`generator_main`), each with its own
asyncio loop, driven over a ``multiprocessing`` pipe by the parent.

The clip generator and the replaying track follow ``tests/proctor/media.py`` (copied, not
imported: bench code does not depend on tests/), with two changes:

* the picture is textured and noisy so the encoder really spends the browser's bitrate
  cap (500 kbit/s, web/static/js/webrtc.js) instead of a few kbit/s of flat colour;
* **frame-index marker in the RTP timestamps** for end-to-end latency that survives a
  transcoding server. The video pts step from frame k-1 to frame k is
  ``6000 + 6 * ((k % 128) - 64)`` ticks of the 90 kHz clock (±4.3 ms of timestamp jitter,
  no drift). Every hop keeps timestamps up to a constant offset (aiortc's
  ``TimestampMapper``, the SFU's ``ForwardedTrack``, and also the stock decoder → encoder
  path, which rounds them by a tick or two), so the step between two consecutive frames at
  the viewer names ``k mod 128``; the wall clock (latency < 8.5 s) picks k, which fixes the
  offset (the offset most pairs agree on is taken; disagreeing pairs are counted), and then
  every received frame maps to the publisher's frame index and its send time
  (``time.monotonic()``, system-wide, when the publisher's track handed the packet to
  aiortc's sender). Against the SFU the bytes are the publisher's, so the latency is also
  computed from content digests as a cross-check (``latency_check_digest_*``).
"""

from __future__ import annotations

import array
import asyncio
import bisect
import contextlib
import fractions
import hashlib
import itertools
import math
import random
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import av
import socketio
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from PIL import Image, ImageDraw

from proctor.bypass import EncodedFrame, attach_frame_sink, install_decoder_bypass
from proctor.forwarding import route_keyframe_requests

WIDTH, HEIGHT, FPS = 640, 480, 15
AUDIO_RATE, AUDIO_SAMPLES = 48000, 960
LONG_PTIME_MS = 40
VIDEO_STEP = 90000 // FPS
MARK_PERIOD = 128  # frames: the marker repeats every 8.5 s (latency must stay below it)
MARK_GRAIN = 6  # ticks: the marker steps are this far apart (timestamps may be rounded)
NS = "/proctor"
SESSION_COOKIE = "examroom_session"
PASSWORD = "media-bench-pw"


# ---------------------------------------------------------------------------- the clip


@dataclass(frozen=True)
class Clip:
    """The encoded packets of the clip, in order: video ``(data, keyframe)``, audio data."""

    path: Path
    video: list[tuple[bytes, bool]]
    audio: list[bytes]
    #: the same sound as :data:`LONG_PTIME_MS` Opus packets (what a browser sends when the
    #: answer asks ``a=ptime:40``, as the SFU's publish answer does)
    audio_long: list[bytes] = field(default_factory=list)

    @property
    def video_kbps(self) -> float:
        return sum(len(d) for d, _ in self.video) * 8 / (len(self.video) / FPS) / 1000

    @property
    def audio_kbps(self) -> float:
        seconds = len(self.audio) * AUDIO_SAMPLES / AUDIO_RATE
        return sum(len(d) for d in self.audio) * 8 / seconds / 1000


def digest(data: bytes) -> bytes:
    """A short fingerprint of one encoded frame."""
    return hashlib.blake2b(data, digest_size=12).digest()


def _picture(index: int) -> Image.Image:
    # Moving shapes under fresh camera-like sensor noise every frame: the encoder spends its
    # whole budget on every frame, as on a real webcam picture (not 100 bytes per delta).
    image = Image.new("RGB", (WIDTH, HEIGHT), (20, 40, 90))
    draw = ImageDraw.Draw(image)
    for i in range(8):
        draw.rectangle((i * 80, 0, i * 80 + 39, 60), fill=(30 * i, 255 - 30 * i, 128))
    x = (index * 17) % (WIDTH - 120)
    draw.ellipse((x, 180, x + 120, 300), fill=(250, 200, 40))
    draw.text((20, HEIGHT - 40), f"frame {index}", fill=(255, 255, 255))
    grain = Image.effect_noise((WIDTH, HEIGHT), 48).convert("RGB")
    return Image.blend(image, grain, 0.2)


def make_clip(directory: Path, seconds: int = 4, quantizer: int = 40) -> Clip:
    """Encode the clip into ``directory/clip.webm`` (VP8 640×480@15, keyframe every second,
    ≈ 500 kbit/s; Opus mono tone at 32 kbit/s) and read its packets back."""
    path = directory / "clip.webm"
    with av.open(str(path), "w", format="webm") as container:
        video = container.add_stream(
            "libvpx",
            rate=FPS,
            options={
                "deadline": "realtime",
                "cpu-used": "8",
                "lag-in-frames": "0",
                "auto-alt-ref": "0",
            },
        )
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 500_000
        video.codec_context.gop_size = FPS
        video.codec_context.thread_count = 1
        # A fixed quantizer on the noisy picture gives even frames of ~4 KB (≈ 4 RTP packets)
        # at ≈ 500 kbit/s; libvpx's rate control on it would spend 80 KB on the first
        # keyframe and ~400 bytes on each delta frame.
        video.codec_context.qmin = video.codec_context.qmax = quantizer
        audio = container.add_stream("libopus", rate=AUDIO_RATE)
        audio.layout = "mono"
        audio.bit_rate = 32_000  # what browsers send for a mono microphone
        for index in range(seconds * FPS):
            picture = av.VideoFrame.from_image(_picture(index))  # type: ignore[no-untyped-call]
            frame = picture.reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = fractions.Fraction(1, FPS)
            if index % FPS == 0:
                frame.pict_type = av.video.frame.PictureType.I
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for sound in _tone(seconds):
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
    with av.open(str(long_audio_path(path)), "w", format="webm") as container:
        long = container.add_stream(
            "libopus", rate=AUDIO_RATE, options={"frame_duration": str(LONG_PTIME_MS)}
        )
        long.layout = "mono"
        long.bit_rate = 32_000
        for sound in _tone(seconds):
            container.mux(long.encode(sound))
        container.mux(long.encode(None))
    return read_clip(path)


def long_audio_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-audio{LONG_PTIME_MS}.webm")


def _tone(seconds: int) -> list[av.AudioFrame]:
    frames = []
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
        frames.append(sound)
    return frames


def read_clip(path: Path) -> Clip:
    """The packets of a clip made by :func:`make_clip`."""
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
    long_packets: list[bytes] = []
    if long_audio_path(path).exists():
        with av.open(str(long_audio_path(path))) as container:
            long_packets = [bytes(p) for p in container.demux() if p.size]
    return Clip(path, video_packets, audio_packets, long_packets)


def mark_step(k: int) -> int:
    """The pts step from video frame k-1 to frame k: 6000 ticks (1/15 s at 90 kHz) plus the
    frame-index marker ``MARK_GRAIN * (k % MARK_PERIOD)`` centred on zero."""
    return VIDEO_STEP + MARK_GRAIN * ((k % MARK_PERIOD) - MARK_PERIOD // 2)


def mark_of_step(step: int) -> int | None:
    """``k % MARK_PERIOD`` of a frame whose pts is ``step`` after its predecessor's, or None
    when the step is no marker step (a frame was missed in between). A transcoding server
    may round timestamps by a tick or two (the stock decoder → encoder path does), hence
    the grain of several ticks and the tolerance."""
    offset = step - VIDEO_STEP + MARK_GRAIN * (MARK_PERIOD // 2)
    mark = round(offset / MARK_GRAIN)
    if 0 <= mark < MARK_PERIOD and abs(offset - mark * MARK_GRAIN) <= MARK_GRAIN // 2 - 1:
        return mark
    return None


class ClipTrack(MediaStreamTrack):
    """Replays the clip's packets of one kind, looping, in real time; video pts carry the
    frame-index marker and the send time of every video frame is kept."""

    def __init__(self, kind: str, clip: Clip, keep_digests: bool = False) -> None:
        super().__init__()
        self.kind = kind
        if kind == "video":
            self._packets = clip.video
            self._rate = 90000
            self._period = 1 / FPS
        else:
            self._packets = [(data, True) for data in clip.audio]
            self._rate = AUDIO_RATE
            self._period = AUDIO_SAMPLES / AUDIO_RATE
        self._clip = clip
        self._samples = AUDIO_SAMPLES
        self._time_base = fractions.Fraction(1, self._rate)
        self._index = 0
        self._count = 0
        self._pts = 0
        self._start: float | None = None
        self._keep_digests = keep_digests
        self.sent_at: list[float] = []  # video: send time of frame k
        self.pts: list[int] = []  # video: pts of frame k
        self.digest_times: dict[bytes, list[float]] = {}
        self.keyframe_requests = 0

    def use_ptime(self, ptime_ms: int) -> None:
        """Send Opus packets of ``ptime_ms`` (the answer's ``a=ptime``) if the clip has them,
        as a browser's encoder does; call before the first packet is sent."""
        if self.kind == "audio" and ptime_ms == LONG_PTIME_MS and self._clip.audio_long:
            self._packets = [(data, True) for data in self._clip.audio_long]
            self._samples = AUDIO_RATE * LONG_PTIME_MS // 1000
            self._period = LONG_PTIME_MS / 1000

    def request_keyframe(self) -> None:
        """A PLI/FIR arrived: restart the current group of pictures (like a browser's
        encoder, the next frame sent is a keyframe)."""
        self.keyframe_requests += 1
        position = self._index % len(self._packets)
        while position > 0 and not self._packets[position][1]:
            position -= 1
        self._index = position

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            due = self._start + self._count * self._period
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        data, _ = self._packets[self._index % len(self._packets)]
        packet = av.Packet(data)
        if self.kind == "video":
            if self._count:
                self._pts += mark_step(self._count)
            packet.pts = self._pts
            now = time.monotonic()
            self.sent_at.append(now)
            self.pts.append(self._pts)
            if self._keep_digests:
                self.digest_times.setdefault(digest(data), []).append(now)
        else:
            packet.pts = self._count * self._samples
        packet.time_base = self._time_base
        self._index += 1
        self._count += 1
        return packet


class ClipPublisher:
    """A learner's browser stand-in: publishes the clip's video and audio."""

    def __init__(self, clip: Clip, ice: RTCConfiguration, keep_digests: bool = False) -> None:
        self.pc = RTCPeerConnection(ice)
        self.ptime_ms = 20  # the Opus packet duration the answer asked for
        self.video = ClipTrack("video", clip, keep_digests)
        self.audio = ClipTrack("audio", clip)
        for track in (self.video, self.audio):
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video":
                route_keyframe_requests(transceiver.sender, self.video.request_keyframe)

    async def connect(
        self, publish: Callable[[RTCSessionDescription], Awaitable[RTCSessionDescription]]
    ) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await publish(self.pc.localDescription)
        audio = answer.sdp.partition("m=audio")[2].partition("m=video")[0]
        ptime = re.search(r"^a=ptime:(\d+)", audio, re.MULTILINE)
        if ptime:
            self.audio.use_ptime(int(ptime.group(1)))
        self.ptime_ms = int(ptime.group(1)) if ptime else 20
        await self.pc.setRemoteDescription(answer)

    async def close(self) -> None:
        await self.pc.close()


class Viewer:
    """A commission member's browser stand-in for one publisher: receives video and audio
    through the decoder bypass (encoded frames, never decoded) and notes when each arrived.

    By default (``inline``) its receivers use the SFU's own receive path
    (:func:`proctor.bypass.attach_frame_sink`): the full RTP/SRTP/RTCP/NACK work of an
    aiortc receiver, but complete frames are handed over on the event loop as soon as
    their marker packet is in, with no decoder thread, no track queue and no REMB
    estimation. That halves what a viewer costs the load generator (so 30 × 2 can be
    driven on this machine) and takes the bench viewer's own jitter buffer (+1 frame,
    67 ms) out of the latency, which then is the server's hop plus the network stack.
    ``inline=False`` is aiortc's stock receive path (decoder thread, next-frame release).
    """

    def __init__(
        self, ice: RTCConfiguration, keep_digests: bool = False, inline: bool = True
    ) -> None:
        self.pc = RTCPeerConnection(ice)
        self.keep_digests = keep_digests
        self.inline = inline
        # video: (receiver timestamp, arrival time, digest or b"")
        self.video: list[tuple[int, float, bytes]] = []
        self.audio_at: list[float] = []
        self.other = 0  # decoded frames: the bypass was not in place
        self._tasks: list[asyncio.Task[None]] = []
        for kind in ("video", "audio"):
            self.pc.addTransceiver(kind, direction="recvonly")
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if self.inline:
            for transceiver in self.pc.getTransceivers():
                if transceiver.receiver.track is track:
                    attach_frame_sink(transceiver.receiver, self._frame, f"viewer {track.kind}")
                    return
        self._tasks.append(asyncio.create_task(self._consume(track)))

    def _frame(self, frame: Any) -> None:
        now = time.monotonic()
        if not isinstance(frame, EncodedFrame):
            self.other += 1
        elif frame.kind == "video":
            self.video.append(
                (frame.timestamp, now, digest(frame.data) if self.keep_digests else b"")
            )
        else:
            self.audio_at.append(now)

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self._frame(frame)

    async def connect(
        self, subscribe: Callable[[RTCSessionDescription], Awaitable[RTCSessionDescription]]
    ) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.pc.setRemoteDescription(await subscribe(self.pc.localDescription))

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# ---------------------------------------------------------------------------- latency


def match_frames(
    received: list[tuple[int, float, bytes]], pts: list[int], sent_at: list[float]
) -> tuple[list[tuple[int, float]], int, int]:
    """Which publisher frame each received video frame is, by the timestamp marker:
    ``[(k, arrival time)]``, plus how many consecutive pairs agreed with the timestamp
    offset chosen and how many did not (a check of the method)."""
    if len(received) < 2 or not pts:
        return [], 0, 0
    offsets: list[int] = []
    for (ts0, _, _), (ts1, at1, _) in itertools.pairwise(received):
        mark = mark_of_step(ts1 - ts0)
        if mark is None:
            continue
        # the latest frame with that mark sent before this one arrived
        last = bisect.bisect_right(sent_at, at1) - 1
        k = last - ((last - mark) % MARK_PERIOD)
        if k >= 1:
            offsets.append(pts[k] - ts1)
    if not offsets:
        return [], 0, 0
    buckets: dict[int, list[int]] = {}
    for offset in offsets:
        buckets.setdefault(round(offset / 1000), []).append(offset)
    best = max(buckets.values(), key=len)
    offset = sorted(best)[len(best) // 2]
    matched = []
    for ts, at, _ in received:
        target = ts + offset
        i = bisect.bisect_left(pts, target)
        for k in (i - 1, i):
            if 0 <= k < len(pts) and abs(pts[k] - target) < VIDEO_STEP // 4:
                matched.append((k, at))
                break
    return matched, len(best), len(offsets) - len(best)


def digest_latencies(
    received: list[tuple[int, float, bytes]],
    digest_times: dict[bytes, list[float]],
    window: tuple[float, float],
) -> list[float]:
    """Latencies by content: the last time the publisher sent these bytes before they
    arrived (the clip loops, so a frame's bytes are sent again every few seconds)."""
    out = []
    for _, at, dig in received:
        if not window[0] <= at < window[1]:
            continue
        times = digest_times.get(dig)
        if not times:
            continue
        i = bisect.bisect_right(times, at) - 1
        if i >= 0:
            out.append(at - times[i])
    return out


# ---------------------------------------------------------------------------- signaling


class Person:
    """One logged-in user: an HTTP session and a socket.io client of ``/proctor``.

    The SFU and the baseline server speak the same signaling (login, ``join``, ``publish``,
    ``subscribe`` with acks), so this class is the only client code for both.
    """

    def __init__(self, url: str, username: str) -> None:
        self.url = url
        self.username = username
        self.http: aiohttp.ClientSession | None = None
        self.sio = socketio.AsyncClient(reconnection=False)
        self.cookie = ""
        self.join_ack: dict[str, Any] = {}
        self.throttled = 0

    async def login(self) -> None:
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        async with self.http.post(
            self.url + "/api/login", json={"username": self.username, "password": PASSWORD}
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"login of {self.username}: {resp.status} {body}")
            self.cookie = resp.cookies[SESSION_COOKIE].value

    async def connect(self, room: str) -> dict[str, Any]:
        await self.sio.connect(
            self.url,
            headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"},
            namespaces=[NS],
            transports=["websocket"],
            wait_timeout=30,
        )
        self.join_ack = await self.call("join", {"room": room})
        if not self.join_ack.get("ok"):
            raise RuntimeError(f"join of {self.username}: {self.join_ack}")
        return self.join_ack

    @property
    def ice(self) -> RTCConfiguration:
        servers = self.join_ack.get("ice_servers") or []
        return RTCConfiguration(iceServers=[RTCIceServer(**s) for s in servers])

    async def call(self, event: str, data: Any, within: float = 60.0) -> Any:
        """An acknowledged event; a ``throttled`` refusal is retried (bounded)."""
        for attempt in range(20):
            ack = await self.sio.call(event, data, namespace=NS, timeout=within)
            if isinstance(ack, dict) and ack.get("error") == "throttled":
                self.throttled += 1
                await asyncio.sleep(0.3 + 0.2 * attempt)
                continue
            return ack
        raise RuntimeError(f"{event} of {self.username}: throttled 20 times")

    def signal(self, event: str, **fields: Any) -> Callable[[RTCSessionDescription], Any]:
        async def call(offer: RTCSessionDescription) -> RTCSessionDescription:
            ack = await self.call(event, {**fields, "sdp": offer.sdp, "type": offer.type})
            if not isinstance(ack, dict) or ack.get("type") != "answer":
                raise RuntimeError(f"{event} of {self.username}: {ack}")
            return RTCSessionDescription(sdp=ack["sdp"], type=ack["type"])

        return call

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)
        if self.http is not None:
            await self.http.close()


# ---------------------------------------------------------------------------- stats


async def rtp_stats(pc: RTCPeerConnection) -> dict[str, dict[str, int]]:
    """Per kind: inbound-rtp packetsReceived/packetsLost (viewers), or the server's view of
    what we sent from its receiver reports: remote-inbound-rtp packetsLost and outbound
    packetsSent (publishers)."""
    out: dict[str, dict[str, int]] = {}
    try:
        report = await asyncio.wait_for(pc.getStats(), 10)
    except Exception:
        return out
    for stat in report.values():
        kind = getattr(stat, "kind", None)
        if kind is None:
            continue
        entry = out.setdefault(kind, {"received": 0, "lost": 0, "sent": 0, "remote_lost": 0})
        if stat.type == "inbound-rtp":
            entry["received"] += stat.packetsReceived
            entry["lost"] += stat.packetsLost
        elif stat.type == "outbound-rtp":
            entry["sent"] += stat.packetsSent
        elif stat.type == "remote-inbound-rtp":
            entry["remote_lost"] += stat.packetsLost
    return out


def stats_delta(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    out = {}
    for kind, entry in after.items():
        base = before.get(kind, {})
        out[kind] = {key: value - base.get(key, 0) for key, value in entry.items()}
    return out


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime of one process (all its threads), or of one of its threads, in s."""
    import os

    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- generator


@dataclass
class GenConfig:
    url: str
    room: str
    clip_path: str
    keep_digests: bool
    index: int
    inline_viewers: bool = True


@dataclass
class Learner:
    person: Person
    publisher: ClipPublisher
    viewers: dict[str, Viewer] = field(default_factory=dict)  # commission username → viewer


class Generator:
    """One load-generator process: its learners' publishers and their viewers."""

    def __init__(self, conn: Any, cfg: GenConfig) -> None:
        self.conn = conn
        self.cfg = cfg
        self.clip = read_clip(Path(cfg.clip_path))
        self.learners: dict[str, Learner] = {}  # participant id → learner
        self.commission: dict[str, Person] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.thumbs: list[tuple[float, int, float]] = []  # (at, status, seconds)
        self._poller: asyncio.Task[None] | None = None
        self.errors: list[str] = []

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, self.conn.recv)
            command, *args = message
            try:
                reply = await getattr(self, f"cmd_{command}")(*args)
            except Exception as exc:
                reply = {"error": f"{command}: {exc!r}", "trace": traceback.format_exc()}
            self.conn.send(reply)
            if command == "close":
                return

    def _error(self, what: str, exc: BaseException) -> None:
        if len(self.errors) < 50:
            self.errors.append(f"{what}: {exc!r}")

    async def _bounded(self, coros: Sequence[Awaitable[Any]], limit: int, deadline: float) -> None:
        gate = asyncio.Semaphore(limit)

        async def one(coro: Any) -> None:
            try:
                async with gate:
                    await coro
            finally:
                coro.close()  # a step cancelled before it started is not left un-awaited

        tasks = [asyncio.ensure_future(one(c)) for c in coros]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if pending:
            self.errors.append(f"{len(pending)} setup steps timed out")

    async def cmd_publishers(self, usernames: list[str], within: float) -> dict[str, Any]:
        """Log the learners in, join, publish; wait until their media flows."""
        deadline = time.monotonic() + within

        async def one(username: str) -> None:
            person = Person(self.cfg.url, username)
            try:
                await person.login()
                ack = await person.connect(self.cfg.room)
                publisher = ClipPublisher(self.clip, person.ice, self.cfg.keep_digests)
                self.learners[ack["participant_id"]] = Learner(person, publisher)
                await publisher.connect(person.signal("publish", room=self.cfg.room))
                while publisher.pc.connectionState != "connected" or not publisher.video.sent_at:
                    if time.monotonic() > deadline:
                        raise TimeoutError("publisher did not connect")
                    await asyncio.sleep(0.1)
            except Exception as exc:
                self._error(f"publisher {username}", exc)
                if not any(lr.person is person for lr in self.learners.values()):
                    await person.close()

        await self._bounded([one(u) for u in usernames], 6, deadline)
        return {
            "participants": {
                pid: learner.person.username
                for pid, learner in self.learners.items()
                if learner.publisher.pc.connectionState == "connected"
            },
            "errors": self.errors[-10:],
        }

    async def cmd_commission(self, usernames: list[str], within: float) -> dict[str, Any]:
        deadline = time.monotonic() + within

        async def one(username: str) -> None:
            person = Person(self.cfg.url, username)
            try:
                await person.login()
                await person.connect(self.cfg.room)
                self.commission[username] = person
            except Exception as exc:
                self._error(f"commission {username}", exc)
                await person.close()

        await self._bounded([one(u) for u in usernames], 4, deadline)
        return {"joined": sorted(self.commission), "errors": self.errors[-10:]}

    async def cmd_thumbnails(self, pids: list[str], interval: float) -> dict[str, Any]:
        """Poll every learner's thumbnail every ``interval`` s, as the commission's grid."""
        person = next(iter(self.commission.values()))
        http = person.http
        assert http is not None

        async def fetch(pid: str) -> None:
            url = f"{self.cfg.url}/api/rooms/{self.cfg.room}/publishers/{pid}/thumbnail.jpg"
            t0 = time.monotonic()
            try:
                async with http.get(url) as resp:
                    body = await resp.read()
                    ok = resp.status == 200 and body[:2] == b"\xff\xd8"
                    self.thumbs.append((t0, 200 if ok else resp.status, time.monotonic() - t0))
            except Exception as exc:
                self.thumbs.append((t0, -1, time.monotonic() - t0))
                self._error("thumbnail", exc)

        async def poll() -> None:
            gate = asyncio.Semaphore(6)

            async def gated(pid: str) -> None:
                async with gate:
                    await fetch(pid)

            for _ in range(100_000):  # bounded; cancelled on close
                started = time.monotonic()
                await asyncio.gather(*(gated(pid) for pid in pids))
                await asyncio.sleep(max(0.1, started + interval - time.monotonic()))

        self._poller = asyncio.create_task(poll())
        return {"polling": len(pids)}

    async def cmd_viewers(self, commission: list[str], within: float) -> dict[str, Any]:
        """Every commission member subscribes to every learner of this process."""
        deadline = time.monotonic() + within

        async def one(name: str, pid: str, learner: Learner) -> None:
            person = self.commission[name]
            viewer = Viewer(person.ice, self.cfg.keep_digests, self.cfg.inline_viewers)
            learner.viewers[name] = viewer
            try:
                await viewer.connect(person.signal("subscribe", room=self.cfg.room, publisher=pid))
                while not viewer.video:
                    if time.monotonic() > deadline:
                        raise TimeoutError("no video frame arrived")
                    await asyncio.sleep(0.1)
            except Exception as exc:
                self._error(f"viewer {name}->{pid}", exc)

        jobs = [
            one(name, pid, learner)
            for pid, learner in self.learners.items()
            for name in commission
            if name in self.commission
        ]
        await self._bounded(jobs, 6, deadline)
        receiving = sum(1 for lr in self.learners.values() for v in lr.viewers.values() if v.video)
        return {
            "viewers": sum(len(lr.viewers) for lr in self.learners.values()),
            "receiving": receiving,
            "throttled": sum(p.throttled for p in self.commission.values()),
            "errors": self.errors[-10:],
        }

    async def cmd_snapshot(self, label: str) -> float:
        """RTP counters of every peer connection now (a window's start or end)."""
        pubs = list(self.learners.items())
        views = [
            (pid, name, v) for pid, lr in self.learners.items() for name, v in lr.viewers.items()
        ]
        pub_stats = await asyncio.gather(*(rtp_stats(lr.publisher.pc) for _, lr in pubs))
        view_stats = await asyncio.gather(*(rtp_stats(v.pc) for _, _, v in views))
        self.snapshots[label] = {
            "at": time.monotonic(),
            "pub": {pid: s for (pid, _), s in zip(pubs, pub_stats, strict=True)},
            "view": {(pid, name): s for (pid, name, _), s in zip(views, view_stats, strict=True)},
        }
        return float(self.snapshots[label]["at"])

    async def cmd_collect(self, windows: dict[str, tuple[str, str]]) -> dict[str, Any]:
        """What happened in each window (named by its start and end snapshots)."""
        out: dict[str, Any] = {}
        for name, (start, end) in windows.items():
            a, b = self.snapshots.get(start), self.snapshots.get(end)
            if a is None or b is None:
                continue
            window = (a["at"], b["at"])
            w: dict[str, Any] = {
                "seconds": window[1] - window[0],
                "latencies": [],
                "worst": [],  # per viewer: (latency, arrival - window start, who, sent - start)
                "digest_latencies": [],
                "marker_agree": 0,
                "marker_disagree": 0,
                "viewer_frames": [],
                "delivered": [],
                "viewer_audio": [],
                "view_rtp": {},
                "pub_rtp": {},
                "pub_frames": [],
                "thumbs": [t for t in self.thumbs if window[0] <= t[0] < window[1]],
                "ptime_ms": sorted({lr.publisher.ptime_ms for lr in self.learners.values()}),
            }
            for pid, learner in self.learners.items():
                sent = learner.publisher.video.sent_at
                pub_frames = bisect.bisect_left(sent, window[1]) - bisect.bisect_left(
                    sent, window[0]
                )
                w["pub_frames"].append(pub_frames)
                d = stats_delta(a["pub"].get(pid, {}), b["pub"].get(pid, {}))
                for kind, entry in d.items():
                    acc = w["pub_rtp"].setdefault(kind, {})
                    for key, value in entry.items():
                        acc[key] = acc.get(key, 0) + value
                for who, viewer in learner.viewers.items():
                    if (pid, who) not in a["view"]:
                        continue  # subscribed after the window began
                    matched, agree, disagree = match_frames(
                        viewer.video, learner.publisher.video.pts, sent
                    )
                    lat = [
                        (at - sent[k], at, k) for k, at in matched if window[0] <= at < window[1]
                    ]
                    w["latencies"] += [x[0] for x in lat]
                    if lat:
                        worst = max(lat)
                        w["worst"].append(
                            (round(worst[0], 3), round(worst[1] - window[0], 2), f"{who}->{pid}",
                             round(sent[worst[2]] - window[0], 2))
                        )  # fmt: skip
                    # frames sent in the window that arrived (whenever)
                    w["delivered"].append(
                        (len({k for k, _ in matched if window[0] <= sent[k] < window[1]}),
                         pub_frames)
                    )  # fmt: skip
                    w["marker_agree"] += agree
                    w["marker_disagree"] += disagree
                    if self.cfg.keep_digests:
                        w["digest_latencies"] += digest_latencies(
                            viewer.video, learner.publisher.video.digest_times, window
                        )
                    w["viewer_frames"].append(
                        sum(1 for _, at, _ in viewer.video if window[0] <= at < window[1])
                    )
                    w["viewer_audio"].append(
                        sum(1 for at in viewer.audio_at if window[0] <= at < window[1])
                    )
                    d = stats_delta(a["view"][(pid, who)], b["view"].get((pid, who), {}))
                    for kind, entry in d.items():
                        acc = w["view_rtp"].setdefault(kind, {})
                        for key, value in entry.items():
                            acc[key] = acc.get(key, 0) + value
                    if viewer.other:
                        self.errors.append(f"viewer {who}->{pid} got {viewer.other} decoded")
            out[name] = w
        out["errors"] = self.errors[-20:]
        out["keyframe_requests"] = sum(
            lr.publisher.video.keyframe_requests for lr in self.learners.values()
        )
        return out

    async def cmd_close(self) -> dict[str, Any]:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        closing: list[Awaitable[Any]] = []
        for learner in self.learners.values():
            closing += [v.close() for v in learner.viewers.values()]
            closing.append(learner.publisher.close())
        await self._bounded(list(closing), 16, time.monotonic() + 20)
        people = [lr.person for lr in self.learners.values()] + list(self.commission.values())
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        return {"closed": True}


def generator_main(conn: Any, cfg: GenConfig) -> None:
    """Entry point of a load-generator process."""
    random.seed(cfg.index)
    install_decoder_bypass()
    asyncio.run(Generator(conn, cfg).serve())
