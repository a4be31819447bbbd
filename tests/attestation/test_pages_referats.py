"""The referat pages (B 5.9): the staff page of an event's referats, the learner's section
on the attestation page, the list of an event's referats and the download of a text."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.attestation.conftest import PDF, World, event_today
from tests.attestation.test_pages_commissions import page


def upload(data: bytes = PDF) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("file", data, filename="referat.pdf", content_type="application/pdf")
    return body


async def referat_event(world: World) -> dict[str, Any]:
    return await event_today(world, form="referat", test_id=None)


async def listing(world: World, who: str, event_id: int) -> tuple[int, Any]:
    return await world.s(who).call("GET", f"/api/attestation/events/{event_id}/referats")


async def test_the_staff_page_by_role(world: World) -> None:
    event = await referat_event(world)
    path = f"/attestation/events/{event['id']}/referats"
    status, _, where = await page(world, None, path)
    assert status == 303 and where == f"/login?next={path}"
    status, _, _ = await page(world, "learner1", path)
    assert status == 403
    status, html, _ = await page(world, "head", path)
    assert status == 200 and "attestation_referats.js" in html
    assert f'data-event-id="{event["id"]}"' in html
    assert f'data-program-id="{world.seed.program_id}"' in html
    assert 'data-manager="1"' in html and 'data-reviewer="1"' in html
    assert 'id="topic-form"' in html
    assert 'data-minutes="15"' in html and "не более 15 минут" in html
    status, html, _ = await page(world, "member1", path)
    assert status == 200 and 'data-manager=""' in html and 'data-reviewer=""' in html
    assert 'id="topic-form"' not in html
    status, html, _ = await page(world, "instructor", path)  # reviews without a seat
    assert status == 200 and 'data-reviewer="1"' in html
    status, _, _ = await page(world, "amember", path)  # no seat in this commission
    assert status == 404
    status, _, _ = await page(world, "head", "/attestation/events/99999/referats")
    assert status == 404


async def test_the_learner_page_has_the_referat_section(world: World) -> None:
    status, html, _ = await page(world, "learner1", "/attestation")
    assert status == 200 and 'id="my-referats-section"' in html
    assert "attestation_referat_learner.js" in html and 'id="my-referats"' in html


@pytest.mark.rule("B5.9-referat")
async def test_staff_see_each_learners_topic_text_and_review(world: World) -> None:
    event = await referat_event(world)
    eid = event["id"]
    status, own = await world.s("learner2").call(
        "POST",
        f"/api/attestation/events/{eid}/referat",
        {"title": "Эвакуация предприятия", "justification": "работаю в службе ГО завода"},
    )
    assert status == 201
    status, body = await listing(world, "member1", eid)
    assert status == 200 and body["defence_minutes"] == 15 and body["referat_form"] is True
    rows = {item["user_id"]: item for item in body["learners"]}
    assert set(rows) == {world.users[f"learner{i}"] for i in (1, 2, 3)}
    mine = rows[world.users["learner2"]]["referat"]
    assert mine["topic_status"] == "proposed"
    assert mine["justification"] == "работаю в службе ГО завода"
    assert rows[world.users["learner1"]]["referat"] is None
    # The learner sees only their own line.
    status, body = await listing(world, "learner2", eid)
    assert status == 200 and [i["user_id"] for i in body["learners"]] == [world.users["learner2"]]
    status, body = await listing(world, "learner1", eid)
    assert status == 200 and body["learners"][0]["referat"] is None
    # Approved, uploaded, reviewed: the list shows it is ready for the defence.
    status, _ = await world.s("head").call(
        "POST", f"/api/attestation/referats/{own['id']}/topic", {"approve": True}
    )
    assert status == 200
    status, _ = await world.s("learner2").call(
        "POST", f"/api/attestation/referats/{own['id']}/file", data=upload()
    )
    assert status == 201
    status, _ = await world.s("instructor").call(
        "POST", f"/api/attestation/referats/{own['id']}/review", {"review": "Тема раскрыта"}
    )
    assert status == 200
    status, body = await listing(world, "head", eid)
    done = next(i for i in body["learners"] if i["user_id"] == world.users["learner2"])
    assert done["referat"]["review"] == "Тема раскрыта" and done["referat"]["reviewed_at"]


async def test_the_list_and_the_text_stay_with_their_people(world: World) -> None:
    event = await referat_event(world)
    eid = event["id"]
    status, _ = await listing(world, "amember", eid)
    assert status == 404
    status, _ = await listing(world, "outsider", eid)
    assert status == 404
    status, _ = await listing(world, "head", 99999)
    assert status == 404
    status, topic = await world.s("head").call(
        "POST",
        f"/api/attestation/programs/{world.seed.program_id}/referat-topics",
        {"title": "Защита населения при ЧС"},
    )
    assert status == 201
    status, chosen = await world.s("learner1").call(
        "POST", f"/api/attestation/events/{eid}/referat", {"topic_id": topic["id"]}
    )
    assert status == 201
    url = f"/api/attestation/referats/{chosen['id']}/file"
    status, _ = await world.s("learner1").call("GET", url)
    assert status == 404  # nothing uploaded yet
    status, _ = await world.s("learner1").call("POST", url, data=upload())
    assert status == 201
    for who in ("learner1", "member1", "head", "instructor"):
        async with world.s(who).client.get(url) as resp:
            assert resp.status == 200, who
            assert resp.headers["Content-Type"] == "application/pdf"
            assert "referat.pdf" in resp.headers["Content-Disposition"]
            assert await resp.read() == PDF
    for who in ("learner2", "amember", "outsider"):
        status, _ = await world.s(who).call("GET", url)
        assert status == 404, who
    async with world.client.get(url) as resp:
        assert resp.status == 401
