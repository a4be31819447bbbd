"""Oral forms over the API: a ticket drawn at random from different sections (B 5.6),
at least 20 minutes to prepare and at most 15 to answer, on the server's clock (B 5.10)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.attestation.conftest import World, event_today


@pytest.mark.rule("B5.10-timing")
@pytest.mark.rule("B5.6-sections")
async def test_a_ticket_with_the_preparation_and_answer_clocks(world: World) -> None:
    event = await event_today(world, form="exam")
    learner = world.users["learner1"]
    base = f"/api/attestation/events/{event['id']}/oral/{learner}"
    chair = world.s("chair")
    status, _ = await world.s("amember").call("POST", f"{base}/draw")
    assert status == 404
    status, turn = await chair.call("POST", f"{base}/draw")
    assert status == 200, turn
    sections = {q["section_id"] for q in turn["questions"]}
    assert len(turn["questions"]) == 6 and len(sections) == 3
    drawn = datetime.fromisoformat(turn["drawn_at"])
    assert datetime.fromisoformat(turn["preparation_ends_at"]) - drawn == timedelta(minutes=20)
    status, body = await chair.call("POST", f"{base}/draw")
    assert status == 409

    status, body = await chair.call("POST", f"{base}/answer")
    assert status == 422 and body["rule"] == "B5.10-timing"
    world.shift(timedelta(minutes=19, seconds=50))
    status, body = await chair.call("POST", f"{base}/answer")
    assert status == 422 and body["rule"] == "B5.10-timing"
    world.shift(timedelta(seconds=10))
    status, turn = await chair.call("POST", f"{base}/answer")
    assert status == 200, turn
    assert turn["answer_seconds_left"] == 15 * 60
    started = datetime.fromisoformat(turn["answer_started_at"])
    assert datetime.fromisoformat(turn["answer_ends_at"]) - started == timedelta(minutes=15)

    # The learner sees their own ticket and clock; another learner does not.
    world.shift(timedelta(minutes=10))
    status, own = await world.s("learner1").call("GET", base)
    assert status == 200 and 299 <= own["answer_seconds_left"] <= 300
    status, _ = await world.s("learner2").call("GET", base)
    assert status == 403
    # Past the limit the answer is over, and it never counts longer than 15 minutes.
    world.shift(timedelta(minutes=6))
    status, own = await world.s("learner1").call("GET", base)
    assert own["answer_seconds_left"] == 0
    status, turn = await world.s("secretary").call("POST", f"{base}/finish")
    assert status == 200
    assert datetime.fromisoformat(turn["finished_at"]) - started == timedelta(minutes=15)
    status, _ = await chair.call("POST", f"{base}/finish")
    assert status == 409


async def test_tickets_only_for_oral_forms_and_learners_of_the_event(world: World) -> None:
    testing = await event_today(world)
    status, body = await world.s("chair").call(
        "POST", f"/api/attestation/events/{testing['id']}/oral/{world.users['learner1']}/draw"
    )
    assert status == 422 and body["field"] == "form"
    exam = await event_today(world, form="exam")
    status, _ = await world.s("chair").call(
        "POST", f"/api/attestation/events/{exam['id']}/oral/{world.users['outsider']}/draw"
    )
    assert status == 404
    status, _ = await world.s("chair").call(
        "POST", f"/api/attestation/events/{exam['id']}/oral/{world.users['learner1']}/answer"
    )
    assert status == 409
