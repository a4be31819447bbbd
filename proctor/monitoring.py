"""Monitoring events: intervals of what went wrong while a learner was watched.

An event has a kind, a start, an end (``None`` while it lasts), a source and an author:

- ``auto`` — the server noticed it. :class:`Monitor` looks at every learner of the rooms of
  this process once a second and opens or closes ``video_lost``, ``audio_lost`` and
  ``connection_lost`` as :func:`transitions` says (a stream is lost, or frozen, when no
  frame of it arrived for :data:`~proctor.room.LIVE_WINDOW` seconds while its connection
  is up; the interval starts when the monitor notices, within a second of that). A
  socket that drops without ``leave`` opens ``connection_lost`` at once, and the
  learner's next ``join`` closes it: that is the reconnect gap. ``second_session`` (a
  second tab refused, or a takeover) is an instant (start = end), recorded by the quiz
  API.
- ``browser`` — the learner's page reported ``tab_hidden`` or ``window_blurred``.
- ``person`` — a commission member's ``manual_flag`` with a comment.

Every change is stored, then pushed live to the room's commission and support through
the ``notify`` callback the ``/proctor`` namespace gives the monitor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web
from sqlalchemy import ForeignKey, Index, Integer, String, Text, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from proctor.access import RoomRole, Roster, participant_id, room_of_test
from proctor.room import LIVE_WINDOW, PublisherInfo, RoomRegistry
from server.clock import Clock
from server.database import Base, UTCDateTime
from server.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

#: How often the monitor looks at every learner's streams, in seconds.
MONITOR_SECONDS = 1.0
#: After a publish connection comes up, frames have this long to arrive before a stream
#: counts as lost (the first keyframe, a reconnect's restart).
CONNECT_GRACE = LIVE_WINDOW
MAX_COMMENT = 2000
#: Identical second-session reports of one learner within this time are recorded once.
SECOND_SESSION_QUIET = timedelta(seconds=10)


class EventKind(StrEnum):
    """What happened."""

    VIDEO_LOST = "video_lost"
    AUDIO_LOST = "audio_lost"
    CONNECTION_LOST = "connection_lost"
    TAB_HIDDEN = "tab_hidden"
    WINDOW_BLURRED = "window_blurred"
    SECOND_SESSION = "second_session"
    MANUAL_FLAG = "manual_flag"


class EventSource(StrEnum):
    """Who noticed it: the server, the learner's browser, or a person (the commission)."""

    AUTO = "auto"
    BROWSER = "browser"
    PERSON = "person"


BROWSER_KINDS = frozenset({EventKind.TAB_HIDDEN, EventKind.WINDOW_BLURRED})
# The kinds the monitor opens and closes, in the order it reports them.
AUTO_KINDS = (EventKind.CONNECTION_LOST, EventKind.VIDEO_LOST, EventKind.AUDIO_LOST)


class MonitoringEvent(Base):
    """One interval (or instant) of a learner's session that the commission should see."""

    __tablename__ = "monitoring_events"
    __table_args__ = (Index("ix_monitoring_events_room_learner", "room", "learner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(80))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")


def event_json(event: MonitoringEvent) -> dict[str, Any]:
    """The event as the commission's view and the API show it."""
    return {
        "id": event.id,
        "room": event.room,
        "learner_id": event.learner_id,
        "participant_id": participant_id(event.learner_id),
        "kind": event.kind,
        "source": event.source,
        "author_id": event.author_id,
        "started_at": event.started_at.isoformat(),
        "ended_at": event.ended_at.isoformat() if event.ended_at else None,
        "open": event.ended_at is None,
        "comment": event.comment,
    }


# ---------------------------------------------------------------- decisions (pure)


class Connection(StrEnum):
    """A learner's publish connection as the monitor judges it."""

    OK = "ok"
    PENDING = "pending"  # joined but not (yet) publishing, or connecting: no judgement
    LOST = "lost"


@dataclass(frozen=True)
class LearnerState:
    """What the monitor saw of one learner in one look."""

    connection: Connection
    video: bool = True
    audio: bool = True


def lost_kinds(state: LearnerState | None) -> frozenset[EventKind]:
    """The automatic intervals that should be open in ``state`` (None: not in the room).

    A lost connection is one interval, not three: video and audio are lost *because* of
    it, so they are judged only while the connection is up.
    """
    if state is None or state.connection is Connection.PENDING:
        return frozenset()
    if state.connection is Connection.LOST:
        return frozenset({EventKind.CONNECTION_LOST})
    lost = set()
    if not state.video:
        lost.add(EventKind.VIDEO_LOST)
    if not state.audio:
        lost.add(EventKind.AUDIO_LOST)
    return frozenset(lost)


def transitions(
    previous: LearnerState | None, current: LearnerState | None
) -> list[tuple[EventKind, str]]:
    """The intervals to close and to open going from ``previous`` to ``current``:
    ``(kind, "close")`` first, then ``(kind, "open")``, each in :data:`AUTO_KINDS` order."""
    before, after = lost_kinds(previous), lost_kinds(current)
    closing = [(kind, "close") for kind in AUTO_KINDS if kind in before - after]
    opening = [(kind, "open") for kind in AUTO_KINDS if kind in after - before]
    return closing + opening


def observe(
    info: PublisherInfo | None,
    *,
    present: bool,
    dropped: bool,
    connected_for: float | None,
) -> LearnerState | None:
    """Judge one learner: ``present`` in the room through a socket, ``dropped`` when their
    last socket went without leaving, ``info`` of their publisher (None when not
    publishing), and for how long its connection has been up (None: not connected)."""
    if dropped:
        return LearnerState(Connection.LOST)
    if not present:
        return None
    if info is None or info.connection in ("new", "connecting"):
        return LearnerState(Connection.PENDING)
    if info.connection != "connected":  # disconnected, failed, closed
        return LearnerState(Connection.LOST)
    settling = connected_for is None or connected_for < CONNECT_GRACE
    return LearnerState(
        Connection.OK,
        video=("video" in info.kinds and info.video_live) or settling,
        audio=("audio" in info.kinds and info.audio_live) or settling,
    )


# ---------------------------------------------------------------- storage


def _comment(value: Any, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid("field 'comment' must be a string", field="comment")
    text = value.strip()
    if len(text) > MAX_COMMENT:
        raise Invalid(f"the comment is longer than {MAX_COMMENT} characters", field="comment")
    if required and not text:
        raise Invalid("say why: a comment is required", field="comment")
    return text


async def open_event(
    db: AsyncSession,
    room_id: str,
    learner_id: int,
    kind: EventKind,
    source: EventSource,
    at: datetime,
    *,
    author_id: int | None = None,
    comment: str = "",
    reuse: bool = True,
) -> tuple[MonitoringEvent, bool]:
    """Open an interval; with ``reuse``, an open one of the same kind and source is kept
    instead. Returns the event and whether it was created."""
    if reuse:
        existing = await db.scalar(
            select(MonitoringEvent)
            .where(
                MonitoringEvent.room == room_id,
                MonitoringEvent.learner_id == learner_id,
                MonitoringEvent.kind == kind.value,
                MonitoringEvent.source == source.value,
                MonitoringEvent.ended_at.is_(None),
            )
            .order_by(MonitoringEvent.id)
            .limit(1)
        )
        if existing is not None:
            return existing, False
    event = MonitoringEvent(
        room=room_id,
        learner_id=learner_id,
        kind=kind.value,
        source=source.value,
        author_id=author_id,
        started_at=at,
        ended_at=None,
        comment=comment,
    )
    db.add(event)
    await db.flush()
    log.info("room %s: %s of user %s opened (%s)", room_id, kind, learner_id, source)
    return event, True


async def close_events(
    db: AsyncSession,
    room_id: str,
    learner_id: int,
    kinds: Iterable[EventKind],
    at: datetime,
    *,
    source: EventSource | None = None,
) -> list[MonitoringEvent]:
    """Close every open interval of these kinds (of one source, if given); returns them."""
    query = select(MonitoringEvent).where(
        MonitoringEvent.room == room_id,
        MonitoringEvent.learner_id == learner_id,
        MonitoringEvent.kind.in_([kind.value for kind in kinds]),
        MonitoringEvent.ended_at.is_(None),
    )
    if source is not None:
        query = query.where(MonitoringEvent.source == source.value)
    closed = list(await db.scalars(query.order_by(MonitoringEvent.id)))
    for event in closed:
        event.ended_at = max(at, event.started_at)
        log.info("room %s: %s %s of user %s closed", room_id, event.kind, event.id, learner_id)
    await db.flush()
    return closed


async def instant_event(
    db: AsyncSession,
    room_id: str,
    learner_id: int,
    kind: EventKind,
    source: EventSource,
    at: datetime,
    *,
    author_id: int | None = None,
    comment: str = "",
) -> MonitoringEvent:
    """Record something that happened at one moment (start = end)."""
    event = MonitoringEvent(
        room=room_id,
        learner_id=learner_id,
        kind=kind.value,
        source=source.value,
        author_id=author_id,
        started_at=at,
        ended_at=at,
        comment=comment,
    )
    db.add(event)
    await db.flush()
    log.info("room %s: %s of user %s recorded (%s)", room_id, kind, learner_id, source)
    return event


async def events_of_room(db: AsyncSession, room_id: str) -> list[MonitoringEvent]:
    """Every event of the room, oldest first."""
    rows = await db.scalars(
        select(MonitoringEvent)
        .where(MonitoringEvent.room == room_id)
        .order_by(MonitoringEvent.started_at, MonitoringEvent.id)
    )
    return list(rows)


# ---------------------------------------------------------------- the monitor

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class _Watched:
    """The monitor's memory of one learner in one room."""

    user_id: int
    state: LearnerState | None = None
    dropped: bool = False
    connected_since: float | None = None


class Monitor:
    """Opens and closes the automatic intervals of the learners of this process's rooms,
    records the browser's reports, manual flags and second sessions, and pushes every
    change through ``notify(room_id, event_json)``. Lives on the app under :data:`MONITOR`.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rooms: RoomRegistry,
        roster: Roster,
        clock: Clock,
        notify: Notify,
    ) -> None:
        self._sessions = sessions
        self._rooms = rooms
        self._roster = roster
        self._clock = clock
        self._notify = notify
        self._watched: dict[tuple[str, str], _Watched] = {}
        self._lock = asyncio.Lock()

    # -- the periodic look ----------------------------------------------------

    async def run(self) -> None:
        """Look at every learner every :data:`MONITOR_SECONDS` until cancelled."""
        while True:
            await asyncio.sleep(MONITOR_SECONDS)
            try:
                await self.tick()
            except Exception:
                log.exception("monitoring round failed")

    async def tick(self) -> None:
        """One look at every learner who is, or was until now, in a room of this process."""
        for room_id in self._roster.rooms():
            for person in self._roster.participants(room_id):
                if person.role is RoomRole.LEARNER:
                    key = (room_id, person.participant_id)
                    self._watched.setdefault(key, _Watched(person.user_id))
        infos: dict[str, dict[str, PublisherInfo]] = {}
        for room_id, pid in list(self._watched):
            if room_id not in infos:
                room = self._rooms.find(room_id)
                publishers = room.publishers() if room is not None else []
                infos[room_id] = {info.participant_id: info for info in publishers}
            try:
                await self._update(room_id, pid, infos[room_id].get(pid))
            except Exception:
                log.exception("monitoring %s in room %s failed", pid, room_id)

    async def _update(
        self, room_id: str, pid: str, info: PublisherInfo | None, *, dropped: bool | None = None
    ) -> None:
        changed: list[MonitoringEvent] = []
        async with self._lock:
            watched = self._watched.get((room_id, pid))
            if watched is None:
                return
            if dropped is not None:
                watched.dropped = dropped
            now = time.monotonic()
            if info is not None and info.connection == "connected":
                if watched.connected_since is None:
                    watched.connected_since = now
            else:
                watched.connected_since = None
            present = self._roster.get(room_id, pid) is not None
            current = observe(
                info,
                present=present,
                dropped=watched.dropped and not present,
                connected_for=(
                    None if watched.connected_since is None else now - watched.connected_since
                ),
            )
            changes = transitions(watched.state, current)
            page_gone = current is None or dropped is True
            if not changes and not page_gone:
                watched.state = current
                return
            at = self._clock.now()
            async with self._sessions() as db:
                for kind, action in changes:
                    if action == "open":
                        event, created = await open_event(
                            db, room_id, watched.user_id, kind, EventSource.AUTO, at
                        )
                        changed += [event] if created else []
                    else:
                        changed += await close_events(
                            db, room_id, watched.user_id, [kind], at, source=EventSource.AUTO
                        )
                if page_gone:
                    # A page that is gone reports nothing more: its hidden tab ends here.
                    changed += await close_events(db, room_id, watched.user_id, BROWSER_KINDS, at)
                await db.commit()
            watched.state = current
            if current is None:
                del self._watched[(room_id, pid)]
        for event in changed:
            await self._push(event)

    # -- what the namespace reports ---------------------------------------------

    async def dropped(self, room_id: str, user_id: int) -> None:
        """The learner's last socket in the room went without ``leave``: the connection
        is lost until they join again."""
        pid = participant_id(user_id)
        self._watched.setdefault((room_id, pid), _Watched(user_id))
        await self._update(room_id, pid, None, dropped=True)

    async def rejoined(self, room_id: str, user_id: int) -> None:
        """The learner joined the room (again): a connection gap, if any, ends now. An
        interval left open by a previous process is closed too."""
        pid = participant_id(user_id)
        watched = self._watched.setdefault((room_id, pid), _Watched(user_id))
        if watched.state is None:
            watched.state = LearnerState(Connection.LOST)
        room = self._rooms.find(room_id)
        info = next(
            (i for i in (room.publishers() if room else []) if i.participant_id == pid), None
        )
        await self._update(room_id, pid, info, dropped=False)

    async def browser_report(self, room_id: str, user_id: int, kind: Any, state: Any) -> None:
        """The learner's page says the test tab went hidden / the window lost focus
        (``start``) or came back (``end``)."""
        if not isinstance(kind, str) or kind not in BROWSER_KINDS:
            names = ", ".join(sorted(BROWSER_KINDS))
            raise Invalid(f"kind must be one of {names}, not {str(kind)[:40]!r}", field="kind")
        event_kind = EventKind(kind)
        if state not in ("start", "end"):
            raise Invalid("state must be 'start' or 'end'", field="state")
        at = self._clock.now()
        async with self._sessions() as db:
            if state == "start":
                event, created = await open_event(
                    db, room_id, user_id, event_kind, EventSource.BROWSER, at, author_id=user_id
                )
                changed = [event] if created else []
            else:
                changed = await close_events(
                    db, room_id, user_id, [event_kind], at, source=EventSource.BROWSER
                )
            await db.commit()
        for event in changed:
            await self._push(event)

    async def flag(
        self,
        room_id: str,
        learner_id: int,
        author_id: int,
        state: Any,
        comment: Any = None,
        event_id: Any = None,
    ) -> MonitoringEvent:
        """A commission member flags the learner (``start``, a comment required) or ends
        a flag (``end``: the one named by ``event_id``, else their latest open one)."""
        at = self._clock.now()
        async with self._sessions() as db:
            if state == "start":
                event, _ = await open_event(
                    db,
                    room_id,
                    learner_id,
                    EventKind.MANUAL_FLAG,
                    EventSource.PERSON,
                    at,
                    author_id=author_id,
                    comment=_comment(comment, required=True),
                    reuse=False,
                )
            elif state == "end":
                event = await self._open_flag(db, room_id, learner_id, author_id, event_id)
                event.ended_at = max(at, event.started_at)
                extra = _comment(comment)
                if extra:
                    event.comment = f"{event.comment}\n{extra}"[:MAX_COMMENT]
                await db.flush()
            else:
                raise Invalid("state must be 'start' or 'end'", field="state")
            await db.commit()
        log.info("room %s: user %s flag %s %s", room_id, author_id, event.id, state)
        await self._push(event)
        return event

    async def _open_flag(
        self, db: AsyncSession, room_id: str, learner_id: int, author_id: int, event_id: Any
    ) -> MonitoringEvent:
        query = select(MonitoringEvent).where(
            MonitoringEvent.room == room_id,
            MonitoringEvent.learner_id == learner_id,
            MonitoringEvent.kind == EventKind.MANUAL_FLAG.value,
        )
        if event_id is not None:
            if not isinstance(event_id, int) or isinstance(event_id, bool):
                raise Invalid("field 'event' must be an integer", field="event")
            event = await db.scalar(query.where(MonitoringEvent.id == event_id))
            if event is None:
                raise NotFound(f"flag {event_id} of user {learner_id} is not in room {room_id}")
        else:
            event = await db.scalar(
                query.where(
                    MonitoringEvent.author_id == author_id, MonitoringEvent.ended_at.is_(None)
                ).order_by(MonitoringEvent.id.desc())
            )
            if event is None:
                raise NotFound(
                    f"user {author_id} has no open flag on user {learner_id} in room {room_id}"
                )
        if event.ended_at is not None:
            raise Conflict(f"flag {event.id} has already ended", code="flag_ended")
        return event

    async def second_session(
        self, room_id: str, learner_id: int, comment: str, at: datetime | None = None
    ) -> None:
        """A second tab or browser of the learner was refused, or took the attempt over.
        Repeats of the same report within :data:`SECOND_SESSION_QUIET` are one event (a
        page retrying in a loop does not flood the commission's view)."""
        at = at or self._clock.now()
        async with self._sessions() as db:
            recent = await db.scalar(
                select(MonitoringEvent.id).where(
                    MonitoringEvent.room == room_id,
                    MonitoringEvent.learner_id == learner_id,
                    MonitoringEvent.kind == EventKind.SECOND_SESSION.value,
                    MonitoringEvent.comment == comment[:MAX_COMMENT],
                    MonitoringEvent.started_at > at - SECOND_SESSION_QUIET,
                )
            )
            if recent is not None:
                return
            event = await instant_event(
                db,
                room_id,
                learner_id,
                EventKind.SECOND_SESSION,
                EventSource.AUTO,
                at,
                comment=comment[:MAX_COMMENT],
            )
            await db.commit()
        await self._push(event)

    async def _push(self, event: MonitoringEvent) -> None:
        try:
            await self._notify(event.room, event_json(event))
        except Exception:
            log.exception("pushing monitoring event %s of room %s failed", event.id, event.room)

    def watched(self) -> dict[tuple[str, str], LearnerState | None]:
        """The last judged state of every learner watched (diagnostics and tests)."""
        return {key: w.state for key, w in self._watched.items()}


MONITOR: web.AppKey[Monitor] = web.AppKey("monitor", Monitor)


async def report_second_session(
    app: web.Application, test_id: int, learner_id: int, comment: str
) -> None:
    """Record that a second tab or browser of the learner tried the test's attempt (and
    was refused) or took it over; never fails the caller (the quiz API)."""
    monitor = app.get(MONITOR)
    if monitor is None:
        return
    try:
        await monitor.second_session(room_of_test(test_id), learner_id, comment)
    except Exception:
        log.exception(
            "recording a second session of user %s on test %s failed", learner_id, test_id
        )


# ---------------------------------------------------------------- retention


async def last_event_times(db: AsyncSession) -> dict[str, datetime]:
    """Each room's latest event (its end, or its start while open): with the other
    evidence it dates a session's end."""
    latest = func.max(func.coalesce(MonitoringEvent.ended_at, MonitoringEvent.started_at))
    rows = await db.execute(select(MonitoringEvent.room, latest).group_by(MonitoringEvent.room))
    return {room: at for room, at in rows if at is not None}


async def delete_events(db: AsyncSession, room_id: str) -> int:
    """Delete a room's events when their retention date passed (in the caller's
    transaction); the number of rows this DELETE removed (0 when another server process
    got there first, so only one of them audits it)."""
    deleted = await db.scalars(
        delete(MonitoringEvent).where(MonitoringEvent.room == room_id).returning(MonitoringEvent.id)
    )
    return len(deleted.all())
