"""The public programs section (A 2.1), results in the personal account and archive
(A 2.1), the register of issued documents (B 2.12, 2.13, 4.13)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.attestation.conftest import COMMISSION, World, decided_event


@pytest.mark.rule("A2.1-public-docs")
@pytest.mark.rule("B2.7-first-day")
async def test_program_documents_are_public_without_login(world: World, client: Any) -> None:
    program = world.seed.program_id
    head = world.s("head")
    docs = [
        ("curriculum", "Учебный план: 36 часов"),
        ("calendar_schedule", "График: 1–5 декабря"),
        ("work_program", "Рабочая программа раздела «Первая помощь»"),
        ("attestation_conditions", "Итоговая аттестация — тестирование, 30 минут"),
    ]
    for kind, text in docs:
        status, body = await head.call(
            "POST", f"/api/attestation/programs/{program}/documents", {"kind": kind, "body": text}
        )
        assert status == 201, body
    status, body = await head.call(
        "POST", f"/api/attestation/programs/{program}/documents", {"kind": "memo", "body": "x"}
    )
    assert status == 422
    status, body = await world.s("learner1").call(
        "POST",
        f"/api/attestation/programs/{program}/documents",
        {"kind": "curriculum", "body": "x"},
    )
    assert status == 403
    # An anonymous visitor (the test client has no session cookie).
    async with client.get("/public/programs") as resp:
        assert resp.status == 200
        assert "Программа 1" in await resp.text()
    async with client.get(f"/public/programs/{program}") as resp:
        assert resp.status == 200
        page = await resp.text()
    for _, text in docs:
        assert text in page
    assert "Учебный план" in page and "Календарный учебный график" in page
    async with client.get("/public/programs/99999") as resp:
        assert resp.status == 404
    async with client.get("/public/programs/<script>") as resp:
        assert resp.status == 404


@pytest.mark.rule("A2.1-account-results")
@pytest.mark.rule("A2.2-login")
async def test_ongoing_and_intermediate_results_in_the_account(world: World) -> None:
    body = {
        "learner_id": world.users["learner1"],
        "program_id": world.seed.program_id,
        "kind": "ongoing",
        "title": "Контрольная по разделу 1",
        "mark": "passed",
        "percent": 80,
    }
    status, created = await world.s("instructor").call("POST", "/api/attestation/results", body)
    assert status == 201, created
    status, _ = await world.s("instructor").call(
        "POST", "/api/attestation/results", body | {"kind": "intermediate", "mark": "good"}
    )
    assert status == 201
    for bad, expected in [
        ({"kind": "final"}, 422),
        ({"mark": "10"}, 422),
        ({"percent": 101}, 422),
        ({"learner_id": world.users["outsider"]}, 404),
        ({"program_id": 99999}, 404),
    ]:
        status, answer = await world.s("instructor").call(
            "POST", "/api/attestation/results", body | bad
        )
        assert status == expected, (bad, answer)
    status, _ = await world.s("learner1").call("POST", "/api/attestation/results", body)
    assert status == 403
    status, account = await world.s("learner1").call("GET", "/api/attestation/account")
    assert [(r["kind"], r["mark_title"]) for r in account["results"]] == [
        ("ongoing", "зачтено"),
        ("intermediate", "хорошо"),
    ]
    status, other = await world.s("learner2").call("GET", "/api/attestation/account")
    assert other["results"] == []
    status, _ = await world.s("head").call("GET", "/api/attestation/account")
    assert status == 403
    async with world.client.get("/api/attestation/account") as resp:
        assert resp.status == 401


async def _locked_protocol(world: World, event_id: int) -> None:
    status, protocol = await world.s("secretary").call(
        "POST", f"/api/attestation/events/{event_id}/protocol"
    )
    assert status == 201, protocol
    for member in COMMISSION:
        status, _ = await world.s(member).call(
            "POST", f"/api/attestation/protocols/{protocol['id']}/sign"
        )
        assert status == 200


@pytest.mark.rule("B2.12-certificate")
@pytest.mark.rule("B2.13-reference")
@pytest.mark.rule("B4.13-delivery")
async def test_certificates_and_references_with_delivery(world: World) -> None:
    event = await decided_event(world)
    eid = event["id"]
    issue = {"event_id": eid, "learner_id": world.users["learner2"], "delivery": "in_person"}
    status, body = await world.s("head").call("POST", "/api/attestation/issued-documents", issue)
    assert status == 409  # the protocol is not signed yet
    await _locked_protocol(world, eid)
    status, body = await world.s("head").call(
        "POST", "/api/attestation/issued-documents", issue | {"delivery": "proxy"}
    )
    assert status == 422 and body["rule"] == "B4.13-delivery"
    status, cert = await world.s("head").call("POST", "/api/attestation/issued-documents", issue)
    assert status == 201 and cert["kind"] == "certificate" and cert["number"].startswith("У-")
    status, ref = await world.s("head").call(
        "POST",
        "/api/attestation/issued-documents",
        {
            "event_id": eid,
            "learner_id": world.users["learner3"],
            "delivery": "registered_mail",
            "delivery_detail": "123456, г. Москва, ул. Ленина, д. 1",
        },
    )
    assert status == 201 and ref["kind"] == "reference", ref
    assert ref["delivery_title"].startswith("заказным")
    status, body = await world.s("head").call("POST", "/api/attestation/issued-documents", issue)
    assert status == 409  # issued once
    status, body = await world.s("head").call(
        "POST", "/api/attestation/issued-documents", issue | {"learner_id": world.users["outsider"]}
    )
    assert status == 404
    status, mine = await world.s("learner3").call("GET", "/api/attestation/issued-documents")
    assert [d["kind"] for d in mine] == ["reference"]
    status, register = await world.s("auditor").call("GET", "/api/attestation/issued-documents")
    assert len(register) == 2
    status, _ = await world.s("member1").call("GET", "/api/attestation/issued-documents")
    assert status == 403


@pytest.mark.rule("B2.4-no-substitute")
async def test_intermediate_results_never_stand_in_for_the_final_attestation(
    world: World,
) -> None:
    body = {
        "learner_id": world.users["learner1"],
        "program_id": world.seed.program_id,
        "kind": "intermediate",
        "title": "Промежуточная аттестация",
        "mark": "excellent",
    }
    status, _ = await world.s("instructor").call("POST", "/api/attestation/results", body)
    assert status == 201
    # A final result is never recorded by hand: only a commission's decision makes one.
    status, answer = await world.s("head").call(
        "POST", "/api/attestation/results", body | {"kind": "final"}
    )
    assert status == 422 and answer["field"] == "kind"
    status, account = await world.s("learner1").call("GET", "/api/attestation/account")
    assert [r["kind"] for r in account["results"]] == ["intermediate"]
    # At the event the learner is not decided until the commission votes.
    event = await world.event()
    status, body = await world.s("learner1").call("GET", f"/api/attestation/events/{event['id']}")
    assert body["me"]["decided"] is False and body["me"]["mark"] is None
