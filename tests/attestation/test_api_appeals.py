"""Appeals over the API (B VII): filing day, appeal commission, hearing within two working
days, documents, the vote with the chair's casting vote, a new mark or an annulment and a
retake, informing the learner, the signed appeal protocol."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from attestation.rules.calendar import load_calendars
from recordings.models import SessionHold
from server.appkeys import SESSIONS
from tests.attestation.conftest import COMMISSION, World, decided_event, event_today, sit

RU = load_calendars("ru")


async def appeal_commission(world: World, deputy: bool = True) -> tuple[int, Any]:
    return await world.s("head").call(
        "POST",
        "/api/attestation/commissions",
        {
            "kind": "appeal",
            "program_id": world.seed.program_id,
            "title": "Апелляционная комиссия",
            "starts_on": world.today().isoformat(),
            "order_number": "5-а",
            "order_date": world.today().isoformat(),
            "chair_is_deputy_director": deputy,
            "members": [
                {"user_id": world.users["deputy"], "role": "chair"},
                {"user_id": world.users["asecretary"], "role": "secretary"},
                {"user_id": world.users["amember"], "role": "member"},
            ],
        },
    )


async def file(world: World, learner: str, event_id: int, kind: str) -> dict[str, Any]:
    status, body = await world.s(learner).call(
        "POST",
        f"/api/attestation/events/{event_id}/appeals",
        {"kind": kind, "text": "Прошу пересмотреть результат"},
    )
    assert status == 201, body
    return dict(body)


async def hearing(world: World, appeal_id: int, commission_id: int) -> None:
    status, body = await world.s("head").call(
        "POST",
        f"/api/attestation/appeals/{appeal_id}/hearing",
        {
            "commission_id": commission_id,
            "hearing_at": (world.now() + timedelta(minutes=1)).isoformat(),
        },
    )
    assert status == 200, body


async def hold_of(world: World, room: str) -> SessionHold | None:
    async with world.client.server.app[SESSIONS]() as db:
        return await db.get(SessionHold, room)


async def appeal_votes(world: World, appeal_id: int, votes: dict[str, dict[str, Any]]) -> Any:
    result: Any = None
    for member, choice in votes.items():
        status, result = await world.s(member).call(
            "POST", f"/api/attestation/appeals/{appeal_id}/votes", choice
        )
        assert status == 200, result
    return result


@pytest.mark.rule("B7.3-appeal-commission")
@pytest.mark.rule("B7.4-hearing-2wd")
@pytest.mark.rule("B7.7-disagreement-docs")
@pytest.mark.rule("B7.8-new-mark")
@pytest.mark.rule("B7.9-appeal-vote")
@pytest.mark.rule("B7.11-appeal-protocol")
@pytest.mark.rule("A2.1-archive")
async def test_a_disagreement_appeal_lowers_the_mark(world: World) -> None:
    event = await decided_event(world)
    eid = event["id"]
    status, _ = await world.s("outsider").call(
        "POST", f"/api/attestation/events/{eid}/appeals", {"kind": "disagreement", "text": "x"}
    )
    assert status == 404
    appeal = await file(world, "learner1", eid, "disagreement")
    assert appeal["previous_mark"] == "good"
    room = f"test-{world.seed.test_id}"
    assert await hold_of(world, room) is not None  # the recordings are kept
    today = world.today()
    assert appeal["deadlines"]["hearing_by"] == RU.add_working_days(today, 2).isoformat()
    assert appeal["deadlines"]["documents_by"] == RU.next_working_day(today).isoformat()
    status, body = await world.s("learner1").call(
        "POST", f"/api/attestation/events/{eid}/appeals", {"kind": "violation", "text": "ещё"}
    )
    assert status == 409
    path = f"/api/attestation/appeals/{appeal['id']}"
    status, _ = await world.s("learner2").call("GET", path)
    assert status == 404

    status, body = await appeal_commission(world, deputy=False)
    assert status == 422 and body["rule"] == "B7.3-appeal-commission"
    status, body = await appeal_commission(world)
    assert status == 201, body
    commission_id = body["id"]
    status, body = await world.s("head").call(
        "POST",
        f"{path}/hearing",
        {"commission_id": world.commission_id, "hearing_at": world.now().isoformat()},
    )
    assert status == 422 and body["rule"] == "B7.3-appeal-commission"
    late = world.at_local(10)
    status, body = await world.s("head").call(
        "POST", f"{path}/hearing", {"commission_id": commission_id, "hearing_at": late.isoformat()}
    )
    assert status == 422 and body["rule"] == "B7.4-hearing-2wd"
    await hearing(world, appeal["id"], commission_id)

    status, body = await world.s("deputy").call(
        "POST", f"{path}/votes", {"result": "upheld", "mark": "satisfactory"}
    )
    assert status == 409  # the hearing has not begun
    world.shift(timedelta(minutes=2))
    status, body = await world.s("deputy").call(
        "POST", f"{path}/votes", {"result": "upheld", "mark": "satisfactory"}
    )
    assert status == 409  # the documents have not arrived (B 7.7)
    status, body = await world.s("chair").call(
        "POST", f"{path}/documents", {"chair_conclusion": "нарушений нет"}
    )
    assert status == 404  # no seat in the appeal commission
    status, body = await world.s("asecretary").call(
        "POST", f"{path}/documents", {"chair_conclusion": "Процедура соблюдена"}
    )
    assert status == 200 and body["on_time"] is True, body

    status, body = await world.s("deputy").call("POST", f"{path}/votes", {"result": "upheld"})
    assert status == 422 and body["rule"] == "B7.8-new-mark"
    result = await appeal_votes(
        world,
        appeal["id"],
        {
            "deputy": {"result": "upheld", "mark": "satisfactory"},
            "asecretary": {"result": "rejected"},
            "amember": {"result": "upheld", "mark": "satisfactory"},
        },
    )
    assert result["decided"] and result["result"] == "upheld"
    assert result["new_mark"] == "satisfactory"  # lower than "good"
    assert await hold_of(world, room) is None  # released with the decision
    assert result["transfer_by"] == RU.next_working_day(today).isoformat()
    assert result["inform_by"] == RU.add_working_days(today, 3).isoformat()

    status, body = await world.s("learner1").call("GET", f"/api/attestation/events/{eid}")
    assert body["me"]["mark"] == "satisfactory"
    status, account = await world.s("learner1").call("GET", "/api/attestation/account")
    finals = [(r["mark"], r["annulled"]) for r in account["results"] if r["kind"] == "final"]
    assert finals == [("good", True), ("satisfactory", False)]  # the archive keeps both

    status, body = await world.s("head").call("POST", f"{path}/inform")
    assert status == 200 and body["on_time"] is True and body["informed_at"]
    for member in ("deputy", "asecretary", "amember"):
        status, body = await world.s(member).call("POST", f"{path}/sign")
        assert status == 200, body
    assert body["status"] == "archived"
    status, body = await world.s("auditor").call("GET", path)
    assert status == 200 and all(s["signed_at"] for s in body["signatures"])


@pytest.mark.rule("B7.9-appeal-vote")
async def test_a_three_way_split_is_decided_by_the_appeal_chair(world: World) -> None:
    event = await decided_event(world)
    appeal = await file(world, "learner3", event["id"], "disagreement")
    _, body = await appeal_commission(world)
    await hearing(world, appeal["id"], body["id"])
    world.shift(timedelta(minutes=2))
    status, _ = await world.s("asecretary").call(
        "POST",
        f"/api/attestation/appeals/{appeal['id']}/documents",
        {"chair_conclusion": "Процедура соблюдена"},
    )
    assert status == 200
    result = await appeal_votes(
        world,
        appeal["id"],
        {
            "asecretary": {"result": "rejected"},
            "amember": {"result": "upheld", "mark": "satisfactory"},
            "deputy": {"result": "upheld", "mark": "good"},
        },
    )
    assert (result["result"], result["new_mark"], result["by_chair"]) == ("upheld", "good", True)


@pytest.mark.rule("B7.6-violation")
@pytest.mark.rule("B2.14-retake")
async def test_an_upheld_violation_annuls_and_the_retake_sits_with_two_thirds(
    world: World,
) -> None:
    event = await decided_event(world)
    appeal = await file(world, "learner3", event["id"], "violation")
    assert appeal["deadlines"]["documents_by"] is None
    _, body = await appeal_commission(world)
    await hearing(world, appeal["id"], body["id"])
    world.shift(timedelta(minutes=2))
    result = await appeal_votes(
        world,
        appeal["id"],
        {
            "deputy": {"result": "upheld"},
            "asecretary": {"result": "upheld"},
            "amember": {"result": "rejected"},
        },
    )
    assert result["result"] == "upheld" and result["new_mark"] is None
    status, body = await world.s("head").call("GET", f"/api/attestation/events/{event['id']}")
    line = next(i for i in body["learners"] if i["user_id"] == world.users["learner3"])
    assert line["annulled"] and line["mark"] is None

    # The head sets the retake; a learner who passed cannot be put in it.
    status, body = await world.s("head").call(
        "POST",
        "/api/attestation/events",
        world.event_body(days=6, retake_of_id=event["id"], learner_ids=[world.users["learner1"]]),
    )
    assert status == 422 and body["rule"] == "B2.14-retake"
    retake = await event_today(
        world, retake_of_id=event["id"], learner_ids=[world.users["learner3"]]
    )
    assert [i["user_id"] for i in retake["learners"]] == [world.users["learner3"]]
    presence = f"/api/attestation/events/{retake['id']}/presence"
    three = [world.users[m] for m in ("chair", "secretary", "member1")]
    status, body = await world.s("secretary").call("PUT", presence, {"present": three})
    assert status == 422 and body["rule"] == "B7.6-violation"  # no appeal member
    status, body = await world.s("secretary").call(
        "PUT", presence, {"present": three, "appeal_members": [world.users["amember"]]}
    )
    assert status == 200, body  # 3 of 4 ≥ 2/3 and an appeal-commission member


@pytest.mark.rule("B7.2-appeal-same-day")
async def test_an_appeal_the_next_day_is_refused(world: World) -> None:
    event = await decided_event(world)
    status, body = await world.s("learner2").call(
        "POST", f"/api/attestation/events/{event['id']}/appeals", {"kind": "x", "text": "y"}
    )
    assert status == 422 and body["error"] == "invalid"
    world.shift(world.at_local(1, hour=9) - world.now())
    await world.relogin("learner2")
    status, body = await world.s("learner2").call(
        "POST",
        f"/api/attestation/events/{event['id']}/appeals",
        {"kind": "disagreement", "text": "не согласен"},
    )
    assert status == 422 and body["rule"] == "B7.2-appeal-same-day"


async def test_no_appeal_before_a_result_is_announced(world: World) -> None:
    event = await event_today(world)
    await sit(world, event["id"], COMMISSION)
    status, body = await world.s("learner1").call(
        "POST",
        f"/api/attestation/events/{event['id']}/appeals",
        {"kind": "disagreement", "text": "рано"},
    )
    assert status == 409 and body["error"] == "wrong_state"
