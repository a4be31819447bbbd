"""The commissions page: who may open it, what its shell carries, and the standing it
shows for each commission (may it sit today: composition B 3.8, term B 3.11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from attestation.models import CommissionMember
from attestation.rules.commission import term_end
from server.appkeys import SESSIONS
from tests.attestation.conftest import World


async def page(world: World, who: str | None, path: str) -> tuple[int, str, str]:
    client = world.s(who).client if who else world.client
    async with client.get(path, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location", "")


async def commission(world: World, starts: int, ends: int | None = None) -> dict[str, Any]:
    """A commission of P1 whose term starts ``starts`` days from today."""
    first = world.today() + timedelta(days=starts)
    body: dict[str, Any] = {
        "program_id": world.seed.program_id,
        "title": f"Комиссия с {first.isoformat()}",
        "starts_on": first.isoformat(),
        "members": [
            {"user_id": world.users["chair"], "role": "chair"},
            {"user_id": world.users["secretary"], "role": "secretary"},
            {"user_id": world.users["member1"], "role": "member"},
        ],
    }
    if ends is not None:
        body["ends_on"] = (world.today() + timedelta(days=ends)).isoformat()
    status, made = await world.s("head").call("POST", "/api/attestation/commissions", body)
    assert status == 201, made
    return dict(made)


async def standings(world: World, who: str) -> dict[int, dict[str, Any]]:
    status, body = await world.s(who).call("GET", "/api/attestation/commission-standing")
    assert status == 200, body
    return {item["commission_id"]: item for item in body}


async def test_the_page_is_for_staff_and_the_form_for_managers(world: World) -> None:
    status, _, where = await page(world, None, "/attestation/commissions")
    assert status == 303 and where.startswith("/login?next=/attestation/commissions")
    status, _, _ = await page(world, "learner1", "/attestation/commissions")
    assert status == 403
    status, html, _ = await page(world, "head", "/attestation/commissions")
    assert status == 200 and "<h1>Комиссии</h1>" in html
    assert 'data-manager="1"' in html and 'id="new-commission-form"' in html
    assert "attestation_commissions.js" in html and 'name="csrf-token"' in html
    for who in ("member1", "auditor", "instructor"):
        status, html, _ = await page(world, who, "/attestation/commissions")
        assert status == 200 and 'data-manager=""' in html
        assert 'id="new-commission-form"' not in html
    status, html, _ = await page(world, "head", "/attestation")
    assert 'href="/attestation/commissions"' in html


async def test_standing_is_for_staff_and_members_see_their_own(world: World) -> None:
    other = await commission(world, starts=0)
    status, _ = await world.s("learner1").call("GET", "/api/attestation/commission-standing")
    assert status == 403
    async with world.client.get("/api/attestation/commission-standing") as resp:
        assert resp.status == 401
    head = await standings(world, "head")
    assert set(head) == {world.commission_id, other["id"]}
    assert set(await standings(world, "auditor")) == set(head)
    # member2 sits only in the fixture's commission.
    assert set(await standings(world, "member2")) == {world.commission_id}
    assert await standings(world, "amember") == {}


@pytest.mark.rule("B3.11-term")
async def test_a_commission_sits_only_within_its_term(world: World) -> None:
    current = await standings(world, "head")
    assert current[world.commission_id]["can_sit"] is True
    assert current[world.commission_id]["term"] == "current"
    # A term of one year that ended yesterday, and one that starts tomorrow.
    first = world.today() - timedelta(days=400)
    last = term_end(first)
    ended = await commission(world, starts=-400, ends=(last - world.today()).days)
    later = await commission(world, starts=1)
    result = await standings(world, "head")
    assert result[ended["id"]]["can_sit"] is False and result[ended["id"]]["term"] == "ended"
    assert result[later["id"]]["can_sit"] is False
    assert result[later["id"]]["term"] == "not_started"
    assert result[later["id"]]["problems"] == []
    # A term longer than one year is refused when the commission is formed.
    status, body = await world.s("head").call(
        "POST",
        "/api/attestation/commissions",
        {
            "program_id": world.seed.program_id,
            "title": "Слишком долгая",
            "starts_on": world.today().isoformat(),
            "ends_on": (term_end(world.today()) + timedelta(days=1)).isoformat(),
            "members": [
                {"user_id": world.users["chair"], "role": "chair"},
                {"user_id": world.users["secretary"], "role": "secretary"},
                {"user_id": world.users["member1"], "role": "member"},
            ],
        },
    )
    assert status == 422 and body["rule"] == "B3.11-term"


@pytest.mark.rule("B3.8-composition")
async def test_a_commission_without_its_secretary_may_not_sit(world: World) -> None:
    assert (await standings(world, "head"))[world.commission_id]["problems"] == []
    async with world.client.app[SESSIONS]() as db:
        await db.execute(
            delete(CommissionMember).where(
                CommissionMember.commission_id == world.commission_id,
                CommissionMember.user_id.in_(
                    [world.users["secretary"], world.users["member1"], world.users["member2"]]
                ),
            )
        )
        await db.commit()
    result = (await standings(world, "head"))[world.commission_id]
    assert result["can_sit"] is False and result["term"] == "current"
    assert "a commission has exactly one secretary" in result["problems"]
    assert "a commission has at least 3 members" in result["problems"]
