"""Signaling over ``/proctor`` with real parts: python-socketio clients, aiortc peers that
send a pre-encoded VP8 + Opus clip, and the real app on a 127.0.0.1 socket.

The media is CPU-heavy on a small machine, so these run on SQLite only; the access rules
that depend on the database run on both backends in ``test_room_access.py``.
"""

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
from aiortc import RTCConfiguration, RTCIceServer, RTCSessionDescription

from proctor.access import room_of_test
from proctor.namespace import MAX_SDP_BYTES, EventBudget, offer_of
from server.appkeys import ROOMS, ROSTER
from server.errors import Invalid
from tests.proctor.media import Clip, ClipPublisher, Viewer, wait_for
from tests.seed import PASSWORD, Seed
from tests.serverproc import Api

NS = "/proctor"


@pytest.fixture
def backend() -> str:
    """Signaling does not depend on the database: SQLite only (aiortc is the cost here)."""
    return "sqlite"


# ---------------------------------------------------------------- pure parts


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("rate", "burst", "steps", "expected"),
    [
        # (seconds to advance before the attempt) → taken?
        (20, 20, [0.0] * 20, [True] * 20),
        (20, 20, [0.0] * 21, [True] * 20 + [False]),
        (20, 2, [0.0, 0.0, 0.0, 0.06, 0.0], [True, True, False, True, False]),
        # A quiet second refills the bucket, but never above the burst.
        (20, 3, [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0], [True, True, True, True, True, True, False]),
        (1, 1, [0.0, 0.5, 0.5, 0.0], [True, False, True, False]),
    ],
)
def test_event_budget(rate: float, burst: float, steps: list[float], expected: list[bool]) -> None:
    clock = FakeClock()
    budget = EventBudget(rate, burst, clock)
    got = []
    for step in steps:
        clock.now += step
        got.append(budget.take())
    assert got == expected


SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"type": "offer"},
        {"sdp": SDP},
        {"sdp": SDP, "type": "answer"},
        {"sdp": SDP, "type": "OFFER"},
        {"sdp": 5, "type": "offer"},
        {"sdp": ["v=0"], "type": "offer"},
        {"sdp": None, "type": "offer"},
        {"sdp": "", "type": "offer"},
        {"sdp": "hello", "type": "offer"},
        {"sdp": SDP + "a=x\r\n" * (MAX_SDP_BYTES // 5), "type": "offer"},
        {"sdp": SDP + "я" * (MAX_SDP_BYTES // 2), "type": "offer"},  # bytes, not characters
    ],
)
def test_offers_are_validated(payload: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as info:
        offer_of(payload)
    assert info.value.code == "bad_sdp" and info.value.status == 422


def test_a_plausible_offer_passes_validation() -> None:
    offer = offer_of({"sdp": SDP, "type": "offer", "extra": 1})
    assert offer.sdp == SDP and offer.type == "offer"


# ---------------------------------------------------------------- real clients


class ProctorSocket:
    """A real python-socketio client of ``/proctor`` that records what the server emits."""

    EVENTS = ("publisher_joined", "publisher_left", "state")

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

    async def connect(self) -> ProctorSocket:
        await self.sio.connect(
            self.url,
            headers={"Cookie": f"examroom_session={self.cookie}"},
            namespaces=[NS],
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any = None, within: float = 20.0) -> Any:
        return await self.sio.call(event, data, namespace=NS, timeout=within)

    async def wait_for(
        self, event: str, match: Callable[[Any], bool] = lambda _: True, within: float = 10.0
    ) -> Any:
        """The first ``event`` received that ``match`` accepts (waiting up to ``within`` s)."""
        found: list[Any] = []

        def seen() -> bool:
            found[:] = [data for data in self.received[event] if match(data)]
            return bool(found)

        await wait_for(seen, within, f"{event} on {NS}")
        return found[0]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)


class Room:
    """People of one test's live room: their API sessions, sockets and peers."""

    def __init__(self, url: str, room: str) -> None:
        self.url = url
        self.room = room
        self.apis: list[Api] = []
        self.sockets: list[ProctorSocket] = []
        self.peers: list[ClipPublisher | Viewer] = []

    async def person(self, username: str) -> tuple[Api, ProctorSocket]:
        api = Api(self.url)
        self.apis.append(api)
        await api.login(username, PASSWORD)
        sock = ProctorSocket(self.url, api.cookie)
        self.sockets.append(sock)
        return api, await sock.connect()

    async def joined(self, username: str) -> tuple[Api, ProctorSocket, dict[str, Any]]:
        api, sock = await self.person(username)
        ack = await sock.call("join", {"room": self.room})
        assert ack.get("ok") is True, ack
        return api, sock, ack

    def publisher(self, clip: Clip, ack: dict[str, Any]) -> ClipPublisher:
        peer = ClipPublisher(clip, ice_config(ack["ice_servers"]))
        self.peers.append(peer)
        return peer

    def viewer(self, ack: dict[str, Any], kinds: tuple[str, ...] = ("video", "audio")) -> Viewer:
        peer = Viewer(ice_config(ack["ice_servers"]), kinds)
        self.peers.append(peer)
        return peer

    async def close(self) -> None:
        for peer in self.peers:
            with contextlib.suppress(Exception):
                await peer.close()
        for sock in self.sockets:
            await sock.close()
        for api in self.apis:
            await api.close()


def ice_config(servers: list[dict[str, Any]]) -> RTCConfiguration:
    """A browser's ``new RTCPeerConnection({iceServers})`` for aiortc."""
    return RTCConfiguration(iceServers=[RTCIceServer(**server) for server in servers])


def signal(sock: ProctorSocket, event: str, **fields: Any) -> Any:
    """``publish``/``subscribe`` through ``sock``: a callable from an offer to the answer."""

    async def call(offer: RTCSessionDescription) -> RTCSessionDescription:
        ack = await sock.call(event, {**fields, "sdp": offer.sdp, "type": offer.type})
        assert set(ack) == {"sdp", "type"} and ack["type"] == "answer", ack
        return RTCSessionDescription(sdp=ack["sdp"], type=ack["type"])

    return call


def assert_error(ack: Any, code: str) -> None:
    assert isinstance(ack, dict) and ack.get("error") == code, ack
    assert isinstance(ack.get("message"), str) and ack["message"], ack


@pytest.fixture
async def people(client: TestClient[Any, Any], seed: Seed) -> AsyncIterator[Room]:
    """The people of the seed test's live room (the ``clip`` comes from conftest)."""
    opened = Room(f"http://{client.host}:{client.port}", room_of_test(seed.test_id))
    try:
        yield opened
    finally:
        await opened.close()


def publisher_named(pid: str) -> Callable[[Any], bool]:
    return lambda data: data["publisher"]["participant_id"] == pid


async def test_learner_and_commission_see_and_hear_each_other(
    client: TestClient[Any, Any], seed: Seed, people: Room, clip: Clip
) -> None:
    app = client.server.app
    _, chair, chair_ack = await people.joined("chair")
    _, learner, learner_ack = await people.joined("learner1")
    learner_id = f"u{seed.users['learner1']}"
    chair_id = f"u{seed.users['chair']}"
    assert learner_ack["participant_id"] == learner_id and learner_ack["role"] == "learner"
    assert chair_ack["role"] == "commission"

    # The learner publishes camera and microphone; the peer connection comes up.
    camera = people.publisher(clip, learner_ack)
    await camera.connect(signal(learner, "publish", room=people.room))
    await wait_for(lambda: camera.pc.connectionState == "connected", 15, "learner connected")

    # The commission is told and sees the learner in the state of the room.
    joined = await chair.wait_for("publisher_joined", publisher_named(learner_id))
    assert joined["room"] == people.room
    assert joined["publisher"]["role"] == "learner" and joined["publisher"]["name"] == "Learner1"
    state = await chair.call("state", {"room": people.room})
    (tile,) = state["publishers"]
    assert tile["participant_id"] == learner_id and tile["kinds"] == ["audio", "video"]
    assert tile["role"] == "learner" and tile["user_id"] == seed.users["learner1"]

    # The commission watches the learner and receives the learner's frames.
    screen = people.viewer(chair_ack)
    await screen.connect(signal(chair, "subscribe", room=people.room, publisher=learner_id))
    await wait_for(lambda: len(screen.video) >= 5 and screen.audio, 15, "learner's frames")
    assert screen.video[0].keyframe, "a viewer starts on a keyframe"
    await wait_for(
        lambda: any(
            t["participant_id"] == learner_id and t["video_live"] and t["audio_live"]
            for s in chair.received["state"]
            for t in s["publishers"]
        ),
        10,
        "a live tile pushed to the commission",
    )

    # The commission publishes too; the learner is told and watches the commission.
    chair_camera = people.publisher(clip, chair_ack)
    await chair_camera.connect(signal(chair, "publish", room=people.room))
    await learner.wait_for("publisher_joined", publisher_named(chair_id))
    back = people.viewer(learner_ack)
    await back.connect(signal(learner, "subscribe", room=people.room, publisher=chair_id))
    await wait_for(lambda: len(back.video) >= 3 and back.audio, 15, "commission's frames")

    # A learner's view lists the commission and themself only.
    _, other, other_ack = await people.joined("learner2")
    other_camera = people.publisher(clip, other_ack)
    await other_camera.connect(signal(other, "publish", room=people.room))
    await chair.wait_for("publisher_joined", publisher_named(f"u{seed.users['learner2']}"))
    state = await learner.call("state", {"room": people.room})
    assert {t["participant_id"] for t in state["publishers"]} == {learner_id, chair_id}
    assert len((await chair.call("state", {"room": people.room}))["publishers"]) == 3
    # Learners are never told about each other.
    assert not any(
        e["publisher"]["role"] == "learner" for e in learner.received["publisher_joined"]
    )

    # A learner never receives another learner (two-way contact is with the commission).
    spy = people.viewer(learner_ack, ("video",))
    ack = await learner.call(
        "subscribe",
        {
            "room": people.room,
            "publisher": f"u{seed.users['learner2']}",
            "sdp": (await spy.offer()).sdp,
            "type": "offer",
        },
    )
    assert_error(ack, "forbidden")
    assert (learner_id, f"u{seed.users['learner2']}") not in app[ROOMS].get(
        people.room
    ).subscriptions()

    # The learner leaves: the commission is told, the room keeps the others.
    assert (await learner.call("leave", {"room": people.room})) == {"ok": True}
    left = await chair.wait_for("publisher_left", publisher_named(learner_id))
    assert left["publisher"]["role"] == "learner"
    state = await chair.call("state", {"room": people.room})
    assert learner_id not in {t["participant_id"] for t in state["publishers"]}
    assert_error(await learner.call("state", {"room": people.room}), "not_joined")
    assert app[ROSTER].get(people.room, learner_id) is None


async def test_thumbnails_and_captures(
    client: TestClient[Any, Any], seed: Seed, people: Room, clip: Clip
) -> None:
    chair_api, _, _ = await people.joined("chair")
    learner_api, learner, learner_ack = await people.joined("learner1")
    learner_id = learner_ack["participant_id"]
    thumb = f"/api/rooms/{people.room}/publishers/{learner_id}/thumbnail.jpg"
    camera = people.publisher(clip, learner_ack)
    await camera.connect(signal(learner, "publish", room=people.room))

    async def jpeg(api: Api, method: str, path: str) -> tuple[int, bytes, Any]:
        headers = {} if method == "GET" else {"X-CSRF-Token": api.csrf}
        async with api.http.request(method, api.url + path, headers=headers) as resp:
            return resp.status, await resp.read(), resp.headers

    async def thumbnail_ready() -> bool:
        status, _, _ = await jpeg(chair_api, "GET", thumb)
        return status == 200

    deadline = time.monotonic() + 15
    while not await thumbnail_ready():
        assert time.monotonic() < deadline, "no thumbnail within 15 s"
        await asyncio.sleep(0.2)
    status, body, headers = await jpeg(chair_api, "GET", thumb)
    assert status == 200 and body.startswith(b"\xff\xd8") and body.endswith(b"\xff\xd9")
    assert headers["Content-Type"] == "image/jpeg" and headers["Cache-Control"] == "no-store"

    for api, path in [
        (chair_api, f"/api/rooms/{people.room}/publishers/{learner_id}/capture"),
        (learner_api, f"/api/rooms/{people.room}/publishers/{learner_id}/capture"),
    ]:
        status, body, headers = await jpeg(api, "POST", path)
        assert status == 200 and body.startswith(b"\xff\xd8"), (status, body[:200])
        assert headers["Cache-Control"] == "no-store"
    # A capture is a state-changing request: the CSRF token is required.
    async with learner_api.http.post(
        learner_api.url + f"/api/rooms/{people.room}/publishers/{learner_id}/capture"
    ) as resp:
        assert resp.status == 403


async def test_bad_offers_are_refused_and_the_room_keeps_working(
    seed: Seed, people: Room, clip: Clip
) -> None:
    _, chair, chair_ack = await people.joined("chair")
    _, learner, learner_ack = await people.joined("learner1")
    learner_id = learner_ack["participant_id"]
    probe = people.publisher(clip, learner_ack)
    good = (await probe.offer()).sdp
    h264_only = "\r\n".join(
        line for line in good.split("\r\n") if "VP8" not in line and "vp8" not in line
    )
    bad_publishes: list[tuple[Any, str]] = [
        (None, "bad_event"),
        ("offer", "bad_event"),
        ({"sdp": good, "type": "offer"}, "invalid"),  # no room
        ({"room": people.room, "sdp": 5, "type": "offer"}, "bad_sdp"),
        ({"room": people.room, "type": "offer"}, "bad_sdp"),
        ({"room": people.room, "sdp": good, "type": "answer"}, "bad_sdp"),
        ({"room": people.room, "sdp": good}, "bad_sdp"),
        ({"room": people.room, "sdp": "hello", "type": "offer"}, "bad_sdp"),
        ({"room": people.room, "sdp": "v=0\r\nthis is no sdp\r\n", "type": "offer"}, "bad_sdp"),
        ({"room": people.room, "sdp": SDP, "type": "offer"}, "bad_sdp"),  # no media at all
        (
            {"room": people.room, "sdp": good.replace("m=video", "m=vidéo"), "type": "offer"},
            "bad_sdp",
        ),
        ({"room": people.room, "sdp": h264_only, "type": "offer"}, "bad_sdp"),
        ({"room": people.room, "sdp": good[: len(good) // 2], "type": "offer"}, "bad_sdp"),
    ]
    for payload, code in bad_publishes:
        assert_error(await learner.call("publish", payload), code)
    # Subscribing: an unknown publisher; malformed offers once the learner publishes.
    screen_probe = people.viewer(chair_ack, ("video",))
    assert_error(
        await chair.call(
            "subscribe", {"room": people.room, "publisher": "u999999", "sdp": good, "type": "offer"}
        ),
        "unknown_publisher",
    )
    # Before joining, nothing is possible in a room.
    _, stranger = await people.person("learner3")
    assert_error(
        await stranger.call("publish", {"room": people.room, "sdp": good, "type": "offer"}),
        "not_joined",
    )
    # After all that, a good offer from the same socket works.
    await probe.close()
    camera = people.publisher(clip, learner_ack)
    await camera.connect(signal(learner, "publish", room=people.room))
    await wait_for(lambda: camera.pc.connectionState == "connected", 15, "learner connected")
    await chair.wait_for("publisher_joined", publisher_named(learner_id))
    for payload, code in [
        ({"publisher": learner_id, "sdp": "v=0", "type": "offer"}, "bad_sdp"),
        ({"publisher": learner_id, "sdp": good, "type": "offer"}, "bad_sdp"),  # sends, not receives
        ({"publisher": learner_id, "sdp": (await screen_probe.offer()).sdp}, "bad_sdp"),
        ({"publisher": chair_ack["participant_id"], "sdp": good, "type": "offer"}, "invalid"),
        ({"publisher": 7, "sdp": good, "type": "offer"}, "invalid"),
    ]:
        assert_error(await chair.call("subscribe", {"room": people.room, **payload}), code)
    screen = people.viewer(chair_ack, ("video",))
    await screen.connect(signal(chair, "subscribe", room=people.room, publisher=learner_id))
    await wait_for(lambda: len(screen.video) >= 3, 15, "learner's frames after the bad offers")
    assert (await chair.call("unsubscribe", {"room": people.room, "publisher": learner_id})) == {
        "ok": True
    }


async def test_a_flood_is_throttled_and_others_are_unaffected(
    client: TestClient[Any, Any], seed: Seed, people: Room
) -> None:
    _, chair, _ = await people.joined("chair")
    _, learner, _ = await people.joined("learner1")
    # Room state is cheap and fast: the budget, not the work, is what refuses here.
    flood = [learner.call("state", {"room": people.room}) for _ in range(200)]
    started = time.monotonic()
    chair_latencies = []
    flooding = asyncio.gather(*flood)
    for _ in range(5):
        t0 = time.monotonic()
        ack = await chair.call("state", {"room": people.room})
        chair_latencies.append(time.monotonic() - t0)
        assert "publishers" in ack, ack
    acks = await flooding
    elapsed = time.monotonic() - started
    throttled = [a for a in acks if a.get("error") == "throttled"]
    served = [a for a in acks if "publishers" in a]
    assert len(throttled) + len(served) == len(acks)
    # At most the burst plus what refilled while the flood lasted got through.
    assert len(served) <= 20 + 20 * elapsed + 1, (len(served), elapsed)
    assert len(throttled) >= 100, len(throttled)
    assert_error(throttled[0], "throttled")
    assert max(chair_latencies) < 2.0, chair_latencies
    # The flooding socket is still connected and served again once it slows down.
    await asyncio.sleep(1.0)  # the budget refills with time: nothing to poll for
    assert "publishers" in await learner.call("state", {"room": people.room})


async def test_disconnect_leaves_the_room(
    client: TestClient[Any, Any], seed: Seed, people: Room, clip: Clip
) -> None:
    app = client.server.app
    _, chair, chair_ack = await people.joined("chair")
    _, learner, learner_ack = await people.joined("learner1")
    learner_id = learner_ack["participant_id"]
    camera = people.publisher(clip, learner_ack)
    await camera.connect(signal(learner, "publish", room=people.room))
    await chair.wait_for("publisher_joined", publisher_named(learner_id))

    # The network drops: the socket goes, the learner's media goes with it.
    await learner.close()
    await chair.wait_for("publisher_left", publisher_named(learner_id))
    assert learner_id not in {p.participant_id for p in app[ROOMS].get(people.room).publishers()}

    # The learner comes back on a new socket and publishes again.
    await camera.close()
    _, again, again_ack = await people.joined("learner1")
    assert again_ack["participant_id"] == learner_id
    camera = people.publisher(clip, again_ack)
    await camera.connect(signal(again, "publish", room=people.room))
    await wait_for(lambda: len(chair.received["publisher_joined"]) >= 2, 10, "second join")
    screen = people.viewer(chair_ack, ("video",))
    await screen.connect(signal(chair, "subscribe", room=people.room, publisher=learner_id))
    await wait_for(lambda: len(screen.video) >= 3, 15, "frames after the reconnect")

    # When the last participant goes, the room is closed and forgotten.
    await chair.close()
    await again.close()
    await wait_for(lambda: app[ROOMS].find(people.room) is None, 10, "the empty room closed")
