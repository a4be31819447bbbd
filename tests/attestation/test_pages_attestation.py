"""The attestation pages: Russian by default, role checks, foreign ids, no login for the
public section."""

from __future__ import annotations

from typing import Any

from tests.attestation.conftest import World


async def page(world: World, who: str | None, path: str) -> tuple[int, str, str]:
    client = world.s(who).client if who else world.client
    async with client.get(path, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location", "")


async def test_staff_and_learner_pages(world: World) -> None:
    event = await world.event()
    status, html, _ = await page(world, "head", "/attestation")
    assert status == 200 and 'id="event-form"' in html and "attestation_events.js" in html
    assert "<h1>Аттестация</h1>" in html
    status, html, _ = await page(world, "member1", "/attestation")
    assert status == 200 and 'id="event-form"' not in html  # members do not schedule
    status, html, _ = await page(world, "learner1", "/attestation")
    assert status == 200 and "<h1>Моя аттестация</h1>" in html and 'id="appeal-form"' in html
    status, html, _ = await page(world, "secretary", f"/attestation/events/{event['id']}")
    assert status == 200 and 'id="presence-form"' in html
    assert 'data-seat="secretary"' in html
    status, html, _ = await page(world, "member1", f"/attestation/events/{event['id']}")
    assert status == 200 and 'id="presence-form"' not in html
    status, _, _ = await page(world, "amember", f"/attestation/events/{event['id']}")
    assert status == 404
    status, _, where = await page(world, "learner1", f"/attestation/events/{event['id']}")
    assert status == 303 and where == "/attestation"
    status, _, where = await page(world, None, "/attestation")
    assert status == 303 and where.startswith("/login")
    status, _, _ = await page(world, "head", "/attestation/events/99999")
    assert status == 404


async def test_the_public_section_needs_no_login(world: World, client: Any) -> None:
    async with client.get("/public/programs") as resp:
        html = await resp.text()
        assert resp.status == 200 and "<h1>Программы обучения</h1>" in html
        assert f'href="/public/programs/{world.seed.program_id}"' in html
    async with client.get(f"/public/programs/{world.seed.program_id}?lang=en") as resp:
        assert resp.status == 200
