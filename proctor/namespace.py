"""The ``/proctor`` socket.io namespace: signaling for the live video rooms.

Events (each acknowledged; failures are ``{"error", "message"}`` acks):

- ``join`` {room} → {ok, room, participant_id, role, ice_servers, publishers}
- ``publish`` {room, sdp, type: "offer"} → {sdp, type: "answer"}
- ``subscribe`` {room, publisher, sdp, type: "offer"} → {sdp, type: "answer"}
- ``unsubscribe`` {room, publisher} → {ok}
- ``leave`` {room} → {ok}
- ``state`` {room} → {room, publishers}
- ``chat_send`` {room, learner (staff: whose thread), text, client_id?} → {message_id, sent_at}
- ``chat_delivered`` / ``chat_read`` {room, message_ids} → {room, messages: [state]}
- ``chat_history`` {room, learner (staff), before?} → {room, learner, messages}
- ``capture`` {room, kind: face|document|room_view, participant? (commission: whose)}
  → {snapshot_id, kind, url, sha256, size, taken_by, taken_at}
- ``identity_decision`` {room, learner (user id), decision: confirmed|rejected, comment}
  → the learner's identity check (commission only; audited)
- ``browser_event`` {room, kind: tab_hidden|window_blurred, state: start|end} → {ok}
  (the learner's page)
- ``flag`` {room, learner, state: start|end, comment, event?} → the monitoring event
  (commission only)

The server emits ``publisher_joined`` / ``publisher_left`` {room, publisher} and
``state`` {room, publishers} (every :data:`STATE_SECONDS` and on every change) to the
room's commission and support, so their grid follows who is live; learners are told only
about the commission's streams, which are the only ones they may receive. Chat
(:mod:`proctor.chat`) goes to a thread's people — its learner and the room's staff —:
``chat_message`` {message…}; ``chat_state`` {room, learner, messages: [state]} goes back
to the side that sent the messages (the learner, or the room's staff).
Identity checks (:mod:`proctor.identity`) go to the learner and the staff as ``identity``
{room, learner_id, status, snapshots…}; monitoring events (:mod:`proctor.monitoring`) to
the staff as ``monitoring`` {id, kind, source, started_at, ended_at…}. Every admitted
``join`` and every leave of a socket (``left``, ``disconnected``, ``session_ended``) is
written to the participation log (:mod:`proctor.presence`) with the server time.

Every event re-checks the sender: its login session (every :data:`RECHECK_SECONDS`), its
membership of the room (the room's access was checked on ``join``), and its part in it.
Each socket has an event budget (:class:`EventBudget`), so a flood from one browser is
refused cheaply with ``throttled`` before any database or media work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from aiortc import RTCSessionDescription

from proctor import chat
from proctor.access import (
    VIEWERS,
    Participant,
    RoomRole,
    Roster,
    admit,
    may_capture,
    may_subscribe,
    participant_id,
)
from proctor.evidence import EVIDENCE
from proctor.ice import ice_servers_for
from proctor.identity import (
    decide,
    identity_json,
    learner_of_room,
    may_decide,
    snapshot_json,
    snapshot_kind,
    take_snapshot,
)
from proctor.monitoring import MONITOR, event_json
from proctor.presence import LeaveReason, PresenceAction, record_presence
from proctor.room import MediaRoom
from server.access import MAX_INT
from server.appkeys import CLOCK, ROOMS, ROSTER, SESSIONS, SETTINGS, THUMBNAILS
from server.errors import BadRequest, Forbidden, Invalid, NotFound, TooManyRequests, Unauthenticated
from server.realtime import UserNamespace, socket_errors
from server.sessions import Identity, identify_hash

log = logging.getLogger(__name__)

PROCTOR_NS = "/proctor"
STATE_SECONDS = 2.0
#: Sustained events per second one socket may send, and the burst it may save up.
EVENT_RATE = 20.0
EVENT_BURST = 20.0
MAX_SDP_BYTES = 64 * 1024
MAX_ROOM_NAME = 80


def staff_room(room_id: str) -> str:
    """The socket.io room of a live room's commission and support."""
    return f"proctor:{room_id}:staff"


def learners_room(room_id: str) -> str:
    """The socket.io room of a live room's learners."""
    return f"proctor:{room_id}:learners"


def learner_sockets(roster: Roster, room_id: str, learner_id: int) -> list[str]:
    """The sockets through which a learner is in a live room (none when not there)."""
    learner = roster.get(room_id, participant_id(learner_id))
    return sorted(learner.sids) if learner is not None else []


def thread_rooms(roster: Roster, room_id: str, learner_id: int) -> list[str]:
    """Where a learner's chat thread is heard: the room's staff and the learner's sockets."""
    return [staff_room(room_id), *learner_sockets(roster, room_id, learner_id)]


class EventBudget:
    """A token bucket: ``rate`` events a second, up to ``burst`` at once."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self) -> bool:
        """Spend one event; False when the budget is exhausted."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def _payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("event data must be an object", code="bad_event")
    return data


def _name(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value or len(value) > MAX_ROOM_NAME:
        raise Invalid(f"field {field!r} must be a non-empty string", field=field)
    return value


def offer_of(data: dict[str, Any]) -> RTCSessionDescription:
    """The SDP offer of an event; 422 ``bad_sdp`` for anything that cannot be one."""
    sdp, kind = data.get("sdp"), data.get("type")
    if kind != "offer":
        raise Invalid(f"type must be 'offer', not {str(kind)[:20]!r}", code="bad_sdp")
    if not isinstance(sdp, str):
        raise Invalid("sdp must be a string", code="bad_sdp")
    if len(sdp.encode("utf-8", "replace")) >= MAX_SDP_BYTES:
        raise Invalid(f"sdp is larger than {MAX_SDP_BYTES} bytes", code="bad_sdp")
    if "v=0" not in sdp:
        raise Invalid("sdp is not a session description (no v=0 line)", code="bad_sdp")
    return RTCSessionDescription(sdp=sdp, type="offer")


def _learner(data: dict[str, Any]) -> int:
    """The ``learner`` of an event: a learner's user id."""
    value = data.get("learner")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_INT:
        raise Invalid("field 'learner' must be the user id of a learner", field="learner")
    return value


def _age(at: float | None, now: float) -> float | None:
    """Seconds since a monotonic instant (the room's clock means nothing to a browser)."""
    return None if at is None else round(max(0.0, now - at), 2)


class ProctorNamespace(UserNamespace):
    """Learners, commission and support in live rooms: join, publish, subscribe, leave."""

    def __init__(self, app: web.Application) -> None:
        super().__init__(PROCTOR_NS, app)
        self._budgets: dict[str, EventBudget] = {}
        self._capturing: set[str] = set()

    # ------------------------------------------------------------ connection

    async def identify(self, hashed: str) -> Identity | None:
        """The login session, looked up in the database itself (not the session cache):
        room access follows a logout at once."""
        async with self.app[SESSIONS]() as db:
            return await identify_hash(db, hashed, self.app[CLOCK].now())

    async def connected(self, sid: str, user: Identity) -> None:
        """Give the socket its event budget."""
        self._budgets[sid] = EventBudget(EVENT_RATE, EVENT_BURST)

    async def session_ended(self, sid: str) -> None:
        """Leave every room of a socket whose login session ended."""
        for room_id in self.app[ROSTER].rooms_of(sid):
            await self._leave(sid, room_id, LeaveReason.SESSION_ENDED)

    async def on_disconnect(self, sid: str, *_reason: Any) -> None:
        """Leave every room the socket was in; a learner's stream ends with their last socket."""
        self._budgets.pop(sid, None)
        roster = self.app[ROSTER]
        for room_id in roster.rooms_of(sid):
            person = roster.member(room_id, sid)
            try:
                await self._leave(sid, room_id, LeaveReason.DISCONNECTED)
            except Exception:
                log.exception("leaving room %s on disconnect of %s failed", room_id, sid)
            if (
                person is not None
                and person.role is RoomRole.LEARNER
                and roster.get(room_id, person.participant_id) is None
            ):
                # Gone without leaving: the connection gap lasts until they join again.
                await self._monitor("dropped", room_id, person.user_id)

    # ------------------------------------------------------------ checks

    def _spend(self, sid: str) -> None:
        budget = self._budgets.get(sid)
        if budget is not None and not budget.take():
            raise TooManyRequests(
                f"socket {sid} sent more than {EVENT_RATE:g} events a second; slow down"
            )

    async def _user(self, sid: str) -> Identity:
        """The socket's identity, the event charged to its budget first."""
        self._spend(sid)
        return await self.current_user(sid)

    async def _member(self, sid: str, data: Any) -> tuple[dict[str, Any], Participant, MediaRoom]:
        """The event's payload, the sender's place in its room, and the room's media."""
        await self._user(sid)
        payload = _payload(data)
        room_id = _name(payload, "room")
        me = self.app[ROSTER].member(room_id, sid)
        if me is None:
            raise Forbidden(f"join room {room_id} first", code="not_joined")
        return payload, me, self.app[ROOMS].get(room_id)

    # ------------------------------------------------------------ events

    @socket_errors
    async def on_join(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Enter a live room (access checked; support's entry is audited)."""
        user = await self._user(sid)
        payload = _payload(data)
        room_id = _name(payload, "room")
        now = self.app[CLOCK].now()
        async with self.app[SESSIONS]() as db:
            role = await admit(db, user, room_id, now)
            record_presence(
                db,
                room_id,
                user.user_id,
                participant_id(user.user_id),
                role,
                PresenceAction.JOIN,
                now,
            )
            await db.commit()
        me = self.app[ROSTER].enter(room_id, sid, user, role)
        room = self.app[ROOMS].get(room_id)
        await self.enter_room(
            sid, staff_room(room_id) if role in VIEWERS else learners_room(room_id)
        )
        log.info("user %s joined room %s as %s", user.user_id, room_id, role)
        if role is RoomRole.LEARNER:
            await self._monitor("rejoined", room_id, user.user_id)
        return {
            "ok": True,
            "room": room_id,
            "participant_id": me.participant_id,
            "role": str(role),
            "ice_servers": ice_servers_for(self.app[SETTINGS], user.user_id, now),
            "publishers": self.publishers(room_id, room, me),
        }

    @socket_errors
    async def on_publish(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Publish (or re-publish after a reconnect) the sender's camera and microphone."""
        payload, me, room = await self._member(sid, data)
        offer = offer_of(payload)
        answer = await room.publish(me.participant_id, offer)
        room_id = _name(payload, "room")
        log.info("%s publishes in room %s", me.participant_id, room_id)
        await self._announce("publisher_joined", room_id, me, skip_sid=sid)
        await self.broadcast_state(room_id)
        return {"sdp": answer.sdp, "type": answer.type}

    @socket_errors
    async def on_subscribe(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Receive one publisher's streams (a learner: only the commission's)."""
        payload, me, room = await self._member(sid, data)
        room_id = _name(payload, "room")
        target = self._publisher(room_id, payload)
        if target.participant_id == me.participant_id:
            raise Invalid("a participant does not subscribe to their own stream")
        if not may_subscribe(me.role, target.role):
            raise Forbidden(
                f"a {me.role} may not receive the streams of {target.participant_id} "
                f"({target.role}) in room {room_id}"
            )
        offer = offer_of(payload)
        answer = await room.subscribe(me.participant_id, target.participant_id, offer)
        log.info(
            "%s subscribes to %s in room %s", me.participant_id, target.participant_id, room_id
        )
        return {"sdp": answer.sdp, "type": answer.type}

    @socket_errors
    async def on_unsubscribe(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Stop receiving one publisher's streams."""
        payload, me, room = await self._member(sid, data)
        publisher = _name(payload, "publisher")
        await room.unsubscribe(me.participant_id, publisher)
        return {"ok": True}

    @socket_errors
    async def on_leave(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Leave the room: stop publishing and receiving through this socket."""
        payload, _me, _room = await self._member(sid, data)
        await self._leave(sid, _name(payload, "room"), LeaveReason.LEFT)
        return {"ok": True}

    @socket_errors
    async def on_state(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """The room's publishers with their live flags, as the sender may see them."""
        payload, me, room = await self._member(sid, data)
        room_id = _name(payload, "room")
        return {"room": room_id, "publishers": self.publishers(room_id, room, me)}

    # ------------------------------------------------------------ chat

    @socket_errors
    async def on_chat_send(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Send a message in a learner's thread (a learner: their own; staff: ``learner``)."""
        payload, me, _room = await self._member(sid, data)
        room_id = _name(payload, "room")
        text = chat.message_text(payload.get("text"))
        client_id = chat.client_id_of(payload)
        user = await self._user_unspent(sid)
        async with self.app[SESSIONS]() as db:
            learner = await chat.thread_of(
                db, room_id, user, me.role, chat.user_id_field(payload, "learner")
            )
            posted = await chat.post(
                db, room_id, learner, user, text, client_id, self.app[CLOCK].now()
            )
            await db.commit()
        if posted.created:
            await self.emit_to_thread("chat_message", room_id, learner, posted.json)
        return {"message_id": posted.message.id, "sent_at": posted.json["sent_at"]}

    @socket_errors
    async def on_chat_delivered(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """The sender's client received messages of the other side."""
        return await self._receipt(sid, data, chat.Receipt.DELIVERED)

    @socket_errors
    async def on_chat_read(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """The sender's user was shown messages of the other side."""
        return await self._receipt(sid, data, chat.Receipt.READ)

    @socket_errors
    async def on_chat_history(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """A thread's messages, oldest first (a learner: only their own thread)."""
        payload, me, _room = await self._member(sid, data)
        room_id = _name(payload, "room")
        before = chat.user_id_field(payload, "before")
        user = await self._user_unspent(sid)
        async with self.app[SESSIONS]() as db:
            learner = await chat.thread_of(
                db, room_id, user, me.role, chat.user_id_field(payload, "learner")
            )
            messages = await chat.history(db, room_id, learner, before)
        return {"room": room_id, "learner": learner, "messages": messages}

    async def _receipt(self, sid: str, data: Any, receipt: chat.Receipt) -> dict[str, Any]:
        payload, me, _room = await self._member(sid, data)
        room_id = _name(payload, "room")
        ids = chat.message_ids(payload)
        user = await self._user_unspent(sid)
        async with self.app[SESSIONS]() as db:
            named, changed = await chat.mark(
                db, room_id, user, me.role, ids, receipt, self.app[CLOCK].now()
            )
            await db.commit()
        # The news goes back to the senders' side: the learner, or the room's staff.
        senders: dict[tuple[int, bool], list[dict[str, Any]]] = {}
        for message in changed:
            side = (message.learner_id, message.sender_id == message.learner_id)
            senders.setdefault(side, []).append(chat.state_json(message))
        for (learner, from_learner), states in senders.items():
            rooms = (
                learner_sockets(self.app[ROSTER], room_id, learner)
                if from_learner
                else [staff_room(room_id)]
            )
            if rooms:
                body = {"room": room_id, "learner": learner, "messages": states}
                await self.emit("chat_state", body, room=rooms)
        return {"room": room_id, "messages": [chat.state_json(m) for m in named]}

    async def _user_unspent(self, sid: str) -> Identity:
        """The socket's identity, for an event already charged to its budget."""
        user: Identity | None = (await self.get_session(sid)).get("user")
        if user is None:
            raise Unauthenticated("log in first")
        return user

    async def emit_to_thread(
        self, event: str, room_id: str, learner_id: int, body: dict[str, Any]
    ) -> None:
        """Send a chat event to a learner's thread: the learner and the room's staff."""
        await self.emit(event, body, room=thread_rooms(self.app[ROSTER], room_id, learner_id))

    # ------------------------------------------------------------ identity and monitoring

    @socket_errors
    async def on_capture(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Snapshot a learner's stream for the identity check or the room view: a learner
        their own, the commission the ``participant`` named."""
        payload, me, room = await self._member(sid, data)
        room_id = _name(payload, "room")
        kind = snapshot_kind(payload.get("kind"))
        target = me
        if payload.get("participant") is not None:
            pid = _name(payload, "participant")
            found = self.app[ROSTER].get(room_id, pid)
            if found is None:
                raise NotFound(f"{pid} is not in room {room_id}", code="unknown_publisher")
            target = found
        if not may_capture(me.role, own_stream=target.participant_id == me.participant_id):
            raise Forbidden(f"a {me.role} may not capture {target.participant_id} in {room_id}")
        if target.role is not RoomRole.LEARNER:
            raise Invalid(f"{target.participant_id} is no learner: snapshots are of learners")
        if sid in self._capturing:
            raise TooManyRequests(f"a capture of socket {sid} is still in progress")
        self._capturing.add(sid)
        try:
            async with self.app[SESSIONS]() as db:
                snapshot = await take_snapshot(
                    db,
                    self.app[THUMBNAILS],
                    self.app[EVIDENCE],
                    room,
                    target.user_id,
                    kind,
                    me.user_id,
                    self.app[CLOCK].now(),
                )
                await db.commit()
                body = await identity_json(db, room_id, target.user_id, target.name)
        finally:
            self._capturing.discard(sid)
        await self.push_identity(room_id, target.user_id, body)
        return snapshot_json(snapshot)

    @socket_errors
    async def on_identity_decision(
        self, sid: str, data: Any = None, *_extra: Any
    ) -> dict[str, Any]:
        """A commission member confirms or rejects a learner's identity, with a comment."""
        payload, me, _room = await self._member(sid, data)
        room_id = _name(payload, "room")
        if not may_decide(me.role):
            raise Forbidden(f"a {me.role} may not decide on identities in room {room_id}")
        learner_id = _learner(payload)
        async with self.app[SESSIONS]() as db:
            await decide(
                db,
                room_id,
                learner_id,
                payload.get("decision"),
                payload.get("comment"),
                me.user_id,
                self.app[CLOCK].now(),
            )
            await db.commit()
            body = await identity_json(db, room_id, learner_id)
        await self.push_identity(room_id, learner_id, body)
        return body

    @socket_errors
    async def on_browser_event(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """The learner's page: the test tab was hidden or the window lost focus, or back."""
        payload, me, _room = await self._member(sid, data)
        room_id = _name(payload, "room")
        if me.role is not RoomRole.LEARNER:
            raise Forbidden(f"only a learner's page reports its tab and window in {room_id}")
        await self.app[MONITOR].browser_report(
            room_id, me.user_id, payload.get("kind"), payload.get("state")
        )
        return {"ok": True}

    @socket_errors
    async def on_flag(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """A commission member flags a learner (``start``, with a comment) or ends a flag."""
        payload, me, _room = await self._member(sid, data)
        room_id = _name(payload, "room")
        if me.role is not RoomRole.COMMISSION:
            raise Forbidden(f"a {me.role} may not flag learners in room {room_id}")
        learner_id = _learner(payload)
        async with self.app[SESSIONS]() as db:
            await learner_of_room(db, room_id, learner_id)
        event = await self.app[MONITOR].flag(
            room_id,
            learner_id,
            me.user_id,
            payload.get("state"),
            payload.get("comment"),
            payload.get("event"),
        )
        return event_json(event)

    async def push_identity(self, room_id: str, learner_id: int, body: dict[str, Any]) -> None:
        """Send a learner's identity check to the room's staff and to the learner."""
        learner = self.app[ROSTER].get(room_id, participant_id(learner_id))
        rooms = [staff_room(room_id), *sorted(learner.sids if learner is not None else ())]
        await self.emit("identity", body, room=rooms)

    async def push_monitoring(self, room_id: str, body: dict[str, Any]) -> None:
        """Send a new or changed monitoring event to the room's commission and support."""
        await self.emit("monitoring", body, room=staff_room(room_id))

    async def _monitor(self, what: str, room_id: str, user_id: int) -> None:
        """Tell the monitor a learner ``dropped`` or ``rejoined``; never fails the caller."""
        try:
            monitor = self.app[MONITOR]
            report = monitor.dropped if what == "dropped" else monitor.rejoined
            await report(room_id, user_id)
        except Exception:
            log.exception("monitoring: %s of user %s in room %s failed", what, user_id, room_id)

    async def _log_leave(
        self, room_id: str, person: Participant, reason: LeaveReason, at: datetime
    ) -> None:
        """Write a leave to the participation log; a failure is logged, never raised."""
        try:
            async with self.app[SESSIONS]() as db:
                record_presence(
                    db,
                    room_id,
                    person.user_id,
                    person.participant_id,
                    person.role,
                    PresenceAction.LEAVE,
                    at,
                    reason,
                )
                await db.commit()
        except Exception:
            log.exception(
                "logging the leave of %s from room %s failed", person.participant_id, room_id
            )

    # ------------------------------------------------------------ room state

    def _publisher(self, room_id: str, payload: dict[str, Any]) -> Participant:
        pid = _name(payload, "publisher")
        target = self.app[ROSTER].get(room_id, pid)
        if target is None:
            raise NotFound(f"publisher {pid} is not in room {room_id}", code="unknown_publisher")
        return target

    def publishers(
        self, room_id: str, room: MediaRoom, viewer: Participant | None
    ) -> list[dict[str, Any]]:
        """The room's publishers the viewer may see (None: the commission's full view).

        A learner sees the commission's streams and their own, nobody else's.
        """
        roster = self.app[ROSTER]
        now = time.monotonic()
        seen = []
        for info in room.publishers():
            person = roster.get(room_id, info.participant_id)
            if person is None:
                continue
            if viewer is not None and not (
                person.participant_id == viewer.participant_id
                or may_subscribe(viewer.role, person.role)
            ):
                continue
            seen.append(
                {
                    "participant_id": info.participant_id,
                    "user_id": person.user_id,
                    "name": person.name,
                    "role": str(person.role),
                    "kinds": sorted(info.kinds),
                    "connection": info.connection,
                    "video_live": info.video_live,
                    "audio_live": info.audio_live,
                    "video_frames": info.video_frames,
                    "audio_frames": info.audio_frames,
                    "viewers": info.viewers,
                    "last_frame_age": _age(info.last_frame_at, now),
                    "last_keyframe_age": _age(info.last_keyframe_at, now),
                }
            )
        return seen

    async def broadcast_state(self, room_id: str) -> None:
        """Send the room's full state to its commission and support."""
        room = self.app[ROOMS].find(room_id)
        if room is None:
            return
        await self.emit(
            "state",
            {"room": room_id, "publishers": self.publishers(room_id, room, None)},
            room=staff_room(room_id),
        )

    async def run_state_updates(self) -> None:
        """Every :data:`STATE_SECONDS`, send the state of each room watched by staff to them."""
        roster = self.app[ROSTER]
        while True:
            await asyncio.sleep(STATE_SECONDS)
            for room_id in roster.rooms():
                if not any(p.role in VIEWERS for p in roster.participants(room_id)):
                    continue
                try:
                    await self.broadcast_state(room_id)
                except Exception:
                    log.exception("state update of room %s failed", room_id)

    async def _announce(
        self, event: str, room_id: str, person: Participant, skip_sid: str | None = None
    ) -> None:
        """Tell those who may see ``person`` that they started or stopped publishing."""
        body = {
            "room": room_id,
            "publisher": {
                "participant_id": person.participant_id,
                "user_id": person.user_id,
                "name": person.name,
                "role": str(person.role),
            },
        }
        await self.emit(event, body, room=staff_room(room_id), skip_sid=skip_sid)
        if person.role is RoomRole.COMMISSION:
            await self.emit(event, body, room=learners_room(room_id), skip_sid=skip_sid)

    async def _leave(self, sid: str, room_id: str, reason: LeaveReason) -> None:
        """Take the socket out of the room (logged with ``reason``); the last socket of a
        person ends their media."""
        person = self.app[ROSTER].member(room_id, sid)
        await self.leave_room(sid, staff_room(room_id))
        await self.leave_room(sid, learners_room(room_id))
        if person is None or self.app[ROSTER].member(room_id, sid) is None:
            return  # not in the room, or another leave of this socket took it out
        last = self.app[ROSTER].exit(room_id, sid)
        left_at = self.app[CLOCK].now()
        try:
            if last is None:
                return
            rooms = self.app[ROOMS]
            room = rooms.find(room_id)
            if room is None:
                return
            published = any(p.participant_id == person.participant_id for p in room.publishers())
            await room.leave(person.participant_id)
            self.app[THUMBNAILS].forget(room_id, person.participant_id)
            log.info("%s left room %s", person.participant_id, room_id)
            if not self.app[ROSTER].participants(room_id):
                # Checked and forgotten in one step of the loop: no join can slip in between.
                await rooms.discard(room_id)
            elif published:
                await self._announce("publisher_left", room_id, person)
                await self.broadcast_state(room_id)
        finally:
            # Written after the media is torn down, so no join slips in before that.
            await self._log_leave(room_id, person, reason, left_at)


__all__ = [
    "PROCTOR_NS",
    "EventBudget",
    "ProctorNamespace",
    "learner_sockets",
    "learners_room",
    "offer_of",
    "staff_room",
    "thread_rooms",
]
