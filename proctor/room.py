"""``MediaRoom``: the publishers and subscribers of one exam room, and ``RoomRegistry``.

Every participant publishes over one ``RTCPeerConnection`` (receive-only on our side) and
watches each other participant over one more (send-only on our side). The room never
decodes: receivers hand over encoded frames (:mod:`proctor.bypass`), which fan out to the
subscribers' :class:`~proctor.forwarding.ForwardedTrack` s and to frame listeners (the
recorder). The hand-over happens inside the receiver's RTP handler on the event loop, as
soon as a frame's last packet is in (:func:`~proctor.bypass.attach_frame_sink`), with no
decoder thread and no bandwidth estimation; publish and subscribe answers negotiate no
abs-send-time, and the publish answer asks for 40 ms Opus packets (``a=ptime``). A
subscriber's tracks are fed once its connection is up. A frame is packetised once for all
its subscribers, and each subscriber's sender writes it out at once
(:mod:`proctor.egress`).

Keyframes are asked of the publisher (RTCP PLI) when a viewer's connection is up, when a
viewer asks, when a viewer's queue overflowed, and every ``keyframe_interval`` seconds
(seekable recordings, fresh thumbnails), never more often than ``pli_min_interval``.

A publisher's state (counters, last keyframe, subscribers, listeners) lives in a feed that
survives its reconnects: publishing again swaps the peer connection under the feed, and
the subscribers keep their connections; their tracks wait for the new stream's keyframe
and continue its timestamps, so a viewer sees a short freeze, not a renegotiation.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from proctor.bypass import (
    BypassUnavailable,
    EncodedFrame,
    attach_frame_sink,
    drop_abs_send_time,
    install_decoder_bypass,
)
from proctor.egress import Packetizer, install_egress
from proctor.forwarding import ForwardedTrack, route_keyframe_requests
from server.errors import AppError

log = logging.getLogger(__name__)

#: A tile is "live" if a frame of that kind arrived within this many seconds.
LIVE_WINDOW = 2.0
#: Longest SDP accepted from a client.
MAX_SDP_CHARS = 64 * 1024
#: The only codecs a room negotiates: what browsers send and what the recorder muxes.
ROOM_CODECS = {"video": ("video/vp8", "video/rtx"), "audio": ("audio/opus",)}
REQUIRED_CODEC = {"video": "vp8", "audio": "opus"}
SENDING = {"sendonly", "sendrecv"}
RECEIVING = {"recvonly", "sendrecv"}
#: Opus packet duration asked of publishers (``a=ptime`` in the publish answer, which
#: Chromium honours): 40 ms halves the audio packets every hop pays for (at 20 ms there
#: are as many audio packets as video packets) for +20 ms of audio latency. Browsers that
#: ignore the hint keep sending 20 ms packets, which forward just the same.
PUBLISH_PTIME_MS = 40


#: Told about publishers joining, reconnecting and leaving (see "publisher observers").
PublisherObserver = Callable[["MediaRoom", str, str], None]


class MediaError(AppError):
    """An offer the room cannot take (422 ``bad_sdp``) or an unknown publisher (404)."""

    status = 422
    code = "bad_sdp"

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **extra: Any
    ) -> None:
        super().__init__(message, code=code, **extra)
        if status is not None:
            self.status = status

    @classmethod
    def unknown_publisher(cls, room_id: str, publisher_id: str) -> MediaError:
        """Nobody with this id publishes in this room."""
        return cls(
            f"participant {publisher_id} does not publish in room {room_id}",
            code="unknown_publisher",
            status=404,
        )


@dataclass
class PublisherInfo:
    """The commission's tile state of one publisher."""

    participant_id: str
    kinds: set[str]
    connection: str
    video_frames: int
    last_frame_at: float | None
    last_keyframe_at: float | None
    video_live: bool
    audio_live: bool
    audio_frames: int = 0
    bytes_received: int = 0
    viewers: int = 0
    keyframe_requests: int = 0


@dataclass
class _Ingest:
    """One peer connection of a publisher (replaced when the publisher reconnects)."""

    pc: RTCPeerConnection
    kinds: set[str]
    ssrcs: dict[str, int]
    receivers: dict[str, RTCRtpReceiver] = field(default_factory=dict)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class _Feed:
    """Everything known about one publisher, kept across its reconnects."""

    participant_id: str
    ingest: _Ingest | None = None
    outputs: dict[str, set[ForwardedTrack]] = field(
        default_factory=lambda: {"video": set(), "audio": set()}
    )
    listeners: list[Callable[[EncodedFrame], None]] = field(default_factory=list)
    packetizer: Packetizer = field(default_factory=Packetizer)
    video_frames: int = 0
    audio_frames: int = 0
    bytes_received: int = 0
    last_video_at: float | None = None
    last_audio_at: float | None = None
    last_keyframe_at: float | None = None
    last_keyframe: EncodedFrame | None = None
    last_pli_at: float | None = None
    last_periodic_at: float | None = None
    pli_timer: asyncio.TimerHandle | None = None
    keyframe_requests: int = 0


@dataclass
class _Subscription:
    viewer_id: str
    publisher_id: str
    pc: RTCPeerConnection
    tracks: list[ForwardedTrack]
    attached: bool = False


def _offer_error(message: str) -> MediaError:
    return MediaError(message, code="bad_sdp")


def parse_offer(
    offer: RTCSessionDescription, directions: set[str]
) -> aiortc_sdp.SessionDescription:
    """Parse and check a client's offer: one audio and/or one video m-line offering
    VP8/Opus, each in one of ``directions``; raises :class:`MediaError` (``bad_sdp``)."""
    if offer.type != "offer":
        raise _offer_error(f"expected an SDP offer, got {offer.type!r}")
    if not isinstance(offer.sdp, str) or not offer.sdp.strip():
        raise _offer_error("the SDP offer is empty")
    if len(offer.sdp) > MAX_SDP_CHARS:
        raise _offer_error(f"the SDP offer is longer than {MAX_SDP_CHARS} characters")
    try:
        description = aiortc_sdp.SessionDescription.parse(offer.sdp)
    except Exception as exc:
        raise _offer_error(f"malformed SDP offer: {exc!r}") from exc
    if not description.media:
        raise _offer_error("the SDP offer has no media sections")
    seen: set[str] = set()
    for media in description.media:
        if media.kind not in REQUIRED_CODEC:
            raise _offer_error(f"media {media.kind!r} is not accepted, only audio and video")
        if media.kind in seen:
            raise _offer_error(f"the SDP offer has more than one {media.kind} section")
        seen.add(media.kind)
        if media.port == 0:
            raise _offer_error(f"the {media.kind} section is disabled (port 0)")
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise _offer_error(f"the {media.kind} section has no ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            raise _offer_error(f"the {media.kind} section has no DTLS fingerprint")
        if not media.rtcp_mux:
            raise _offer_error(f"the {media.kind} section does not multiplex RTCP")
        direction = media.direction or "sendrecv"
        if direction not in directions:
            raise _offer_error(
                f"the {media.kind} section is {direction}, expected one of "
                + "/".join(sorted(directions))
            )
        names = {codec.name.lower() for codec in media.rtp.codecs}
        if REQUIRED_CODEC[media.kind] not in names:
            raise _offer_error(
                f"the {media.kind} section does not offer {REQUIRED_CODEC[media.kind]}"
            )
    return description


def _primary_ssrc(media: aiortc_sdp.MediaDescription) -> int | None:
    for group in media.ssrc_group:
        if group.semantic == "FID" and group.items:
            return int(group.items[0])
    return media.ssrc[0].ssrc if media.ssrc else None


def with_ptime(sdp: str, ptime_ms: int = PUBLISH_PTIME_MS) -> str:
    """``sdp`` with ``a=ptime`` in its audio section (none added if one is there)."""
    lines = sdp.split("\r\n")
    out: list[str] = []
    in_audio = False
    for line in lines:
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
        elif in_audio and line.startswith("a=ptime:"):
            in_audio = False  # the section already says
        elif in_audio and line.startswith("a=rtpmap:") and "opus/" in line.lower():
            out += [line, f"a=ptime:{ptime_ms}"]
            in_audio = False
            continue
        out.append(line)
    return "\r\n".join(out)


def codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """The codec capabilities a room negotiates for ``kind`` (VP8 + RTX, or Opus)."""
    capabilities = RTCRtpSender.getCapabilities(kind)
    return [c for c in capabilities.codecs if c.mimeType.lower() in ROOM_CODECS[kind]]


def _safe_ice(ice: RTCConfiguration) -> RTCConfiguration:
    # aiortc falls back to a public STUN server when iceServers is None: never do that.
    if ice.iceServers is None:
        return dataclasses.replace(ice, iceServers=[])
    return ice


class MediaRoom:
    """The selective forwarding unit of one exam room.

    ``keyframe_interval``: the longest gap between a publisher's keyframes before the room
    asks for one (0 disables the periodic requests); ``pli_min_interval``: the shortest gap
    between two PLIs to one publisher.
    """

    def __init__(
        self,
        room_id: str,
        ice: RTCConfiguration,
        *,
        keyframe_interval: float = 3.0,
        pli_min_interval: float = 0.5,
    ) -> None:
        install_decoder_bypass()
        self.room_id = room_id
        self._ice = _safe_ice(ice)
        self._keyframe_interval = keyframe_interval
        self._pli_min_interval = pli_min_interval
        self._feeds: dict[str, _Feed] = {}
        self._subscriptions: dict[tuple[str, str], _Subscription] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False
        self.observers: list[PublisherObserver] = []  # see "publisher observers"

    @property
    def ice(self) -> RTCConfiguration:
        """The ICE configuration of the room's peer connections (never ``iceServers=None``)."""
        return self._ice

    def __repr__(self) -> str:
        return f"MediaRoom({self.room_id!r}, publishers={len(self._feeds)})"

    # -- publishing ---------------------------------------------------------------

    async def publish(
        self, participant_id: str, offer: RTCSessionDescription
    ) -> RTCSessionDescription:
        """Take a participant's camera/microphone offer; returns the answer. Publishing
        again (a reconnect) replaces the old peer connection; subscribers stay."""
        self._check_open()
        description = parse_offer(offer, SENDING)
        async with self._lock(f"publish:{participant_id}"):
            feed = self._feeds.get(participant_id) or _Feed(participant_id)
            pc = RTCPeerConnection(self._ice)
            ingest = _Ingest(
                pc=pc,
                kinds={m.kind for m in description.media},
                ssrcs={m.kind: s for m in description.media if (s := _primary_ssrc(m))},
            )
            for media in description.media:
                transceiver = pc.addTransceiver(media.kind, direction="recvonly")
                transceiver.setCodecPreferences(codec_preferences(media.kind))

            def on_track(track: MediaStreamTrack) -> None:
                receiver = None
                for transceiver in pc.getTransceivers():
                    if transceiver.receiver.track is track:
                        receiver = ingest.receivers[track.kind] = transceiver.receiver

                def sink(frame: EncodedFrame) -> None:
                    if feed.ingest is ingest:
                        self._fan_out(feed, frame)

                label = f"room {self.room_id}: {participant_id} {track.kind}"
                try:
                    # Frames reach _fan_out on the loop, inside the receiver (no thread).
                    attach_frame_sink(receiver, sink, label)
                    return
                except BypassUnavailable as exc:
                    log.warning("%s: frames go through the decoder thread: %s", label, exc)
                ingest.pumps.append(
                    asyncio.create_task(
                        self._pump(feed, ingest, track),
                        name=f"room-{self.room_id}-{participant_id}-{track.kind}",
                    )
                )

            def on_state() -> None:
                self._publisher_state(feed, ingest)

            pc.on("track", on_track)
            pc.on("connectionstatechange", on_state)
            answer = await self._negotiate(pc, offer, f"publish of {participant_id}")
            answer = RTCSessionDescription(sdp=with_ptime(answer.sdp), type=answer.type)
            if self._closed:
                await pc.close()
                self._check_open()
            old = feed.ingest
            feed.ingest = ingest
            self._feeds[participant_id] = feed
            for tracks in feed.outputs.values():
                for track in tracks:
                    track.restart()
            self._start_ticker()
            log.info(
                "room %s: %s publishes %s%s",
                self.room_id,
                participant_id,
                "+".join(sorted(ingest.kinds)),
                " (reconnect)" if old is not None else "",
            )
        if old is not None:
            await self._close_ingest(old)
        self._notify("reconnect" if old is not None else "publish", participant_id)
        return answer

    async def _negotiate(
        self, pc: RTCPeerConnection, offer: RTCSessionDescription, what: str
    ) -> RTCSessionDescription:
        try:
            await pc.setRemoteDescription(offer)
            drop_abs_send_time(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await pc.close()
            log.info("room %s: %s rejected: %r", self.room_id, what, exc)
            raise _offer_error(f"the offer cannot be negotiated: {exc}") from exc
        return pc.localDescription

    async def _pump(self, feed: _Feed, ingest: _Ingest, track: MediaStreamTrack) -> None:
        """Read one received track's encoded frames and fan them out."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, EncodedFrame):
                log.error(
                    "room %s: %s sent a decoded %s frame: the decoder bypass is not "
                    "installed, dropping the track",
                    self.room_id,
                    feed.participant_id,
                    track.kind,
                )
                return
            if feed.ingest is ingest:
                self._fan_out(feed, frame)

    def _fan_out(self, feed: _Feed, frame: EncodedFrame) -> None:
        now = time.monotonic()
        feed.bytes_received += len(frame.data)
        if frame.kind == "video":
            feed.video_frames += 1
            feed.last_video_at = now
            if frame.keyframe:
                feed.last_keyframe = frame
                feed.last_keyframe_at = now
        else:
            feed.audio_frames += 1
            feed.last_audio_at = now
        outputs = feed.outputs.get(frame.kind)
        if outputs:
            payloads = feed.packetizer.payloads(frame.kind, frame.codec, frame.data)
            for track in outputs:
                track.push(frame, payloads)
        for listener in tuple(feed.listeners):
            try:
                listener(frame)
            except Exception:
                log.exception(
                    "room %s: frame listener of %s failed", self.room_id, feed.participant_id
                )

    def _publisher_state(self, feed: _Feed, ingest: _Ingest) -> None:
        state = ingest.pc.connectionState
        log.info("room %s: %s publish connection %s", self.room_id, feed.participant_id, state)
        if feed.ingest is not ingest:
            return
        if state == "connected":
            self.request_keyframe(feed.participant_id)
        elif state in ("failed", "closed"):
            # Release the sockets but keep the feed (subscribers, listeners, counters)
            # for the participant's reconnect.
            self._spawn(ingest.pc.close())

    async def _close_ingest(self, ingest: _Ingest) -> None:
        await ingest.pc.close()
        for pump in ingest.pumps:
            pump.cancel()
        await asyncio.gather(*ingest.pumps, return_exceptions=True)

    # -- subscribing --------------------------------------------------------------

    async def subscribe(
        self, viewer_id: str, publisher_id: str, offer: RTCSessionDescription
    ) -> RTCSessionDescription:
        """Answer a viewer's receive offer with the publisher's forwarded tracks; once the
        connection is up they are fed and the publisher is asked for a keyframe.
        Subscribing again replaces the old subscription."""
        self._check_open()
        if publisher_id not in self._feeds:
            raise MediaError.unknown_publisher(self.room_id, publisher_id)
        description = parse_offer(offer, RECEIVING)
        key = (viewer_id, publisher_id)
        async with self._lock(f"subscribe:{viewer_id}:{publisher_id}"):
            old = self._subscriptions.pop(key, None)
            if old is not None:
                await self._close_subscription(old)
            pc = RTCPeerConnection(self._ice)
            tracks = []
            for media in description.media:
                track = ForwardedTrack(
                    media.kind,
                    label=f"room {self.room_id}: {publisher_id} -> {viewer_id} {media.kind}",
                    on_keyframe_needed=lambda: self.request_keyframe(publisher_id),
                )
                transceiver = pc.addTransceiver(track, direction="sendonly")
                transceiver.setCodecPreferences(codec_preferences(media.kind))
                route_keyframe_requests(
                    transceiver.sender, lambda: self.request_keyframe(publisher_id)
                )
                install_egress(transceiver.sender, track.use_egress, track.drop_egress)
                tracks.append(track)
            subscription = _Subscription(viewer_id, publisher_id, pc, tracks)

            def on_state() -> None:
                state = pc.connectionState
                log.info(
                    "room %s: %s watching %s: connection %s",
                    self.room_id,
                    viewer_id,
                    publisher_id,
                    state,
                )
                current = self._subscriptions.get(key) is subscription
                if state == "connected" and current:
                    self._attach(subscription)
                elif state in ("failed", "closed") and current:
                    self._spawn(self.unsubscribe(viewer_id, publisher_id))

            pc.on("connectionstatechange", on_state)
            answer = await self._negotiate(pc, offer, f"{viewer_id} watching {publisher_id}")
            feed = self._feeds.get(publisher_id)
            if feed is None or self._closed:
                await self._close_subscription(subscription)
                raise MediaError.unknown_publisher(self.room_id, publisher_id)
            self._subscriptions[key] = subscription
            log.info("room %s: %s watches %s", self.room_id, viewer_id, publisher_id)
            if pc.connectionState == "connected":
                self._attach(subscription)
        return answer

    def _attach(self, subscription: _Subscription) -> None:
        """Start feeding a subscription once its connection is up (frames queued while
        ICE/DTLS still run would only overflow its queues) and ask for a keyframe."""
        feed = self._feeds.get(subscription.publisher_id)
        if feed is None or subscription.attached:
            return
        subscription.attached = True
        for track in subscription.tracks:
            feed.outputs[track.kind].add(track)
        self.request_keyframe(subscription.publisher_id)

    async def unsubscribe(self, viewer_id: str, publisher_id: str) -> None:
        """Stop forwarding ``publisher_id`` to ``viewer_id`` (no-op if not subscribed)."""
        subscription = self._subscriptions.pop((viewer_id, publisher_id), None)
        if subscription is not None:
            await self._close_subscription(subscription)
            log.info("room %s: %s stopped watching %s", self.room_id, viewer_id, publisher_id)

    async def _close_subscription(self, subscription: _Subscription) -> None:
        feed = self._feeds.get(subscription.publisher_id)
        for track in subscription.tracks:
            if feed is not None:
                feed.outputs[track.kind].discard(track)
            track.stop()
        await subscription.pc.close()

    # -- leaving ------------------------------------------------------------------

    async def leave(self, participant_id: str) -> None:
        """Close the participant's publish connection and every subscription from or to it."""
        closing = [
            self._subscriptions.pop(key)
            for key in list(self._subscriptions)
            if participant_id in key
        ]
        for subscription in closing:
            await self._close_subscription(subscription)
        feed = self._feeds.pop(participant_id, None)
        if feed is not None:
            self._forget_feed(feed)
            ingest, feed.ingest = feed.ingest, None
            if ingest is not None:
                await self._close_ingest(ingest)
        if feed is not None or closing:
            log.info("room %s: %s left", self.room_id, participant_id)
        if feed is not None:
            self._notify("leave", participant_id)

    def _forget_feed(self, feed: _Feed) -> None:
        if feed.pli_timer is not None:
            feed.pli_timer.cancel()
            feed.pli_timer = None
        feed.listeners.clear()
        for tracks in feed.outputs.values():
            for track in tracks:
                track.stop()
            tracks.clear()

    # -- state --------------------------------------------------------------------

    def publishers(self) -> list[PublisherInfo]:
        """The tile state of every publisher (including those waiting to reconnect)."""
        now = time.monotonic()
        infos = []
        for feed in self._feeds.values():
            ingest = feed.ingest
            last = max(
                (t for t in (feed.last_video_at, feed.last_audio_at) if t is not None),
                default=None,
            )
            infos.append(
                PublisherInfo(
                    participant_id=feed.participant_id,
                    kinds=set(ingest.kinds) if ingest else set(),
                    connection=ingest.pc.connectionState if ingest else "closed",
                    video_frames=feed.video_frames,
                    last_frame_at=last,
                    last_keyframe_at=feed.last_keyframe_at,
                    video_live=_recent(feed.last_video_at, now),
                    audio_live=_recent(feed.last_audio_at, now),
                    audio_frames=feed.audio_frames,
                    bytes_received=feed.bytes_received,
                    viewers=sum(
                        1
                        for s in self._subscriptions.values()
                        if s.publisher_id == feed.participant_id
                    ),
                    keyframe_requests=feed.keyframe_requests,
                )
            )
        return infos

    def subscriptions(self) -> list[tuple[str, str]]:
        """``(viewer_id, publisher_id)`` of every live subscription."""
        return list(self._subscriptions)

    def peer_connections(self) -> list[RTCPeerConnection]:
        """Every peer connection the room holds (for diagnostics and tests)."""
        pcs = [f.ingest.pc for f in self._feeds.values() if f.ingest is not None]
        return pcs + [s.pc for s in self._subscriptions.values()]

    def last_keyframe(self, publisher_id: str) -> EncodedFrame | None:
        """The publisher's latest video keyframe, if any arrived."""
        feed = self._feeds.get(publisher_id)
        return feed.last_keyframe if feed is not None else None

    def add_frame_listener(
        self, publisher_id: str, listener: Callable[[EncodedFrame], None]
    ) -> Callable[[], None]:
        """Call ``listener`` with every encoded frame of the publisher (on the event loop;
        it must not block). Returns the function that removes it. Listeners survive
        reconnects and are dropped when the publisher leaves."""
        feed = self._feeds.get(publisher_id)
        if feed is None:
            raise MediaError.unknown_publisher(self.room_id, publisher_id)
        feed.listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                feed.listeners.remove(listener)

        return remove

    # -- keyframes ----------------------------------------------------------------

    def request_keyframe(self, publisher_id: str) -> None:
        """Ask the publisher for a video keyframe (PLI), at most every ``pli_min_interval``
        seconds; a request inside that window is sent when it ends. No-op for a
        participant who does not publish video."""
        feed = self._feeds.get(publisher_id)
        if feed is None or self._closed or feed.pli_timer is not None:
            return
        now = time.monotonic()
        wait = 0.0
        if feed.last_pli_at is not None:
            wait = feed.last_pli_at + self._pli_min_interval - now
        if wait <= 0:
            self._send_pli(feed, now)
        else:
            feed.pli_timer = asyncio.get_running_loop().call_later(wait, self._deferred_pli, feed)

    def _deferred_pli(self, feed: _Feed) -> None:
        feed.pli_timer = None
        if self._feeds.get(feed.participant_id) is feed and not self._closed:
            self._send_pli(feed, time.monotonic())

    def _send_pli(self, feed: _Feed, now: float) -> None:
        ingest = feed.ingest
        receiver = ingest.receivers.get("video") if ingest else None
        if ingest is None or receiver is None or ingest.pc.connectionState != "connected":
            return
        ssrc = ingest.ssrcs.get("video")
        if ssrc is None:
            sources = receiver.getSynchronizationSources()
            if not sources:
                return
            ssrc = sources[0].source
        feed.last_pli_at = now
        feed.keyframe_requests += 1
        log.debug("room %s: PLI to %s", self.room_id, feed.participant_id)
        self._spawn(receiver._send_rtcp_pli(ssrc))

    def _start_ticker(self) -> None:
        if self._ticker is None and self._keyframe_interval > 0:
            self._ticker = asyncio.create_task(
                self._periodic_keyframes(), name=f"room-{self.room_id}-keyframes"
            )

    async def _periodic_keyframes(self) -> None:
        """Keep keyframes at most ``keyframe_interval`` apart (seekable recordings,
        thumbnails) without asking publishers that already send them that often."""
        interval = self._keyframe_interval
        while True:
            await asyncio.sleep(interval / 4)
            now = time.monotonic()
            for feed in list(self._feeds.values()):
                newest = max(
                    (t for t in (feed.last_keyframe_at, feed.last_periodic_at) if t is not None),
                    default=None,
                )
                if newest is None or now - newest >= interval:
                    feed.last_periodic_at = now
                    self.request_keyframe(feed.participant_id)

    # -- publisher observers (the recorder) -----------------------------------------
    # ``observer(room, event, participant_id)`` on the event loop after a participant's
    # "publish", "reconnect" (a new peer connection under the same feed) or "leave"
    # (also at room close); it must not block. RoomRegistry shares its list with rooms.

    def _notify(self, event: str, participant_id: str) -> None:
        for observer in tuple(self.observers):
            try:
                observer(self, event, participant_id)
            except Exception:
                log.exception(
                    "room %s: %s observer of %s failed", self.room_id, event, participant_id
                )

    # -- end of publisher observers -------------------------------------------------

    # -- lifecycle ----------------------------------------------------------------

    async def close(self) -> None:
        """Close every peer connection of the room."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        subscriptions = list(self._subscriptions.values())
        self._subscriptions.clear()
        feeds = list(self._feeds.values())
        self._feeds.clear()
        for subscription in subscriptions:
            await self._close_subscription(subscription)
        for feed in feeds:
            self._forget_feed(feed)
            ingest, feed.ingest = feed.ingest, None
            if ingest is not None:
                await self._close_ingest(ingest)
            self._notify("leave", feed.participant_id)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("room %s: closed", self.room_id)

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError(f"room {self.room_id} is closed", code="room_closed", status=409)

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _recent(at: float | None, now: float) -> bool:
    return at is not None and now - at <= LIVE_WINDOW


class RoomRegistry:
    """The rooms of this process, on the app; installs the decoder bypass."""

    def __init__(
        self,
        ice: RTCConfiguration,
        *,
        keyframe_interval: float = 3.0,
        pli_min_interval: float = 0.5,
    ) -> None:
        install_decoder_bypass()
        self._ice = _safe_ice(ice)
        self._options = {
            "keyframe_interval": keyframe_interval,
            "pli_min_interval": pli_min_interval,
        }
        self._rooms: dict[str, MediaRoom] = {}
        self.observers: list[PublisherObserver] = []  # shared with every room

    def get(self, room_id: str) -> MediaRoom:
        """The room, created on first use."""
        room = self._rooms.get(room_id)
        if room is None:
            room = MediaRoom(room_id, self._ice, **self._options)
            room.observers = self.observers
            self._rooms[room_id] = room
        return room

    def find(self, room_id: str) -> MediaRoom | None:
        """The room if it exists."""
        return self._rooms.get(room_id)

    def rooms(self) -> list[MediaRoom]:
        """Every open room."""
        return list(self._rooms.values())

    async def discard(self, room_id: str) -> None:
        """Close and forget one room (e.g. when its sitting ends)."""
        room = self._rooms.pop(room_id, None)
        if room is not None:
            await room.close()

    async def close(self) -> None:
        """Close every room (app shutdown)."""
        rooms = list(self._rooms.values())
        self._rooms.clear()
        for room in rooms:
            await room.close()
