"""The sitting over the API: quorum, the closed vote with the chair's casting vote, the
decision announced the same day, the protocol signed and locked, held remotely."""

from __future__ import annotations

import io
from datetime import timedelta

import aiohttp
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from server.appkeys import SESSIONS
from server.audit import AuditEntry, verify_chain
from tests.attestation.conftest import (
    COMMISSION,
    PDF,
    World,
    decided_event,
    event_today,
    sit,
    vote,
)


@pytest.mark.rule("B3.9-majority")
@pytest.mark.rule("B3.9-announce")
@pytest.mark.rule("B6.5-same-day")
@pytest.mark.rule("B3.10-protocol")
@pytest.mark.rule("B4.12-remote-mark")
async def test_a_sitting_from_presence_to_the_locked_protocol(world: World) -> None:
    # learner1 sits remotely by an approved application (filed while there was time).
    world.shift(timedelta(days=-4))
    event = await world.event(days=4)
    upload = aiohttp.FormData()
    upload.add_field("kind", "remote")
    upload.add_field("reasons", "командировка")
    upload.add_field("file", PDF, filename="order.pdf", content_type="application/pdf")
    status, filed = await world.s("learner1").call(
        "POST", f"/api/attestation/events/{event['id']}/applications", data=upload
    )
    assert status == 201, filed
    # The commission cannot sit before the day of the event.
    status, body = await world.s("secretary").call(
        "PUT",
        f"/api/attestation/events/{event['id']}/presence",
        {"present": [world.users[m] for m in COMMISSION]},
    )
    assert status == 422 and body["rule"] == "B6.5-same-day"
    world.shift(timedelta(days=1))
    status, body = await world.s("head").call(
        "POST",
        f"/api/attestation/applications/{filed['id']}/decision",
        {"approve": True, "order_number": "77", "order_date": world.today().isoformat()},
    )
    assert status == 200, body
    world.shift(timedelta(days=3))

    eid = event["id"]
    path = f"/api/attestation/events/{eid}"
    # Below quorum: two of four.
    status, body = await world.s("chair").call(
        "PUT", f"{path}/presence", {"present": [world.users["chair"], world.users["secretary"]]}
    )
    assert status == 422 and body["rule"] == "B3.9-majority"
    status, body = await world.s("member1").call(
        "PUT", f"{path}/presence", {"present": [world.users[m] for m in COMMISSION]}
    )
    assert status == 403  # only the chair or the secretary
    await sit(world, eid)

    # A 2:2 tie: the chair's vote decides.
    result = await vote(
        world,
        eid,
        "learner1",
        {"chair": "good", "secretary": "excellent", "member1": "excellent", "member2": "good"},
    )
    assert result == {
        "decided": True,
        "mark": "good",
        "by_chair": True,
        "counts": {"good": 2, "excellent": 2},
    }
    result = await vote(
        world,
        eid,
        "learner2",
        {"chair": "good", "secretary": "excellent", "member1": "excellent", "member2": "excellent"},
    )
    assert (result["mark"], result["by_chair"]) == ("excellent", False)
    # Marks outside the 4-point scale, double votes, strangers.
    learner3 = world.users["learner3"]
    status, body = await world.s("chair").call(
        "POST", f"{path}/votes", {"learner_id": learner3, "mark": "passed"}
    )
    assert status == 422 and body["rule"] == "B3.9-scales"
    status, body = await world.s("chair").call(
        "POST", f"{path}/votes", {"learner_id": world.users["learner1"], "mark": "good"}
    )
    assert status == 409
    status, body = await world.s("amember").call(
        "POST", f"{path}/votes", {"learner_id": learner3, "mark": "good"}
    )
    assert status == 404
    status, body = await world.s("chair").call(
        "POST", f"{path}/votes", {"learner_id": world.users["outsider"], "mark": "good"}
    )
    assert status == 404
    # The protocol waits for every learner.
    status, body = await world.s("secretary").call("POST", f"{path}/protocol")
    assert status == 409
    status, body = await world.s("secretary").call(
        "POST", f"{path}/absent", {"learner_id": learner3}
    )
    assert status == 200, body

    # Announced at the sitting: the learner sees the mark today.
    status, body = await world.s("learner1").call("GET", path)
    assert body["me"]["mark"] == "good" and body["me"]["mark_title"] == "хорошо"
    announced = body["me"]["announced_at"]
    assert announced is not None and announced[:10] <= world.now().isoformat()[:10]

    status, protocol = await world.s("member1").call("POST", f"{path}/protocol")
    assert status == 403
    status, protocol = await world.s("secretary").call("POST", f"{path}/protocol")
    assert status == 201, protocol
    assert protocol["remote"] is True and "WebRTC" in protocol["technology"]
    lines = {line["user_id"]: line for line in protocol["learners"]}
    assert lines[world.users["learner1"]]["remote"] is True
    assert lines[world.users["learner1"]]["order"].startswith("№ 77 от ")
    assert lines[world.users["learner2"]]["mark_title"] == "отлично"
    assert lines[learner3]["absent"] is True and lines[learner3]["mark"] is None
    assert [s["role"] for s in protocol["signatures"]] == [
        "chair",
        "member",
        "member",
        "secretary",
    ]
    assert not protocol["locked"]

    sign = f"/api/attestation/protocols/{protocol['id']}/sign"
    status, _ = await world.s("head").call("POST", sign)
    assert status == 404  # no signature line
    status, _ = await world.s("learner1").call("POST", sign)
    assert status == 403
    for member in COMMISSION:
        status, body = await world.s(member).call("POST", sign)
        assert status == 200, body
    assert body["locked"] and all(s["signed_at"] for s in body["signatures"])
    status, body = await world.s("chair").call("POST", sign)
    assert status == 409
    status, body = await world.s("head").call("GET", path)
    assert body["status"] == "closed" and body["protocol_locked"]


@pytest.mark.rule("B2.9-summary-sheet")
@pytest.mark.rule("B4.6-invitation")
async def test_summary_sheet_and_invitations_as_data(world: World) -> None:
    event = await world.event(days=5)
    eid = event["id"]
    status, sheet = await world.s("head").call("GET", f"/api/attestation/events/{eid}/summary")
    assert status == 200
    admitted = {line["user_id"]: line["admitted"] for line in sheet["learners"]}
    assert admitted[world.users["learner1"]] and not admitted[world.users["learner4"]]
    status, _ = await world.s("learner1").call("GET", f"/api/attestation/events/{eid}/summary")
    assert status == 403
    await world.s("head").call(
        "POST", f"/api/attestation/events/{eid}/remote", {"reason": "карантин"}
    )
    status, invitations = await world.s("head").call(
        "GET", f"/api/attestation/events/{eid}/invitations"
    )
    assert status == 200
    assert {i["recipient_role"] for i in invitations} == {"learner", "chair", "secretary", "member"}
    for invitation in invitations:
        assert invitation["remote"] and invitation["conference_id"] and invitation["password"]
        assert invitation["connection_link"].endswith(f"/rooms/test-{world.seed.test_id}")


@pytest.mark.rule("B3.11-term")
async def test_a_commission_past_its_term_cannot_sit(world: World) -> None:
    head = world.s("head")
    start = world.today() - timedelta(days=10)
    status, body = await head.call(
        "POST",
        "/api/attestation/commissions",
        {
            "program_id": world.seed.program_id,
            "title": "Истекающая сегодня",
            "starts_on": start.isoformat(),
            "ends_on": world.today().isoformat(),
            "members": [
                {"user_id": world.users["chair"], "role": "chair"},
                {"user_id": world.users["secretary"], "role": "secretary"},
                {"user_id": world.users["member1"], "role": "member"},
            ],
        },
    )
    assert status == 201, body
    event = await event_today(world, commission_id=body["id"])
    # After local midnight the commission's term is over.
    tomorrow = world.at_local(1, hour=0) - world.now()
    world.shift(tomorrow + timedelta(seconds=1))
    await world.relogin("secretary")
    status, body = await world.s("secretary").call(
        "PUT",
        f"/api/attestation/events/{event['id']}/presence",
        {"present": [world.users[m] for m in ("chair", "secretary", "member1")]},
    )
    assert status == 422 and body["rule"] == "B3.11-term"


async def test_votes_decisions_and_signatures_are_in_the_hash_chained_audit_log(
    world: World,
) -> None:
    event = await decided_event(world)
    status, protocol = await world.s("secretary").call(
        "POST", f"/api/attestation/events/{event['id']}/protocol"
    )
    assert status == 201
    for member in COMMISSION:
        await world.s(member).call("POST", f"/api/attestation/protocols/{protocol['id']}/sign")
    async with world.client.server.app[SESSIONS]() as db:
        rows = list(
            await db.scalars(
                select(AuditEntry).where(
                    AuditEntry.object_type.in_(("attestation_event", "protocol"))
                )
            )
        )
        report = await verify_chain(db)
    actions = [row.action for row in rows]
    assert actions.count("vote.cast") == 3 * len(COMMISSION)
    assert actions.count("decision.made") == 3
    assert actions.count("signature") == len(COMMISSION)
    assert "protocol.locked" in actions and "event.scheduled" in actions
    assert report.ok and report.entries >= len(rows)


@pytest.mark.rule("B4.12-remote-mark")
@pytest.mark.rule("B2.9-summary-sheet")
async def test_the_printed_protocol_says_remote_in_cyrillic(world: World) -> None:
    event = await event_today(world, remote=True, remote_reason="карантин", place="")
    eid = event["id"]
    async with world.s("head").client.get(f"/api/attestation/events/{eid}/summary.xlsx") as resp:
        assert resp.status == 200 and (await resp.read())[:2] == b"PK"
    async with world.s("head").client.get(f"/api/attestation/events/{eid}/summary.pdf") as resp:
        assert resp.status == 200 and (await resp.read())[:5] == b"%PDF-"
    await sit(world, eid)
    for learner in ("learner1", "learner2", "learner3"):
        await vote(world, eid, learner, {m: "good" for m in COMMISSION})
    status, _ = await world.s("secretary").call("POST", f"/api/attestation/events/{eid}/protocol")
    assert status == 201
    async with world.s("chair").client.get(f"/api/attestation/events/{eid}/protocol.pdf") as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        data = await resp.read()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "ПРОТОКОЛ" in text and "дистанционных образовательных технологий" in text
    assert "хорошо" in text
    status, _ = await world.s("learner1").call("GET", f"/api/attestation/events/{eid}/protocol.pdf")
    assert status == 403
