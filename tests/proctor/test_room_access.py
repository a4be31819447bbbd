"""Who may enter a live room: the pure rules, the database check on both backends, and the
``/proctor`` join and ``/api/rooms/…`` over a real socket.io client and HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from proctor.access import (
    RoomRole,
    Roster,
    admit,
    check_access,
    may_capture,
    may_subscribe,
    participant_id,
    quiz_id_of_room,
    room_of_test,
    room_role,
)
from quiz.quizzes import create_quiz
from server.appkeys import CLOCK, ROSTER, SESSIONS
from server.audit import AuditEntry, verify_chain
from server.errors import AppError, Forbidden, NotFound
from server.sessions import Identity
from server.users import Role
from tests.seed import PASSWORD, Seed
from tests.serverproc import Api

L, C, S = RoomRole.LEARNER, RoomRole.COMMISSION, RoomRole.SUPPORT


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.LEARNER, L),
        (Role.COMMISSION, C),
        (Role.ADMIN, C),
        (Role.SUPPORT, S),
        (Role.AUDITOR, None),  # auditors never join live
        (Role.INSTRUCTOR, None),
        (Role.HEAD, None),
        (Role.APPEAL, None),
        ("", None),
        ("root", None),
    ],
)
def test_room_role(role: str, expected: RoomRole | None) -> None:
    assert room_role(role) is expected


def test_every_role_is_decided() -> None:
    assert {role for role in Role if room_role(role) is not None} == {
        Role.LEARNER,
        Role.COMMISSION,
        Role.ADMIN,
        Role.SUPPORT,
    }


@pytest.mark.parametrize(
    ("viewer", "publisher", "allowed"),
    [
        (C, L, True),
        (C, C, True),
        (C, S, True),
        (S, L, True),
        (S, C, True),
        (S, S, True),
        (L, C, True),  # two-way contact with the commission (B 4.4)
        (L, L, False),  # never another learner
        (L, S, False),
    ],
)
def test_may_subscribe(viewer: RoomRole, publisher: RoomRole, allowed: bool) -> None:
    assert may_subscribe(viewer, publisher) is allowed


@pytest.mark.parametrize(
    ("role", "own", "allowed"),
    [
        (C, False, True),
        (C, True, True),
        (L, True, True),
        (L, False, False),
        (S, False, False),
        (S, True, False),
    ],
)
def test_may_capture(role: RoomRole, own: bool, allowed: bool) -> None:
    assert may_capture(role, own) is allowed


@pytest.mark.parametrize(
    ("room", "test_id"),
    [
        ("test-1", 1),
        ("test-42", 42),
        ("test-2147483647", 2**31 - 1),
        ("test-0", None),
        ("test-01", None),
        ("test-", None),
        ("test-2147483648", None),
        ("test-99999999999", None),
        ("test--1", None),
        ("test-1 ", None),
        ("test-١٢", None),
        ("quiz-1", None),
        ("", None),
        ("x" * 10_000, None),
    ],
)
def test_room_names(room: str, test_id: int | None) -> None:
    if test_id is None:
        with pytest.raises(NotFound):
            quiz_id_of_room(room)
    else:
        assert quiz_id_of_room(room) == test_id
        assert room_of_test(test_id) == room


def person(user_id: int, role: str = Role.LEARNER, name: str = "") -> Identity:
    return Identity(user_id, f"user{user_id}", role, name, "", "")


def test_roster_keeps_a_person_until_their_last_socket_leaves() -> None:
    roster = Roster()
    first = roster.enter("test-1", "sid-a", person(7, name="Anna"), L)
    again = roster.enter("test-1", "sid-b", person(7, name="Anna"), L)
    assert first is again and first.participant_id == participant_id(7) == "u7"
    assert first.name == "Anna" and first.sids == {"sid-a", "sid-b"}
    roster.enter("test-2", "sid-a", person(7), L)
    roster.enter("test-1", "sid-c", person(8, Role.COMMISSION), C)
    assert roster.rooms_of("sid-a") == ["test-1", "test-2"]
    assert roster.member("test-1", "sid-b") is first
    assert roster.member("test-1", "sid-x") is None
    assert roster.exit("test-1", "sid-a") is None  # still there through sid-b
    assert roster.get("test-1", "u7") is first
    assert roster.exit("test-1", "sid-b") is first
    assert roster.get("test-1", "u7") is None
    assert [p.participant_id for p in roster.participants("test-1")] == ["u8"]
    assert roster.exit("test-1", "sid-b") is None  # twice is harmless
    assert roster.exit("test-1", "sid-c") is not None
    assert roster.rooms() == ["test-2"]  # empty rooms are forgotten


# ---------------------------------------------------------------- the database check


async def _open_test(client: TestClient[Any, Any], seed: Seed) -> int:
    """A test without a group: open to every learner."""
    app = client.server.app
    async with app[SESSIONS]() as db:
        quiz = await create_quiz(
            db,
            person(seed.users["instructor"], Role.INSTRUCTOR),
            app[CLOCK].now(),
            program_id=seed.program_id,
            title="Открытый тест",
            form="testing",
            time_limit_s=600,
            plan={section_id: 1 for section_id in seed.section_ids},
        )
        await db.commit()
        return quiz.id


async def _support_entries(client: TestClient[Any, Any]) -> int:
    async with client.server.app[SESSIONS]() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "proctor.support_join")
        )
    return int(count or 0)


async def test_check_access_on_the_database(client: TestClient[Any, Any], seed: Seed) -> None:
    app = client.server.app
    room = room_of_test(seed.test_id)
    open_room = room_of_test(await _open_test(client, seed))
    roles = {
        "learner1": Role.LEARNER,
        "learner3": Role.LEARNER,
        "outsider": Role.LEARNER,
        "chair": Role.COMMISSION,
        "admin": Role.ADMIN,
        "support": Role.SUPPORT,
        "auditor": Role.AUDITOR,
        "instructor": Role.INSTRUCTOR,
        "head": Role.HEAD,
    }
    table: list[tuple[str, str, RoomRole | type[AppError]]] = [
        ("learner1", room, L),
        ("learner3", room, L),
        ("outsider", room, NotFound),  # not of the test's group: the room is not theirs
        ("outsider", open_room, L),  # a test without a group is open to every learner
        ("learner1", open_room, L),
        ("chair", room, C),
        ("admin", room, C),
        ("support", room, S),
        ("auditor", room, Forbidden),
        ("auditor", open_room, Forbidden),
        ("auditor", "test-999999", Forbidden),  # decided by role, before any lookup
        ("instructor", room, Forbidden),
        ("head", room, Forbidden),
        ("learner1", "test-999999", NotFound),
        ("chair", "test-999999", NotFound),
        ("chair", "lobby", NotFound),
    ]
    for username, room_id, expected in table:
        user = person(seed.users[username], roles[username])
        async with app[SESSIONS]() as db:
            if isinstance(expected, RoomRole):
                assert await check_access(db, user, room_id) is expected, (username, room_id)
            else:
                with pytest.raises(expected):
                    await check_access(db, user, room_id)
    assert await _support_entries(client) == 0  # checking is not entering


async def test_support_entering_is_audited(client: TestClient[Any, Any], seed: Seed) -> None:
    app = client.server.app
    room = room_of_test(seed.test_id)
    now = app[CLOCK].now()
    async with app[SESSIONS]() as db:
        assert await admit(db, person(seed.users["chair"], Role.COMMISSION), room, now) is C
        assert await admit(db, person(seed.users["learner1"]), room, now) is L
        await db.commit()
    assert await _support_entries(client) == 0
    async with app[SESSIONS]() as db:
        assert await admit(db, person(seed.users["support"], Role.SUPPORT), room, now) is S
        await db.commit()
    async with app[SESSIONS]() as db:
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.action == "proctor.support_join")
        )
        assert entry is not None
        assert entry.actor_id == seed.users["support"] and entry.object_id == room
        assert (await verify_chain(db)).ok


# ---------------------------------------------------------------- over socket.io and HTTP


class Sockets:
    """Logged-in API clients and ``/proctor`` sockets, all closed at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.apis: list[Api] = []
        self.sockets: list[socketio.AsyncClient] = []

    async def api(self, username: str) -> Api:
        api = Api(self.url)
        self.apis.append(api)
        return await api.login(username, PASSWORD)

    async def socket(self, api: Api) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        self.sockets.append(sio)
        await sio.connect(
            self.url,
            headers={"Cookie": f"examroom_session={api.cookie}"},
            namespaces=["/proctor"],
            wait_timeout=10,
        )
        return sio

    async def close(self) -> None:
        for sio in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.disconnect(), 5)
        for api in self.apis:
            await api.close()


@pytest.fixture
async def sockets(client: TestClient[Any, Any]) -> AsyncIterator[Sockets]:
    opened = Sockets(f"http://{client.host}:{client.port}")
    try:
        yield opened
    finally:
        await opened.close()


async def join(sio: socketio.AsyncClient, room: str) -> Any:
    return await sio.call("join", {"room": room}, namespace="/proctor", timeout=10)


def assert_error(ack: Any, code: str) -> None:
    assert isinstance(ack, dict) and ack.get("error") == code, ack
    assert isinstance(ack.get("message"), str) and ack["message"], ack


async def test_joining_over_socketio(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets
) -> None:
    room = room_of_test(seed.test_id)
    expected = {"learner1": "learner", "chair": "commission", "admin": "commission"}
    for username, role in expected.items():
        api = await sockets.api(username)
        ack = await join(await sockets.socket(api), room)
        assert ack["ok"] is True and ack["room"] == room, ack
        assert ack["role"] == role
        assert ack["participant_id"] == f"u{seed.users[username]}"
        assert ack["ice_servers"] == [] and ack["publishers"] == []
    roster = client.server.app[ROSTER]
    assert {p.participant_id for p in roster.participants(room)} == {
        f"u{seed.users[name]}" for name in expected
    }

    refusals = [
        ("auditor", room, "forbidden"),
        ("instructor", room, "forbidden"),
        ("outsider", room, "not_found"),
        ("learner1", "test-999999", "not_found"),
        ("chair", "test-999999", "not_found"),
        ("chair", "no-such-room", "not_found"),
    ]
    for username, room_id, code in refusals:
        api = await sockets.api(username)
        sio = await sockets.socket(api)
        assert_error(await join(sio, room_id), code)
        # The socket stays usable, and events of a room not joined are refused.
        assert_error(
            await sio.call("state", {"room": room}, namespace="/proctor", timeout=10),
            "not_joined",
        )
    for bad in (None, "test-1", [room], {"room": 5}, {"room": ""}, {"room": "x" * 500}):
        sio = sockets.sockets[0]
        ack = await sio.call("join", bad, namespace="/proctor", timeout=10)
        assert ack.get("error") in {"bad_event", "invalid"}, (bad, ack)
    assert await _support_entries(client) == 0

    support = await sockets.socket(await sockets.api("support"))
    ack = await join(support, room)
    assert ack["ok"] is True and ack["role"] == "support", ack
    assert await _support_entries(client) == 1


async def test_connect_needs_a_session(client: TestClient[Any, Any], seed: Seed) -> None:
    for headers in ({}, {"Cookie": "examroom_session=forged"}):
        sio = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(
                f"http://{client.host}:{client.port}",
                headers=headers,
                namespaces=["/proctor"],
                wait_timeout=5,
            )
        with contextlib.suppress(Exception):
            await sio.disconnect()


async def test_ice_route_checks_access(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets
) -> None:
    room = room_of_test(seed.test_id)
    for username, status in [
        ("learner1", 200),
        ("chair", 200),
        ("support", 200),
        ("outsider", 404),
        ("auditor", 403),
    ]:
        api = await sockets.api(username)
        got, body = await api.call("GET", f"/api/rooms/{room}/ice")
        assert got == status, (username, body)
        if status == 200:
            assert body == {"ice_servers": []}
    async with client.get(f"/api/rooms/{room}/ice") as resp:
        assert resp.status == 401
    api = await sockets.api("chair")
    assert (await api.call("GET", "/api/rooms/test-999999/ice"))[0] == 404
    assert (await api.call("GET", "/api/rooms/lobby/ice"))[0] == 404


async def test_media_routes_serve_participants_only(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets
) -> None:
    room = room_of_test(seed.test_id)
    learner = f"u{seed.users['learner1']}"
    thumb = f"/api/rooms/{room}/publishers/{learner}/thumbnail.jpg"
    capture = f"/api/rooms/{room}/publishers/{learner}/capture"
    chair = await sockets.api("chair")
    # No live room yet.
    status, body = await chair.call("GET", thumb)
    assert status == 404, body
    await join(await sockets.socket(chair), room)
    # Joined, but the learner publishes nothing: not a publisher of the room.
    status, body = await chair.call("GET", thumb)
    assert status == 404 and body["error"] == "unknown_publisher", body
    status, body = await chair.call("POST", capture)
    assert status == 404 and body["error"] == "unknown_publisher", body
    # Someone who did not join the room gets nothing from it.
    admin = await sockets.api("admin")
    status, body = await admin.call("GET", thumb)
    assert status == 403 and body["error"] == "not_joined", body
    # A learner sees no thumbnails, and captures only their own stream.
    other = await sockets.api("learner2")
    await join(await sockets.socket(other), room)
    status, body = await other.call("GET", thumb)
    assert status == 403, body
    status, body = await other.call("POST", capture)
    assert status == 403, body
    # Support joins (audited) and sees thumbnails but takes no captures.
    support = await sockets.api("support")
    await join(await sockets.socket(support), room)
    status, body = await support.call("POST", capture)
    assert status == 403, body
    async with client.get(thumb) as resp:
        assert resp.status == 401
