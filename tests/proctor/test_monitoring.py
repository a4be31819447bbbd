"""Monitoring events: the pure decisions (table-tested), and the real app with real
socket.io clients: a stalled camera (a real aiortc publisher), a dropped socket and the
rejoin, the browser's reports, manual flags and a second session of the quiz API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from proctor.access import room_of_test
from proctor.monitoring import (
    MONITOR,
    Connection,
    EventKind,
    LearnerState,
    lost_kinds,
    observe,
    transitions,
)
from proctor.room import PublisherInfo
from tests.proctor.media import Clip, wait_for
from tests.proctor.test_signaling import ProctorSocket, Room, assert_error, signal
from tests.seed import PASSWORD, Seed
from tests.serverproc import Api

# ---------------------------------------------------------------- pure decisions

OK = LearnerState(Connection.OK)
NO_VIDEO = LearnerState(Connection.OK, video=False)
NO_AUDIO = LearnerState(Connection.OK, audio=False)
MUTE = LearnerState(Connection.OK, video=False, audio=False)
LOST = LearnerState(Connection.LOST)
PENDING = LearnerState(Connection.PENDING)
V, A, C = EventKind.VIDEO_LOST, EventKind.AUDIO_LOST, EventKind.CONNECTION_LOST


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, None, []),
        (None, PENDING, []),  # joined, camera not yet published: no judgement
        (None, OK, []),
        (PENDING, OK, []),
        (OK, OK, []),
        (OK, NO_VIDEO, [(V, "open")]),
        (NO_VIDEO, NO_VIDEO, []),  # still lost: the open interval goes on
        (NO_VIDEO, OK, [(V, "close")]),  # frames resumed
        (OK, MUTE, [(V, "open"), (A, "open")]),
        (MUTE, NO_AUDIO, [(V, "close")]),
        (NO_VIDEO, NO_AUDIO, [(V, "close"), (A, "open")]),
        (OK, LOST, [(C, "open")]),
        # A lost connection is one interval: its lost streams are not three more.
        (MUTE, LOST, [(V, "close"), (A, "close"), (C, "open")]),
        (LOST, LOST, []),
        (None, LOST, [(C, "open")]),  # the socket dropped
        (LOST, PENDING, [(C, "close")]),  # rejoined, publishing again
        (LOST, NO_VIDEO, [(C, "close"), (V, "open")]),
        (LOST, None, [(C, "close")]),
        (NO_VIDEO, None, [(V, "close")]),  # left the room: the interval ends
    ],
)
def test_transitions(
    previous: LearnerState | None,
    current: LearnerState | None,
    expected: list[tuple[EventKind, str]],
) -> None:
    assert transitions(previous, current) == expected


def test_lost_kinds() -> None:
    assert lost_kinds(None) == lost_kinds(PENDING) == lost_kinds(OK) == frozenset()
    assert lost_kinds(LOST) == {C}
    assert lost_kinds(LearnerState(Connection.LOST, video=False)) == {C}
    assert lost_kinds(MUTE) == {V, A}


def info(connection: str = "connected", **changes: Any) -> PublisherInfo:
    values: dict[str, Any] = {
        "participant_id": "u5",
        "kinds": {"audio", "video"},
        "connection": connection,
        "video_frames": 100,
        "last_frame_at": 1.0,
        "last_keyframe_at": 1.0,
        "video_live": True,
        "audio_live": True,
    }
    values.update(changes)
    return PublisherInfo(**values)


@pytest.mark.parametrize(
    ("publisher", "present", "dropped", "connected_for", "expected"),
    [
        (None, False, False, None, None),  # not in the room
        (None, True, False, None, PENDING),  # joined, not publishing
        (info("new"), True, False, None, PENDING),
        (info("connecting"), True, False, None, PENDING),
        (info(), True, False, 10.0, OK),
        (info(video_live=False), True, False, 10.0, NO_VIDEO),  # no frames for > 2 s
        (info(audio_live=False), True, False, 10.0, NO_AUDIO),
        (info(video_live=False, audio_live=False), True, False, 10.0, MUTE),
        # Just connected (or reconnected): frames get a moment to arrive.
        (info(video_live=False), True, False, 0.5, OK),
        (info(video_live=False), True, False, None, OK),
        (info(kinds={"audio"}), True, False, 10.0, NO_VIDEO),  # camera not published
        (info("disconnected"), True, False, None, LOST),
        (info("failed"), True, False, None, LOST),
        (info("closed"), True, False, None, LOST),
        (None, False, True, None, LOST),  # the last socket went without leaving
    ],
)
def test_observe(
    publisher: PublisherInfo | None,
    present: bool,
    dropped: bool,
    connected_for: float | None,
    expected: LearnerState | None,
) -> None:
    got = observe(publisher, present=present, dropped=dropped, connected_for=connected_for)
    assert got == expected


# ---------------------------------------------------------------- the real app


class Socket(ProctorSocket):
    """A ``/proctor`` client that also records identity and monitoring pushes."""

    EVENTS = (*ProctorSocket.EVENTS, "identity", "monitoring")


class People(Room):
    """The people of a live room, with sockets that record identity and monitoring."""

    async def person(self, username: str) -> tuple[Api, ProctorSocket]:
        api = await self.api(username)
        sock = Socket(self.url, api.cookie)
        self.sockets.append(sock)
        return api, await sock.connect()

    async def api(self, username: str) -> Api:
        """A logged-in HTTP client without a socket."""
        api = Api(self.url)
        self.apis.append(api)
        return await api.login(username, PASSWORD)


@pytest.fixture
async def people(client: TestClient[Any, Any], seed: Seed) -> AsyncIterator[People]:
    """The people of the seed test's live room."""
    opened = People(f"http://{client.host}:{client.port}", room_of_test(seed.test_id))
    try:
        yield opened
    finally:
        await opened.close()


def event(kind: str, *, open_: bool | None = None, **fields: Any) -> Callable[[Any], bool]:
    """Matches a pushed monitoring event of ``kind`` (open or closed) with these fields."""

    def match(data: Any) -> bool:
        return (
            data["kind"] == kind
            and (open_ is None or data["open"] is open_)
            and all(data[k] == v for k, v in fields.items())
        )

    return match


async def events_of(api: Api, room: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/api/rooms/{room}/events")
    assert status == 200, body
    assert body["room"] == room
    return list(body["events"])


@pytest.mark.rule("B4.11-room-view")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # aiortc is the cost here
async def test_a_stalled_camera_is_video_lost_until_frames_resume(
    client: TestClient[Any, Any], seed: Seed, people: People, clip: Clip
) -> None:
    monitor = client.server.app[MONITOR]
    chair_api, chair, _ = await people.joined("chair")
    _, learner, ack = await people.joined("learner1")
    learner_id, pid = seed.users["learner1"], ack["participant_id"]
    camera = people.publisher(clip, ack)
    await camera.connect(signal(learner, "publish", room=people.room))
    await wait_for(lambda: monitor.watched().get((people.room, pid)) == OK, 15, "a live learner")

    # The camera stops sending (the stream freezes): no video frames for over 2 s.
    camera.video.pause()
    lost = await chair.wait_for("monitoring", event("video_lost", open_=True), within=10)
    assert (lost["source"], lost["author_id"]) == ("auto", None)
    assert (lost["learner_id"], lost["participant_id"], lost["room"]) == (
        learner_id,
        pid,
        people.room,
    )
    # Frames resume: the same interval closes.
    camera.video.resume()
    closed = await chair.wait_for("monitoring", event("video_lost", open_=False, id=lost["id"]))
    assert closed["started_at"] == lost["started_at"] <= closed["ended_at"]

    # It stalls again and the learner leaves: the open interval ends with the stay.
    camera.video.pause()
    again = await chair.wait_for(
        "monitoring", lambda e: event("video_lost", open_=True)(e) and e["id"] != lost["id"]
    )
    assert (await learner.call("leave", {"room": people.room})) == {"ok": True}
    await chair.wait_for("monitoring", event("video_lost", open_=False, id=again["id"]))

    stored = await events_of(chair_api, people.room)
    assert [(e["kind"], e["source"], e["open"]) for e in stored] == [
        ("video_lost", "auto", False),
        ("video_lost", "auto", False),
    ], "audio kept flowing, and a learner who leaves has no connection gap"
    assert (people.room, pid) not in monitor.watched()


async def test_a_dropped_socket_is_a_connection_gap_until_the_learner_rejoins(
    seed: Seed, people: People
) -> None:
    chair_api, chair, _ = await people.joined("chair")
    _, learner, _ = await people.joined("learner1")
    learner_id = seed.users["learner1"]

    # The network drops: the socket goes without leaving.
    await learner.close()
    gap = await chair.wait_for("monitoring", event("connection_lost", open_=True))
    assert (gap["source"], gap["learner_id"], gap["author_id"]) == ("auto", learner_id, None)

    # The learner is back on a new socket: the gap ends.
    await people.joined("learner1")
    closed = await chair.wait_for("monitoring", event("connection_lost", open_=False, id=gap["id"]))
    assert closed["started_at"] <= closed["ended_at"]
    assert [(e["id"], e["kind"], e["open"]) for e in await events_of(chair_api, people.room)] == [
        (gap["id"], "connection_lost", False)
    ]


async def test_browser_reports_are_stored_with_source_and_author(
    seed: Seed, people: People
) -> None:
    chair_api, chair, _ = await people.joined("chair")
    _, learner, _ = await people.joined("learner1")
    learner_id = seed.users["learner1"]
    room = people.room

    def report(kind: Any, state: Any) -> dict[str, Any]:
        return {"room": room, "kind": kind, "state": state}

    assert await learner.call("browser_event", report("tab_hidden", "start")) == {"ok": True}
    hidden = await chair.wait_for("monitoring", event("tab_hidden", open_=True))
    assert (hidden["source"], hidden["author_id"], hidden["learner_id"]) == (
        "browser",
        learner_id,
        learner_id,
    )
    # A repeated start is the same interval; the end closes it.
    assert await learner.call("browser_event", report("tab_hidden", "start")) == {"ok": True}
    assert await learner.call("browser_event", report("tab_hidden", "end")) == {"ok": True}
    await chair.wait_for("monitoring", event("tab_hidden", open_=False, id=hidden["id"]))

    for bad in (
        report("video_lost", "start"),  # the server decides that, not the page
        report(["tab_hidden"], "start"),
        report("tab_hidden", "middle"),
        report("window_blurred", None),
    ):
        assert_error(await learner.call("browser_event", bad), "invalid")
    assert_error(await chair.call("browser_event", report("tab_hidden", "start")), "forbidden")
    _, outsider = await people.person("learner2")
    assert_error(await outsider.call("browser_event", report("tab_hidden", "start")), "not_joined")

    # The window loses focus, then the page leaves the room: nothing can end it later.
    assert await learner.call("browser_event", report("window_blurred", "start")) == {"ok": True}
    blurred = await chair.wait_for("monitoring", event("window_blurred", open_=True))
    assert (await learner.call("leave", {"room": room})) == {"ok": True}
    await chair.wait_for("monitoring", event("window_blurred", open_=False, id=blurred["id"]))

    stored = await events_of(chair_api, room)
    assert [(e["kind"], e["source"], e["author_id"], e["open"]) for e in stored] == [
        ("tab_hidden", "browser", learner_id, False),
        ("window_blurred", "browser", learner_id, False),
    ]
    assert not learner.received["monitoring"], "monitoring goes to the staff only"


async def test_manual_flags_by_the_commission(seed: Seed, people: People) -> None:
    chair_api, chair, _ = await people.joined("chair")
    _, learner, _ = await people.joined("learner1")
    _, support, _ = await people.joined("support")
    learner_id, chair_id = seed.users["learner1"], seed.users["chair"]
    room = people.room

    def flag(state: str, **fields: Any) -> dict[str, Any]:
        return {"room": room, "learner": learner_id, "state": state, **fields}

    ack = await chair.call("flag", flag("start", comment="  смотрит в сторону  "))
    assert (ack["kind"], ack["source"], ack["author_id"], ack["open"]) == (
        "manual_flag",
        "person",
        chair_id,
        True,
    )
    assert ack["comment"] == "смотрит в сторону" and ack["learner_id"] == learner_id
    pushed = await support.wait_for("monitoring", event("manual_flag", open_=True, id=ack["id"]))
    assert pushed["comment"] == "смотрит в сторону"

    for payload, code in [
        (flag("start"), "invalid"),  # a flag says why
        (flag("start", comment="   "), "invalid"),
        (flag("start", comment="x" * 2001), "invalid"),
        (flag("pause", comment="x"), "invalid"),
        ({**flag("start", comment="x"), "learner": "1"}, "invalid"),
        ({**flag("start", comment="x"), "learner": True}, "invalid"),
        ({**flag("start", comment="x"), "learner": seed.users["outsider"]}, "unknown_learner"),
        ({**flag("start", comment="x"), "learner": chair_id}, "unknown_learner"),
    ]:
        assert_error(await chair.call("flag", payload), code)
    assert_error(await learner.call("flag", flag("start", comment="x")), "forbidden")
    assert_error(await support.call("flag", flag("start", comment="x")), "forbidden")

    ended = await chair.call("flag", flag("end", comment="вернулся к экрану"))
    assert ended["id"] == ack["id"] and ended["open"] is False
    assert ended["comment"] == "смотрит в сторону\nвернулся к экрану"
    assert_error(await chair.call("flag", flag("end")), "not_found")
    assert_error(await chair.call("flag", flag("end", event=ack["id"])), "flag_ended")

    for username in ("auditor", "admin", "support"):
        reader = await people.api(username)
        stored = await events_of(reader, room)
        assert [(e["id"], e["kind"], e["author_id"]) for e in stored] == [
            (ack["id"], "manual_flag", chair_id)
        ]
    for username in ("learner1", "instructor"):
        status, body = await (await people.api(username)).call("GET", f"/api/rooms/{room}/events")
        assert (status, body["error"]) == (403, "forbidden"), username
    status, body = await chair_api.call("GET", "/api/rooms/test-999999/events")
    assert (status, body["error"]) == (404, "not_found")


async def test_a_second_session_is_recorded(seed: Seed, people: People) -> None:
    chair_api, chair, _ = await people.joined("chair")
    start = f"/api/tests/{seed.test_id}/attempts"
    first = await people.api("learner1")
    status, attempt = await first.call("POST", start, {})
    assert status == 201, attempt

    # A second tab (here: a second browser) is refused and recorded.
    second = await people.api("learner1")
    status, body = await second.call("POST", start, {})
    assert (status, body["error"]) == (409, "attempt_in_use"), body
    refused = await chair.wait_for("monitoring", event("second_session"))
    assert refused["started_at"] == refused["ended_at"] and refused["open"] is False
    assert (refused["source"], refused["learner_id"]) == ("auto", seed.users["learner1"])
    assert f"attempt {attempt['attempt_id']}" in refused["comment"]
    status, _ = await second.call("POST", start, {})  # a retry loop is one event
    assert status == 409

    # It takes the attempt over: recorded too.
    status, body = await second.call("POST", start, {"takeover": True})
    assert status == 200 and body["attempt_id"] == attempt["attempt_id"], body
    await chair.wait_for("monitoring", lambda e: "taken over" in e["comment"])
    stored = await events_of(chair_api, people.room)
    assert [e["kind"] for e in stored] == ["second_session", "second_session"]
    assert "taken over" in stored[1]["comment"]
