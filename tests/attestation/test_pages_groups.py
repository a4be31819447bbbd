"""The groups page and the event page's form that adds a learner: who gets them, and in
headless Chromium a learner completes the program after scheduling and is added (B 2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext, async_playwright, expect

from tests.attestation.conftest import World
from tests.attestation.test_pages_attestation import page
from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.seed import PASSWORD


async def test_the_groups_page_follows_the_role(world: World) -> None:
    status, html, _ = await page(world, "head", "/attestation/groups")
    assert status == 200 and "attestation_groups.js" in html
    assert 'data-manager="1"' in html and 'data-recorder="1"' in html
    assert "<h1>Группы и зачисление</h1>" in html
    status, html, _ = await page(world, "instructor", "/attestation/groups")
    assert status == 200 and 'data-manager=""' in html and 'data-recorder="1"' in html
    status, html, _ = await page(world, "auditor", "/attestation/groups")
    assert status == 200 and 'data-manager=""' in html and 'data-recorder=""' in html
    status, _, _ = await page(world, "learner1", "/attestation/groups")
    assert status == 403
    status, _, where = await page(world, None, "/attestation/groups")
    assert status == 303 and where.startswith("/login")
    event = await world.event()
    status, html, _ = await page(world, "head", f"/attestation/events/{event['id']}")
    assert status == 200 and 'id="add-learner-form"' in html
    assert f'data-group-id="{world.seed.group_id}"' in html
    status, html, _ = await page(world, "secretary", f"/attestation/events/{event['id']}")
    assert status == 200 and 'id="add-learner-form"' not in html


async def _logged_in(ctx: BrowserContext, username: str) -> Any:
    response = await ctx.request.post(
        "/api/login", data={"username": username, "password": PASSWORD}
    )
    assert response.ok, await response.text()
    return await ctx.new_page()


@pytest.mark.e2e
@pytest.mark.rule("B2.1-admission")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_learner_completes_after_scheduling_and_is_added_in_the_browser(
    world: World,
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    event = await world.event(days=10)
    base = f"http://{world.client.host}:{world.client.port}"
    errors: list[str] = []
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            ctx = await chromium.new_context(base_url=base, locale="ru-RU")
            ctx.set_default_timeout(10_000)
            ctx.on("weberror", lambda error: errors.append(str(error.error)))
            head = await _logged_in(ctx, "head")
            await head.goto("/attestation/groups")
            await expect(head.locator("#attestation-groups")).to_have_attribute("data-ready", "1")
            await head.locator(f'tr[data-group-id="{world.seed.group_id}"] button').click()
            row = head.locator(f'#learners-table tr[data-user-id="{world.users["learner4"]}"]')
            await expect(row).to_have_attribute("data-completed", "0")
            # Before completing, learner4 cannot be offered for the event.
            await head.goto(f"/attestation/events/{event['id']}")
            await expect(head.locator("#attestation-event")).to_have_attribute("data-ready", "1")
            await expect(head.locator("#add-learner option")).to_have_count(0)
            await head.goto("/attestation/groups")
            await head.locator(f'tr[data-group-id="{world.seed.group_id}"] button').click()
            await row.locator("input[type=checkbox]").check()
            await expect(row).to_have_attribute("data-completed", "1")
            await head.goto(f"/attestation/events/{event['id']}")
            await expect(head.locator("#attestation-event")).to_have_attribute("data-ready", "1")
            await expect(head.locator("#add-learner option")).to_have_text(
                ["Неуспевающий Слушатель"]
            )
            await head.locator("#add-learner-form button[type=submit]").click()
            await expect(head.locator("#add-learner-result")).to_contain_text("приглашение")
            await expect(head.locator("#learners")).to_contain_text("Неуспевающий Слушатель")
            await head.screenshot(path="test-artifacts/attestation-learner-added.png")
        finally:
            await chromium.close()
    assert errors == []
    status, body = await world.s("head").call("GET", f"/api/attestation/events/{event['id']}")
    assert status == 200
    assert world.users["learner4"] in {item["user_id"] for item in body["learners"]}
