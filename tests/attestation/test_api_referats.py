"""Referats over the API (B 5.9): a listed topic or an own one with a justification the
head approves, the uploaded text, a review, and only then the commission's vote."""

from __future__ import annotations

import aiohttp
import pytest

from tests.attestation.conftest import COMMISSION, PDF, World, event_today, sit, vote


def upload(data: bytes = PDF) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("file", data, filename="referat.pdf", content_type="application/pdf")
    return body


@pytest.mark.rule("B5.9-referat")
async def test_a_referat_from_topic_to_the_vote(world: World) -> None:
    program = world.seed.program_id
    head = world.s("head")
    status, topic = await head.call(
        "POST",
        f"/api/attestation/programs/{program}/referat-topics",
        {"title": "Защита населения при ЧС"},
    )
    assert status == 201
    status, _ = await world.s("learner1").call(
        "POST", f"/api/attestation/programs/{program}/referat-topics", {"title": "Моя тема"}
    )
    assert status == 403
    event = await event_today(world, form="referat", test_id=None)
    eid = event["id"]
    # learner1 takes a listed topic; learner2 proposes an own one, first without a reason.
    status, listed = await world.s("learner1").call(
        "POST", f"/api/attestation/events/{eid}/referat", {"topic_id": topic["id"]}
    )
    assert status == 201 and listed["topic_status"] == "approved"
    status, body = await world.s("learner2").call(
        "POST", f"/api/attestation/events/{eid}/referat", {"title": "Эвакуация предприятия"}
    )
    assert status == 422 and body["rule"] == "B5.9-referat"
    status, own = await world.s("learner2").call(
        "POST",
        f"/api/attestation/events/{eid}/referat",
        {"title": "Эвакуация предприятия", "justification": "работаю в службе ГО завода"},
    )
    assert status == 201 and own["topic_status"] == "proposed"
    status, _ = await world.s("learner2").call(
        "POST", f"/api/attestation/referats/{own['id']}/file", data=upload()
    )
    assert status == 409  # the topic is not approved yet
    status, _ = await head.call(
        "POST", f"/api/attestation/referats/{own['id']}/topic", {"approve": True}
    )
    assert status == 200
    status, _ = await world.s("learner1").call("GET", f"/api/attestation/referats/{own['id']}")
    assert status == 404  # someone else's referat

    # The vote waits for the text and the review.
    await sit(world, eid)
    status, body = await world.s("chair").call(
        "POST",
        f"/api/attestation/events/{eid}/votes",
        {"learner_id": world.users["learner1"], "mark": "good"},
    )
    assert status == 422 and body["rule"] == "B5.9-referat"
    status, body = await world.s("learner1").call(
        "POST", f"/api/attestation/referats/{listed['id']}/file", data=upload()
    )
    assert status == 201 and body["file_name"] == "referat.pdf"
    status, _ = await world.s("learner1").call(
        "POST", f"/api/attestation/referats/{listed['id']}/review", {"review": "сам себе"}
    )
    assert status == 403
    status, body = await world.s("instructor").call(
        "POST", f"/api/attestation/referats/{listed['id']}/review", {"review": "Тема раскрыта"}
    )
    assert status == 200 and body["reviewed_at"]
    result = await vote(world, eid, "learner1", {m: "good" for m in COMMISSION})
    assert result["decided"] and result["mark"] == "good"


async def test_referats_only_for_referat_events(world: World) -> None:
    event = await world.event()
    status, body = await world.s("learner1").call(
        "POST",
        f"/api/attestation/events/{event['id']}/referat",
        {"title": "x", "justification": "y"},
    )
    assert status == 422 and body["field"] == "form"
    status, _ = await world.s("learner1").call(
        "POST", "/api/attestation/events/99999/referat", {"title": "x", "justification": "y"}
    )
    assert status == 404
