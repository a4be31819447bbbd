"""Chat in a live room over ``/proctor``: the pure rules, then real python-socketio clients
of the real app (on a 127.0.0.1 socket) on both database backends."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from proctor.access import RoomRole, room_of_test
from proctor.chat import (
    MAX_IDS,
    MAX_TEXT,
    ChatMessage,
    client_id_of,
    may_mark,
    message_ids,
    message_text,
    user_id_field,
)
from server.appkeys import SESSIONS
from server.errors import Invalid
from tests.seed import PASSWORD, Seed, eventually
from tests.serverproc import Api

NS = "/proctor"
L, C, S = RoomRole.LEARNER, RoomRole.COMMISSION, RoomRole.SUPPORT

# ---------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Здравствуйте", True),
        ("x", True),
        ("  padded  ", True),  # stored as given, spaces and all
        ("<b>bold</b> & <script>alert(1)</script>", True),
        ("я" * MAX_TEXT, True),
        ("я" * (MAX_TEXT + 1), False),
        ("", False),
        ("   \n\t", False),
        (None, False),
        (5, False),
        (["hi"], False),
        ("a\x00b", False),  # PostgreSQL text cannot hold NUL
        ("\ud800", False),  # an unpaired surrogate from JSON is no text
    ],
)
def test_message_text(text: Any, ok: bool) -> None:
    if ok:
        assert message_text(text) == text
    else:
        with pytest.raises(Invalid) as info:
            message_text(text)
        assert info.value.extra == {"field": "text"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, None),
        ({"client_id": None}, None),
        ({"client_id": "c-1"}, "c-1"),
        ({"client_id": "x" * 64}, "x" * 64),
        ({"client_id": "x" * 65}, Invalid),
        ({"client_id": ""}, Invalid),
        ({"client_id": 7}, Invalid),
    ],
)
def test_client_id(data: dict[str, Any], expected: Any) -> None:
    if expected is Invalid:
        with pytest.raises(Invalid):
            client_id_of(data)
    else:
        assert client_id_of(data) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (7, 7),
        ("7", 7),
        (2**31 - 1, 2**31 - 1),
        (2**31, Invalid),
        (0, Invalid),
        (-3, Invalid),
        (True, Invalid),
        (1.5, Invalid),
        ("u7", Invalid),
        ("²", Invalid),
        ([7], Invalid),
    ],
)
def test_user_id_field(value: Any, expected: Any) -> None:
    if expected is Invalid:
        with pytest.raises(Invalid):
            user_id_field({"learner": value}, "learner")
    else:
        assert user_id_field({"learner": value}, "learner") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([3], [3]),
        ([5, 3, 5], [3, 5]),
        (list(range(1, MAX_IDS + 1)), list(range(1, MAX_IDS + 1))),
        (list(range(1, MAX_IDS + 2)), Invalid),
        ([], Invalid),
        (None, Invalid),
        (3, Invalid),
        ([True], Invalid),
        (["3"], Invalid),
        ([0], Invalid),
        ([2**31], Invalid),
    ],
)
def test_message_ids(value: Any, expected: Any) -> None:
    if expected is Invalid:
        with pytest.raises(Invalid):
            message_ids({"message_ids": value})
    else:
        assert message_ids({"message_ids": value}) == expected


LEARNER_ID, STAFF_ID = 10, 20


@pytest.mark.parametrize(
    ("reader", "sender", "allowed"),
    [
        (L, STAFF_ID, True),  # the commission wrote to the learner
        (L, LEARNER_ID, False),  # the learner's own message
        (C, LEARNER_ID, True),
        (C, STAFF_ID, False),  # the commission's own side
        (S, LEARNER_ID, True),
        (S, STAFF_ID, False),
    ],
)
def test_receipts_come_from_the_other_side(reader: RoomRole, sender: int, allowed: bool) -> None:
    assert may_mark(reader, sender, LEARNER_ID) is allowed


# ---------------------------------------------------------------- real clients


class ChatSocket:
    """A real python-socketio client of ``/proctor`` that records chat events."""

    EVENTS = ("chat_message", "chat_state")

    def __init__(self, url: str, cookie: str) -> None:
        self.url = url
        self.cookie = cookie
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        for name in self.EVENTS:
            self.sio.on(name, self._recorder(name), namespace=NS)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.received[name].append(data)

        return record

    async def connect(self) -> ChatSocket:
        await self.sio.connect(
            self.url,
            headers={"Cookie": f"examroom_session={self.cookie}"},
            namespaces=[NS],
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any = None, within: float = 15.0) -> Any:
        return await self.sio.call(event, data, namespace=NS, timeout=within)

    async def wait_for(
        self, event: str, match: Callable[[Any], bool] = lambda _: True, within: float = 10.0
    ) -> Any:
        """The first ``event`` received that ``match`` accepts (waiting up to ``within`` s)."""

        async def probe() -> Any:
            return next((data for data in self.received[event] if match(data)), None)

        return await eventually(probe, within)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)


class Chatters:
    """People of one live room: their logged-in API clients and ``/proctor`` sockets."""

    def __init__(self, url: str, room: str) -> None:
        self.url = url
        self.room = room
        self.apis: dict[str, Api] = {}
        self.sockets: list[ChatSocket] = []

    async def api(self, username: str) -> Api:
        if username not in self.apis:
            self.apis[username] = await Api(self.url).login(username, PASSWORD)
        return self.apis[username]

    async def socket(self, username: str) -> ChatSocket:
        sock = ChatSocket(self.url, (await self.api(username)).cookie)
        self.sockets.append(sock)
        return await sock.connect()

    async def joined(self, username: str) -> ChatSocket:
        sock = await self.socket(username)
        ack = await sock.call("join", {"room": self.room})
        assert ack.get("ok") is True, ack
        return sock

    async def close(self) -> None:
        for sock in self.sockets:
            await sock.close()
        for api in self.apis.values():
            await api.close()


@pytest.fixture
async def chatters(client: TestClient[Any, Any], seed: Seed) -> AsyncIterator[Chatters]:
    """The people of the seed test's live room, closed at the end."""
    opened = Chatters(f"http://{client.host}:{client.port}", room_of_test(seed.test_id))
    try:
        yield opened
    finally:
        await opened.close()


def assert_error(ack: Any, code: str) -> None:
    assert isinstance(ack, dict) and ack.get("error") == code, ack
    assert isinstance(ack.get("message"), str) and ack["message"], ack
    assert "Traceback" not in ack["message"]


def with_id(message_id: int) -> Callable[[Any], bool]:
    return lambda data: data["message_id"] == message_id


def state_of(message_id: int, field: str) -> Callable[[Any], bool]:
    return lambda data: any(
        m["message_id"] == message_id and m[field] is not None for m in data["messages"]
    )


async def stored_messages(client: TestClient[Any, Any], **where: Any) -> list[ChatMessage]:
    async with client.server.app[SESSIONS]() as db:
        query = select(ChatMessage).order_by(ChatMessage.id)
        for name, value in where.items():
            query = query.where(getattr(ChatMessage, name) == value)
        return list((await db.scalars(query)).all())


@pytest.mark.rule("B4.7-storage")
async def test_chat_both_ways_with_delivery_and_read_state(
    client: TestClient[Any, Any], seed: Seed, chatters: Chatters
) -> None:
    room = chatters.room
    learner_id, chair_id = seed.users["learner1"], seed.users["chair"]
    chair = await chatters.joined("chair")
    learner = await chatters.joined("learner1")

    # The learner writes; markup is text like any other and is kept verbatim.
    text = '<script>alert("x")</script> & <b>помогите</b>'
    ack = await learner.call("chat_send", {"room": room, "text": text, "client_id": "l-1"})
    assert set(ack) == {"message_id", "sent_at"}, ack
    first = ack["message_id"]
    seen = await chair.wait_for("chat_message", with_id(first))
    assert seen["text"] == text, "stored and sent as given: escaping is the browser's job"
    assert seen["room"] == room and seen["learner"] == learner_id
    assert seen["sender"] == {"user_id": learner_id, "name": "Learner1", "role": "learner"}
    assert seen["sent_at"] == ack["sent_at"] and seen["client_id"] == "l-1"
    assert seen["delivered_at"] is None and seen["read_at"] is None
    assert seen["attachment"] is None
    # The learner's own socket hears it too (another tab stays in step).
    await learner.wait_for("chat_message", with_id(first))

    # The commission's client reports delivery, then reading: the learner is told.
    ack = await chair.call("chat_delivered", {"room": room, "message_ids": [first]})
    assert ack["room"] == room and ack["messages"][0]["message_id"] == first, ack
    delivered = ack["messages"][0]["delivered_at"]
    assert delivered is not None and ack["messages"][0]["read_at"] is None
    state = await learner.wait_for("chat_state", state_of(first, "delivered_at"))
    assert state["learner"] == learner_id and state["room"] == room
    ack = await chair.call("chat_read", {"room": room, "message_ids": [first]})
    (read,) = ack["messages"]
    assert read["delivered_at"] == delivered, "a time once set never moves"
    assert read["read_at"] is not None
    await learner.wait_for("chat_state", state_of(first, "read_at"))
    # Reporting again changes nothing and tells nobody.
    states_before = len(learner.received["chat_state"])
    assert (await chair.call("chat_read", {"room": room, "message_ids": [first]}))["messages"] == [
        read
    ]

    # The chair answers in the learner's thread; the learner reads it.
    ack = await chair.call("chat_send", {"room": room, "learner": learner_id, "text": "Да?"})
    reply = ack["message_id"]
    heard = await learner.wait_for("chat_message", with_id(reply))
    assert heard["sender"] == {"user_id": chair_id, "name": "Chair", "role": "commission"}
    assert heard["learner"] == learner_id and heard["client_id"] is None
    await learner.call("chat_read", {"room": room, "message_ids": [reply]})
    await chair.wait_for("chat_state", state_of(reply, "read_at"))
    assert len(learner.received["chat_state"]) == states_before, "no news for the learner"

    # Receipts for one's own messages are ignored: the other side reports them.
    ack = await learner.call("chat_read", {"room": room, "message_ids": [first, reply]})
    assert [m["message_id"] for m in ack["messages"]] == [first, reply]
    assert ack["messages"][0] == read

    # Both sides see the same thread, oldest first; the text is the stored string.
    mine = await learner.call("chat_history", {"room": room})
    theirs = await chair.call("chat_history", {"room": room, "learner": learner_id})
    assert mine == theirs and mine["learner"] == learner_id
    assert [(m["message_id"], m["text"]) for m in mine["messages"]] == [
        (first, text),
        (reply, "Да?"),
    ]
    assert all(m["read_at"] is not None for m in mine["messages"])
    older = await chair.call("chat_history", {"room": room, "learner": learner_id, "before": reply})
    assert [m["message_id"] for m in older["messages"]] == [first]
    # The evidence: both messages stored per room with their thread and state.
    rows = await stored_messages(client, room=room)
    assert [(r.sender_id, r.learner_id, r.text) for r in rows] == [
        (learner_id, learner_id, text),
        (chair_id, learner_id, "Да?"),
    ]
    assert all(r.delivered_at is not None and r.read_at is not None for r in rows)


@pytest.mark.rule("B4.7-storage")
async def test_a_learner_sees_only_their_own_thread(
    client: TestClient[Any, Any], seed: Seed, chatters: Chatters
) -> None:
    room = chatters.room
    learner1, learner2 = seed.users["learner1"], seed.users["learner2"]
    chair = await chatters.joined("chair")
    first = await chatters.joined("learner1")
    second = await chatters.joined("learner2")
    support = await chatters.joined("support")

    secret = (await first.call("chat_send", {"room": room, "text": "только комиссии"}))[
        "message_id"
    ]
    to_first = (await chair.call("chat_send", {"room": room, "learner": learner1, "text": "вам"}))[
        "message_id"
    ]
    await first.wait_for("chat_message", with_id(to_first))
    await chair.wait_for("chat_message", with_id(secret))
    await support.wait_for("chat_message", with_id(secret))  # support is staff too
    # Support helps in the learner's thread; the learner hears it.
    helped = (await support.call("chat_send", {"room": room, "learner": learner1, "text": "F5"}))[
        "message_id"
    ]
    heard = await first.wait_for("chat_message", with_id(helped))
    assert heard["sender"]["role"] == "support"
    # The second learner's own message arrives after the others: by then they would
    # have heard anything of the first learner's thread (events keep their order).
    own = (await second.call("chat_send", {"room": room, "text": "мой вопрос"}))["message_id"]
    await second.wait_for("chat_message", with_id(own))
    assert [m["message_id"] for m in second.received["chat_message"]] == [own]

    # Naming another learner's thread is as if it did not exist.
    for event, payload in [
        ("chat_history", {"room": room, "learner": learner1}),
        ("chat_send", {"room": room, "learner": learner1, "text": "подсказка"}),
    ]:
        assert_error(await second.call(event, payload), "not_found")
    for event in ("chat_delivered", "chat_read"):
        ack = await second.call(event, {"room": room, "message_ids": [secret]})
        assert_error(ack, "not_found")
        ack = await second.call(event, {"room": room, "message_ids": [own, to_first]})
        assert_error(ack, "not_found")
    assert (await second.call("chat_history", {"room": room, "learner": learner2}))["messages"][0][
        "message_id"
    ] == own
    assert [
        m["message_id"] for m in (await first.call("chat_history", {"room": room}))["messages"]
    ] == [secret, to_first, helped]
    # Nothing the second learner tried touched the first learner's thread.
    rows = await stored_messages(client, learner_id=learner1)
    assert [r.id for r in rows] == [secret, to_first, helped]
    assert all(r.delivered_at is None for r in rows[:1])

    # Staff address a learner of the room, by user id.
    for learner, code in [
        (None, "invalid"),
        (seed.users["outsider"], "unknown_learner"),  # a learner of another group
        (seed.users["chair"], "unknown_learner"),  # not a learner at all
        (999_999, "unknown_learner"),
        ("u5", "invalid"),
    ]:
        ack = await chair.call("chat_send", {"room": room, "learner": learner, "text": "?"})
        assert_error(ack, code)
        ack = await chair.call("chat_history", {"room": room, "learner": learner})
        assert_error(ack, code)
    # A learner of the room who is not connected still gets a thread (read on rejoin).
    ack = await chair.call(
        "chat_send", {"room": room, "learner": seed.users["learner3"], "text": "где вы?"}
    )
    assert "message_id" in ack, ack
    third = await chatters.joined("learner3")
    history = await third.call("chat_history", {"room": room})
    assert [m["text"] for m in history["messages"]] == ["где вы?"]


@pytest.mark.rule("B4.7-storage")
async def test_a_retried_send_stores_one_message(
    client: TestClient[Any, Any], seed: Seed, chatters: Chatters
) -> None:
    room = chatters.room
    chair = await chatters.joined("chair")
    learner = await chatters.joined("learner1")
    send = {"room": room, "text": "ответ готов", "client_id": "3f1c-retry"}
    first = await learner.call("chat_send", send)
    again = await learner.call("chat_send", send)
    assert again == first, "the retry is acknowledged like the first send"
    # Sent at the same time, the same client_id still makes one message.
    racing = await asyncio.gather(
        *(learner.call("chat_send", {**send, "client_id": "race"}) for _ in range(5))
    )
    assert len({ack["message_id"] for ack in racing}) == 1, racing
    # The same client_id for another text is a mistake of the client, not a retry.
    assert_error(
        await learner.call("chat_send", {**send, "text": "другой текст"}), "client_id_reused"
    )
    # Another sender may use the same client_id: ids are the sender's own.
    chair_ack = await chair.call(
        "chat_send", {**send, "learner": seed.users["learner1"], "text": "принято"}
    )
    assert chair_ack["message_id"] != first["message_id"]
    # The commission heard each message once: the marker after them arrived after all.
    marker = (await learner.call("chat_send", {"room": room, "text": "конец"}))["message_id"]
    await chair.wait_for("chat_message", with_id(marker))
    heard = [m["message_id"] for m in chair.received["chat_message"]]
    assert heard == sorted(set(heard)), heard
    rows = await stored_messages(client, room=room)
    assert [r.text for r in rows] == ["ответ готов", "ответ готов", "принято", "конец"]
    assert [r.client_id for r in rows] == ["3f1c-retry", "race", "3f1c-retry", None]


async def test_malformed_chat_events_get_clear_errors(
    client: TestClient[Any, Any], seed: Seed, chatters: Chatters
) -> None:
    room = chatters.room
    chair = await chatters.joined("chair")
    learner = await chatters.joined("learner1")
    cases: list[tuple[str, Any, str]] = [
        ("chat_send", None, "bad_event"),
        ("chat_send", "hello", "bad_event"),
        ("chat_send", ["room", "text"], "bad_event"),
        ("chat_send", {"text": "no room"}, "invalid"),
        ("chat_send", {"room": 7, "text": "x"}, "invalid"),
        ("chat_send", {"room": room}, "invalid"),
        ("chat_send", {"room": room, "text": ""}, "invalid"),
        ("chat_send", {"room": room, "text": "   "}, "invalid"),
        ("chat_send", {"room": room, "text": "я" * (MAX_TEXT + 1)}, "invalid"),
        ("chat_send", {"room": room, "text": {"html": "<b>"}}, "invalid"),
        ("chat_send", {"room": room, "text": "a\x00b"}, "invalid"),
        ("chat_send", {"room": room, "text": "x", "client_id": "c" * 65}, "invalid"),
        ("chat_send", {"room": "test-999999", "text": "x"}, "not_joined"),
        ("chat_read", {"room": room}, "invalid"),
        ("chat_read", {"room": room, "message_ids": "1"}, "invalid"),
        ("chat_read", {"room": room, "message_ids": [999_999]}, "not_found"),
        ("chat_delivered", {"room": room, "message_ids": [True]}, "invalid"),
        ("chat_history", 42, "bad_event"),
        ("chat_history", {"room": room, "learner": seed.users["learner2"]}, "not_found"),
        ("chat_history", {"room": room, "before": "x"}, "invalid"),
    ]
    # Two tabs of the learner share the cases: each socket has its own event budget.
    tabs = [learner, await chatters.joined("learner1")]
    for n, (event, payload, code) in enumerate(cases):
        ack = await tabs[n % 2].call(event, payload)
        assert isinstance(ack, dict) and ack.get("error") == code, (event, payload, ack)
        assert_error(ack, code)
    assert await stored_messages(client) == [], "nothing malformed was stored"
    # The connection is still usable, and the longest text goes through whole.
    longest = "я" * MAX_TEXT
    ack = await learner.call("chat_send", {"room": room, "text": longest})
    assert "message_id" in ack, ack
    seen = await chair.wait_for("chat_message", with_id(ack["message_id"]))
    assert seen["text"] == longest
    # A socket that never joined the room is refused, and stays usable too.
    stranger = await chatters.socket("learner2")
    assert_error(await stranger.call("chat_send", {"room": room, "text": "x"}), "not_joined")
    assert_error(await stranger.call("chat_history", {"room": room}), "not_joined")
    assert (await stranger.call("join", {"room": room}))["ok"] is True


@pytest.mark.rule("B4.7-storage")
async def test_a_flood_is_throttled_and_other_chats_still_flow(
    client: TestClient[Any, Any], seed: Seed, chatters: Chatters
) -> None:
    room = chatters.room
    chair = await chatters.joined("chair")
    flooder = await chatters.joined("learner1")
    other = await chatters.joined("learner2")
    flood = asyncio.gather(
        *(flooder.call("chat_send", {"room": room, "text": f"спам {n}"}) for n in range(120))
    )
    latencies = []
    for n in range(3):
        started = time.monotonic()
        ack = await other.call("chat_send", {"room": room, "text": f"вопрос {n}"})
        await chair.wait_for("chat_message", with_id(ack["message_id"]))
        latencies.append(time.monotonic() - started)
    acks = await flood
    throttled = [a for a in acks if a.get("error") == "throttled"]
    served = [a for a in acks if "message_id" in a]
    assert len(throttled) + len(served) == len(acks), acks
    assert len(throttled) >= 60 and served, (len(throttled), len(served))
    assert_error(throttled[0], "throttled")
    assert max(latencies) < 3.0, latencies
    # Exactly the served messages were stored: a refusal wrote nothing.
    rows = await stored_messages(client, learner_id=seed.users["learner1"])
    assert sorted(r.id for r in rows) == sorted(a["message_id"] for a in served)
    # The flooding socket is still connected and is served again once its budget refills.

    async def served_again() -> Any:
        ack = await flooder.call("chat_history", {"room": room})
        return ack if "messages" in ack else None

    history = await eventually(served_again, within=5.0, step=0.2)
    assert len(history["messages"]) == len(served)
    async with client.server.app[SESSIONS]() as db:
        total = await db.scalar(select(func.count()).select_from(ChatMessage))
    assert total == len(served) + 3
