"""Remote-attestation and rescheduling applications over the API (B 4.2, 2.11)."""

from __future__ import annotations

from datetime import date
from typing import Any

import aiohttp
import pytest

from tests.attestation.conftest import PDF, World


def form(kind: str, reasons: str, data: bytes = PDF, name: str = "spravka.pdf") -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("kind", kind)
    body.add_field("reasons", reasons)
    body.add_field("file", data, filename=name, content_type="application/pdf")
    return body


async def apply(world: World, who: str, event_id: int, **kwargs: Any) -> tuple[int, Any]:
    return await world.s(who).call(
        "POST", f"/api/attestation/events/{event_id}/applications", data=form(**kwargs)
    )


@pytest.mark.rule("B4.2-remote-application")
async def test_remote_application_needs_reasons_documents_and_two_days(world: World) -> None:
    event = await world.event(days=2, override_reason="срочно")
    status, body = await apply(world, "learner1", event["id"], kind="remote", reasons="болезнь")
    assert status == 201, body
    assert body["files"][0]["name"] == "spravka.pdf" and body["status"] == "filed"
    # A day less is too late.
    late = await world.event(days=1, override_reason="срочно")
    status, body = await apply(world, "learner1", late["id"], kind="remote", reasons="болезнь")
    assert status == 422 and body["rule"] == "B4.2-remote-application"
    status, body = await apply(world, "learner2", event["id"], kind="remote", reasons="  ")
    assert status == 422 and body["rule"] == "B4.2-remote-application"
    status, body = await apply(
        world, "learner2", event["id"], kind="remote", reasons="болезнь", data=b"\x00\x01binary"
    )
    assert status == 415
    # Not a learner of the event: 404, not 403.
    status, body = await apply(world, "outsider", event["id"], kind="remote", reasons="x")
    assert status == 404
    status, body = await apply(world, "learner2", event["id"], kind="teleport", reasons="x")
    assert status == 422
    status, body = await world.s("learner1").call(
        "POST", f"/api/attestation/events/{event['id']}/applications", json={"kind": "remote"}
    )
    assert status == 400 and body["error"] == "not_multipart"


@pytest.mark.rule("B4.2-remote-order")
async def test_remote_attestation_is_approved_by_an_order(world: World) -> None:
    event = await world.event(days=4)
    status, filed = await apply(
        world, "learner1", event["id"], kind="remote", reasons="командировка"
    )
    assert status == 201
    path = f"/api/attestation/applications/{filed['id']}/decision"
    status, body = await world.s("head").call("POST", path, {"approve": True})
    assert status == 422 and body["rule"] == "B4.2-remote-order"
    status, body = await world.s("learner1").call(
        "POST", path, {"approve": True, "order_number": "1", "order_date": "2026-11-20"}
    )
    assert status == 403
    status, body = await world.s("head").call(
        "POST", path, {"approve": True, "order_number": "45-у", "order_date": "2026-11-20"}
    )
    assert status == 200, body
    assert (body["status"], body["order_number"], body["order_date"]) == (
        "approved",
        "45-у",
        "2026-11-20",
    )
    status, body = await world.s("head").call("GET", f"/api/attestation/events/{event['id']}")
    remote = {item["user_id"]: item["remote"] for item in body["learners"]}
    assert remote[world.users["learner1"]] and not remote[world.users["learner2"]]
    # Decided once only.
    status, body = await world.s("head").call("POST", path, {"approve": False})
    assert status == 409
    # The document is readable by its learner and the head, nobody else.
    file_url = filed["files"][0]["url"]
    async with world.s("head").client.get(file_url) as resp:
        assert resp.status == 200 and await resp.read() == PDF
        assert resp.headers["Content-Type"] == "application/pdf"
    status, _ = await world.s("learner2").call("GET", file_url)
    assert status == 404
    status, _ = await world.s("chair").call("GET", file_url)
    assert status == 403
    status, body = await world.s("learner2").call("GET", "/api/attestation/applications")
    assert status == 200 and body == []


@pytest.mark.rule("B2.11-reschedule")
async def test_rescheduling_on_application_moves_the_learner(world: World) -> None:
    first = await world.event(days=4)
    later = await world.event(days=20)
    status, filed = await apply(
        world, "learner2", first["id"], kind="reschedule", reasons="болезнь"
    )
    assert status == 201
    path = f"/api/attestation/applications/{filed['id']}/decision"
    status, body = await world.s("head").call(
        "POST", path, {"approve": True, "moved_to_event_id": 99999}
    )
    assert status == 404
    status, body = await world.s("head").call(
        "POST", path, {"approve": True, "moved_to_event_id": later["id"]}
    )
    assert status == 200 and body["moved_to_event_id"] == later["id"]
    learner = world.users["learner2"]
    status, body = await world.s("head").call("GET", f"/api/attestation/events/{first['id']}")
    assert learner not in {item["user_id"] for item in body["learners"]}
    status, body = await world.s("learner2").call("GET", "/api/attestation/account")
    assert [e["id"] for e in body["events"]] == [later["id"]]
    assert date.fromisoformat(body["events"][0]["local_date"]) > world.today()
