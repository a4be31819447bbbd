"""Scheduling events over the API: notice period, admission, commissions, forms, timing,
remote for everyone, questionnaires; on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from attestation.mail import outbox
from server.appkeys import SESSIONS
from tests.attestation.conftest import World


@pytest.mark.rule("B2.7-notice-3d")
async def test_an_event_inside_the_notice_period_is_refused_unless_overridden(
    world: World,
) -> None:
    head = world.s("head")
    status, body = await head.call("POST", "/api/attestation/events", world.event_body(days=2))
    assert status == 422, body
    assert body["error"] == "rule_broken" and body["rule"] == "B2.7-notice-3d"
    # Exactly three days ahead is in time.
    event = await world.event(days=3)
    assert event["notice_override"] == ""
    # Staff may override with a reason; the reason is kept.
    status, body = await head.call(
        "POST",
        "/api/attestation/events",
        world.event_body(days=1, override_reason="перенос по приказу № 7"),
    )
    assert status == 201, body
    assert body["notice_override"] == "перенос по приказу № 7"
    status, body = await head.call(
        "POST", "/api/attestation/events", world.event_body(days=1, override_reason="   ")
    )
    assert status == 422 and body["rule"] == "B2.7-notice-3d"


@pytest.mark.rule("B2.1-admission")
async def test_only_learners_who_completed_the_program_are_admitted(world: World) -> None:
    event = await world.event()
    learners = {item["user_id"] for item in event["learners"]}
    assert learners == {world.users[f"learner{i}"] for i in (1, 2, 3)}
    assert world.users["learner4"] not in learners
    status, body = await world.s("head").call(
        "POST",
        "/api/attestation/events",
        world.event_body(learner_ids=[world.users["learner1"], world.users["learner4"]]),
    )
    assert status == 422 and body["rule"] == "B2.1-admission"
    # The learner who was not admitted does not see the event.
    status, body = await world.s("learner4").call("GET", f"/api/attestation/events/{event['id']}")
    assert status == 404


@pytest.mark.rule("B3.8-composition")
@pytest.mark.rule("B3.1-per-program")
async def test_commissions_are_checked_and_belong_to_one_program(world: World) -> None:
    head = world.s("head")
    base = {
        "program_id": world.seed.program_id,
        "title": "Комиссия",
        "starts_on": world.today().isoformat(),
    }
    two = [
        {"user_id": world.users["chair"], "role": "chair"},
        {"user_id": world.users["secretary"], "role": "secretary"},
    ]
    status, body = await head.call("POST", "/api/attestation/commissions", base | {"members": two})
    assert status == 422 and body["rule"] == "B3.8-composition"
    no_secretary = [
        {"user_id": world.users["chair"], "role": "chair"},
        {"user_id": world.users["member1"], "role": "member"},
        {"user_id": world.users["member2"], "role": "member"},
    ]
    status, body = await head.call(
        "POST", "/api/attestation/commissions", base | {"members": no_secretary}
    )
    assert status == 422 and body["rule"] == "B3.8-composition"
    status, body = await head.call(
        "POST",
        "/api/attestation/commissions",
        base | {"members": [*two, {"user_id": world.users["learner1"], "role": "member"}]},
    )
    assert status == 404  # a learner cannot sit
    # A commission of program P1 cannot sit for program P2's group.
    status, body = await head.call(
        "POST",
        "/api/attestation/events",
        world.event_body(program_id=world.other_program_id, group_id=world.other_group_id),
    )
    assert status == 422 and body["rule"] == "B3.1-per-program"


@pytest.mark.rule("B3.11-term")
async def test_a_commission_acts_for_one_year(world: World) -> None:
    head = world.s("head")
    members = [
        {"user_id": world.users["chair"], "role": "chair"},
        {"user_id": world.users["secretary"], "role": "secretary"},
        {"user_id": world.users["member1"], "role": "member"},
    ]
    start = world.today()
    status, body = await head.call(
        "POST",
        "/api/attestation/commissions",
        {
            "program_id": world.seed.program_id,
            "title": "Слишком долгая",
            "starts_on": start.isoformat(),
            "ends_on": start.replace(year=start.year + 1).isoformat(),
            "members": members,
        },
    )
    assert status == 422 and body["rule"] == "B3.11-term"
    status, body = await head.call(
        "POST",
        "/api/attestation/commissions",
        {
            "program_id": world.seed.program_id,
            "title": "Короткая",
            "starts_on": start.isoformat(),
            "ends_on": (start + timedelta(days=4)).isoformat(),
            "members": members,
        },
    )
    assert status == 201, body
    short = body["id"]
    await world.event(days=4, commission_id=short)  # its last day
    status, body = await head.call(
        "POST", "/api/attestation/events", world.event_body(days=5, commission_id=short)
    )
    assert status == 422 and body["rule"] == "B3.11-term"


@pytest.mark.rule("B6.1-form-scale")
@pytest.mark.rule("B5.10-timing")
@pytest.mark.rule("B5.9-referat")
async def test_scale_follows_the_form_and_oral_timing_is_checked(world: World) -> None:
    head = world.s("head")
    exam = await world.event(form="exam", test_id=None)
    assert (exam["scale"], exam["form_title"]) == ("4", "экзамен")
    credit = await world.event(form="credit", test_id=None)
    assert credit["scale"] == "2"
    for changes, rule in [
        ({"form": "exam", "preparation_minutes": 19}, "B5.10-timing"),
        ({"form": "interview", "answer_minutes": 16}, "B5.10-timing"),
        ({"form": "referat", "answer_minutes": 20}, "B5.9-referat"),
    ]:
        status, body = await head.call(
            "POST", "/api/attestation/events", world.event_body(test_id=None, **changes)
        )
        assert status == 422 and body["rule"] == rule, (changes, body)
    status, body = await head.call(
        "POST", "/api/attestation/events", world.event_body(form="essay")
    )
    assert status == 422 and body["error"] == "invalid"


@pytest.mark.rule("B4.3-blanket-remote")
async def test_an_event_made_remote_for_everyone(world: World) -> None:
    event = await world.event()
    head = world.s("head")
    status, body = await head.call(
        "POST", f"/api/attestation/events/{event['id']}/remote", {"reason": ""}
    )
    assert status == 422 and body["rule"] == "B4.3-blanket-remote"
    status, body = await head.call(
        "POST",
        f"/api/attestation/events/{event['id']}/remote",
        {"reason": "санитарно-эпидемиологические меры, приказ № 3"},
    )
    assert status == 200, body
    assert body["remote"] and all(item["remote"] for item in body["learners"])
    status, body = await world.s("learner1").call(
        "POST", f"/api/attestation/events/{event['id']}/remote", {"reason": "хочу"}
    )
    assert status == 403


@pytest.mark.rule("B5.7-questionnaire")
async def test_questionnaire_released_at_least_three_days_before(world: World) -> None:
    early = await world.event(days=5, form="interview", test_id=None)
    status, body = await world.s("head").call(
        "POST", f"/api/attestation/events/{early['id']}/questionnaire"
    )
    assert status == 200 and body["questionnaire_released_at"], body
    late = await world.event(days=2, form="interview", test_id=None, override_reason="срочно")
    status, body = await world.s("head").call(
        "POST", f"/api/attestation/events/{late['id']}/questionnaire"
    )
    assert status == 422 and body["rule"] == "B5.7-questionnaire"


async def test_events_are_visible_only_to_their_people(world: World) -> None:
    event = await world.event()
    path = f"/api/attestation/events/{event['id']}"
    status, body = await world.s("learner1").call("GET", path)
    assert status == 200 and "learners" not in body and body["conference_password"]
    status, body = await world.s("outsider").call("GET", path)
    assert status == 404
    status, body = await world.s("amember").call("GET", path)
    assert status == 404  # no seat in this commission
    status, body = await world.s("member1").call("GET", path)
    assert status == 200 and body["my_seat"] == "member"
    status, body = await world.s("outsider").call("GET", "/api/attestation/events")
    assert status == 200 and body == []
    status, body = await world.s("learner1").call("GET", "/api/attestation/events/99999")
    assert status == 404
    status, body = await world.s("learner1").call("GET", "/api/attestation/events/abc")
    assert status == 404


async def test_bad_input_gets_clear_errors(world: World) -> None:
    head = world.s("head")
    cases = [
        (world.event_body(starts_at="завтра"), 422),
        (world.event_body(starts_at="2026-12-10T10:00:00"), 422),  # no offset
        (world.event_body(group_id="1"), 422),
        (world.event_body(group_id=True), 422),
        (world.event_body(group_id=2**40), 422),
        (world.event_body(group_id=99999), 404),
        (world.event_body(commission_id=99999), 404),
        (world.event_body(test_id=99999), 404),
        (world.event_body(place="", remote=False), 422),
        (world.event_body(learner_ids=["x"]), 422),
        (world.event_body(days=-1, override_reason="x"), 422),
    ]
    for payload, expected in cases:
        status, body = await head.call("POST", "/api/attestation/events", payload)
        assert status == expected, (payload, body)
        assert body["error"] and body["message"]
    status, body = await head.call(
        "POST",
        "/api/attestation/events",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and body["error"] == "bad_json"
    status, body = await world.s("learner1").call(
        "POST", "/api/attestation/events", world.event_body()
    )
    assert status == 403
    status, body = await world.s("head").call(
        "POST", "/api/attestation/events", world.event_body(), headers={"X-CSRF-Token": "wrong"}
    )
    assert status == 403 and body["error"] == "csrf"


@pytest.mark.rule("B2.7-notice-3d")
async def test_scheduling_queues_a_letter_to_every_learner_and_member(world: World) -> None:
    event = await world.event()
    async with world.client.server.app[SESSIONS]() as db:
        rows = await outbox.letters(db, event_id=event["id"])
    recipients = {row.user_id for row in rows}
    expected = {world.users[n] for n in ("learner1", "learner2", "learner3")} | {
        world.users[n] for n in ("chair", "secretary", "member1", "member2")
    }
    assert recipients == expected
