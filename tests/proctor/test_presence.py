"""The participation log of the live rooms: real ``/proctor`` clients join and leave, on
both backends, and every admitted join and every leave is a row with the server time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import proctor.namespace
import server.realtime
from proctor.access import room_of_test
from proctor.presence import (
    LeaveReason,
    PresenceAction,
    RoomPresence,
    presence_of,
    record_presence,
)
from server.appkeys import CLOCK, ROSTER, SESSIONS
from tests.proctor.test_room_access import Sockets, assert_error, join
from tests.seed import Seed, eventually

NS = "/proctor"


@pytest.fixture
async def sockets(client: TestClient[Any, Any]) -> AsyncIterator[Sockets]:
    opened = Sockets(f"http://{client.host}:{client.port}")
    try:
        yield opened
    finally:
        await opened.close()


async def _log(client: TestClient[Any, Any], room: str) -> list[RoomPresence]:
    async with client.server.app[SESSIONS]() as db:
        return await presence_of(db, room)


def _entries(rows: list[RoomPresence]) -> list[tuple[str, str, str, str | None]]:
    return [(r.participant_id, r.role, r.action, r.reason) for r in rows]


def test_a_join_has_no_reason_and_a_leave_has_one() -> None:
    at = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="join has no reason"):
        record_presence(
            None,  # type: ignore[arg-type]  (refused before the session is touched)
            "test-1",
            1,
            "u1",
            "learner",
            PresenceAction.JOIN,
            at,
            LeaveReason.LEFT,
        )
    with pytest.raises(ValueError, match="leave needs"):
        record_presence(None, "test-1", 1, "u1", "learner", PresenceAction.LEAVE, at)  # type: ignore[arg-type]


async def test_joins_and_leaves_are_logged_with_the_server_time(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets
) -> None:
    app = client.server.app
    # The app's clock, not the machine's: shifted, the rows follow it.
    app[CLOCK].offset = timedelta(days=3)
    room = room_of_test(seed.test_id)
    learner_id, chair_id = seed.users["learner1"], seed.users["chair"]
    before = app[CLOCK].now()
    chair = await sockets.socket(await sockets.api("chair"))
    assert (await join(chair, room))["ok"] is True
    learner = await sockets.socket(await sockets.api("learner1"))
    assert (await join(learner, room))["ok"] is True

    # The commission member only watches: never publishes, and is logged all the same.
    ack = await chair.call("leave", {"room": room}, namespace=NS, timeout=10)
    assert ack == {"ok": True}
    # The learner's connection drops without a leave.
    await learner.disconnect()

    async def both_left() -> list[RoomPresence] | None:
        rows = await _log(client, room)
        return rows if len(rows) == 4 else None

    rows = await eventually(both_left, within=10)
    after = app[CLOCK].now()
    assert _entries(rows) == [
        (f"u{chair_id}", "commission", "join", None),
        (f"u{learner_id}", "learner", "join", None),
        (f"u{chair_id}", "commission", "leave", "left"),
        (f"u{learner_id}", "learner", "leave", "disconnected"),
    ]
    assert [r.user_id for r in rows] == [chair_id, learner_id, chair_id, learner_id]
    assert all(before <= r.at <= after for r in rows), [r.at for r in rows]
    assert all(r.at.tzinfo is not None for r in rows)
    assert rows[0].at <= rows[1].at <= rows[2].at <= rows[3].at
    assert app[ROSTER].participants(room) == []

    # A leave of a room the socket is no longer in is refused and logs nothing more.
    assert_error(await chair.call("leave", {"room": room}, namespace=NS, timeout=10), "not_joined")
    assert len(await _log(client, room)) == 4


async def test_a_refused_join_writes_nothing(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets
) -> None:
    room = room_of_test(seed.test_id)
    refusals = [
        ("auditor", room, "forbidden"),
        ("instructor", room, "forbidden"),
        ("outsider", room, "not_found"),
        ("learner1", "test-999999", "not_found"),
    ]
    for username, room_id, code in refusals:
        sio = await sockets.socket(await sockets.api(username))
        assert_error(await join(sio, room_id), code)
        await sio.disconnect()  # never in a room: no leave either
    for room_id in (room, "test-999999"):
        assert await _log(client, room_id) == []

    # The same room admits a learner, and only that join is logged.
    sio = await sockets.socket(await sockets.api("learner1"))
    assert (await join(sio, room))["ok"] is True
    assert _entries(await _log(client, room)) == [
        (f"u{seed.users['learner1']}", "learner", "join", None)
    ]


async def test_every_socket_of_a_person_is_logged(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets
) -> None:
    """Two tabs of one learner: two joins and two leaves; the person leaves with the last."""
    room = room_of_test(seed.test_id)
    api = await sockets.api("learner1")
    first, second = await sockets.socket(api), await sockets.socket(api)
    assert (await join(first, room))["ok"] is True
    assert (await join(second, room))["ok"] is True
    assert (await first.call("leave", {"room": room}, namespace=NS, timeout=10))["ok"] is True
    assert len(client.server.app[ROSTER].participants(room)) == 1
    await second.disconnect()

    async def done() -> list[RoomPresence] | None:
        rows = await _log(client, room)
        return rows if len(rows) == 4 else None

    rows = await eventually(done, within=10)
    assert [(r.action, r.reason) for r in rows] == [
        ("join", None),
        ("join", None),
        ("leave", "left"),
        ("leave", "disconnected"),
    ]
    assert client.server.app[ROSTER].participants(room) == []


async def test_an_ended_login_session_logs_the_leave(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.realtime, "RECHECK_SECONDS", 0.0)
    room = room_of_test(seed.test_id)
    api = await sockets.api("learner1")
    sio = await sockets.socket(api)
    assert (await join(sio, room))["ok"] is True
    status, _ = await api.call("POST", "/api/logout")
    assert status == 200
    assert_error(
        await sio.call("state", {"room": room}, namespace=NS, timeout=10), "unauthenticated"
    )
    assert [(r.action, r.reason) for r in await _log(client, room)] == [
        ("join", None),
        ("leave", "session_ended"),
    ]
    assert client.server.app[ROSTER].participants(room) == []


async def test_a_failed_write_does_not_keep_anyone_in_the_room(
    client: TestClient[Any, Any],
    seed: Seed,
    sockets: Sockets,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    room = room_of_test(seed.test_id)
    sio = await sockets.socket(await sockets.api("learner1"))
    assert (await join(sio, room))["ok"] is True

    def broken(*_args: Any, **_kwargs: Any) -> RoomPresence:
        raise RuntimeError("the log is unavailable")

    monkeypatch.setattr(proctor.namespace, "record_presence", broken)
    assert (await sio.call("leave", {"room": room}, namespace=NS, timeout=10)) == {"ok": True}
    assert client.server.app[ROSTER].participants(room) == []
    assert "logging the leave" in caplog.text
    assert [r.action for r in await _log(client, room)] == ["join"]
