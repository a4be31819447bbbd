"""The video room of an appeal hearing (B 7.4: the learner may attend): the real
``/proctor`` namespace admits the appellant and the appeal commission (and support),
nobody else; the pages open it without the test and identity-check parts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.attestation.conftest import World, decided_event
from tests.attestation.test_api_appeals import appeal_commission, file, hearing
from tests.seed import PASSWORD
from tests.serverproc import Api


class Sockets:
    """Logged-in ``/proctor`` sockets of a live server, all closed at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.apis: list[Api] = []
        self.sockets: list[socketio.AsyncClient] = []

    async def join(self, username: str, room: str) -> Any:
        api = await Api(self.url).login(username, PASSWORD)
        self.apis.append(api)
        sio = socketio.AsyncClient(reconnection=False)
        self.sockets.append(sio)
        await sio.connect(
            self.url,
            headers={"Cookie": f"examroom_session={api.cookie}"},
            namespaces=["/proctor"],
            wait_timeout=10,
        )
        return await sio.call("join", {"room": room}, namespace="/proctor", timeout=10)

    async def close(self) -> None:
        for sio in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.disconnect(), 5)
        for api in self.apis:
            await api.close()


@pytest.fixture
async def sockets(world: World) -> AsyncIterator[Sockets]:
    opened = Sockets(f"http://{world.client.host}:{world.client.port}")
    try:
        yield opened
    finally:
        await opened.close()


async def _appeal(world: World, *, scheduled: bool = True) -> int:
    """learner2's appeal against a decided event, its hearing scheduled (or not yet)."""
    event = await decided_event(world)
    appeal = await file(world, "learner2", event["id"], "disagreement")
    if scheduled:
        status, body = await appeal_commission(world)
        assert status == 201, body
        await hearing(world, appeal["id"], body["id"])
    return int(appeal["id"])


def _error(ack: Any) -> str | None:
    assert isinstance(ack, dict), ack
    if "error" in ack:
        assert isinstance(ack.get("message"), str) and ack["message"], ack
    return ack.get("error")


@pytest.mark.rule("B7.4-hearing-2wd")
async def test_the_appellant_and_the_appeal_commission_join_the_hearing(
    world: World, sockets: Sockets
) -> None:
    room = f"appeal-{await _appeal(world)}"
    expected = {
        "learner2": "learner",
        "deputy": "commission",
        "asecretary": "commission",
        "amember": "commission",
        "support": "support",
    }
    for username, role in expected.items():
        ack = await sockets.join(username, room)
        assert _error(ack) is None, (username, ack)
        assert ack["ok"] is True and ack["room"] == room and ack["role"] == role, ack
        assert ack["participant_id"] == f"u{world.users[username]}"


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("learner1", "not_found"),  # another learner of the same event
        ("learner3", "not_found"),
        ("outsider", "not_found"),
        ("chair", "not_found"),  # the attestation commission is not the appeal commission
        ("member1", "not_found"),
        ("head", "not_found"),
        ("admin", "not_found"),
        ("instructor", "not_found"),
        ("auditor", "forbidden"),  # auditors never join live
    ],
)
async def test_nobody_else_joins_the_hearing(
    world: World, sockets: Sockets, username: str, code: str
) -> None:
    room = f"appeal-{await _appeal(world)}"
    assert _error(await sockets.join(username, room)) == code


async def test_no_room_before_the_hearing_is_scheduled_or_for_a_wrong_id(
    world: World, sockets: Sockets
) -> None:
    appeal_id = await _appeal(world, scheduled=False)
    for username, room in (
        ("learner2", f"appeal-{appeal_id}"),
        ("deputy", f"appeal-{appeal_id}"),
        ("learner2", "appeal-99999"),
        ("learner2", "appeal-0"),
        ("learner2", "appeal-99999999999"),
        ("deputy", "appeal-x"),
    ):
        assert _error(await sockets.join(username, room)) == "not_found", (username, room)


@pytest.mark.rule("B7.4-hearing-2wd")
async def test_pages_and_links_open_the_hearing_without_the_test(world: World) -> None:
    appeal_id = await _appeal(world)
    room = f"appeal-{appeal_id}"
    status, page = await world.s("learner2").call("GET", f"/rooms/{room}")
    assert status == 200
    assert 'data-hearing="1"' in page and f'data-room="{room}"' in page
    assert "Заседание апелляционной комиссии по апелляции" in page
    assert 'id="test-link-title"' in page and 'aria-labelledby="test-link-title" hidden' in page
    for username in ("learner1", "outsider"):
        status, _ = await world.s(username).call("GET", f"/rooms/{room}")
        assert status == 404, username
    # The appeal commission goes on to the commission's view of the same room.
    async with world.s("deputy").client.get(f"/rooms/{room}", allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == f"/rooms/{room}/commission"
    status, page = await world.s("deputy").call("GET", f"/rooms/{room}/commission")
    assert status == 200 and f'data-room="{room}"' in page
    status, _ = await world.s("learner2").call("GET", f"/rooms/{room}/commission")
    assert status == 403
    status, _ = await world.s("head").call("GET", f"/rooms/{room}/commission")
    assert status == 404

    status, account = await world.s("learner2").call("GET", "/api/attestation/account")
    assert [a["hearing_room"] for a in account["appeals"]] == [room]
    status, listed = await world.s("deputy").call("GET", "/api/attestation/appeals")
    assert [(a["hearing_room"], a["may_join"]) for a in listed] == [(room, True)]
    status, listed = await world.s("head").call("GET", "/api/attestation/appeals")
    assert [(a["hearing_room"], a["may_join"]) for a in listed] == [(room, False)]
    status, page = await world.s("deputy").call("GET", "/attestation")
    assert status == 200 and 'id="hearings"' in page
