"""In headless Chromium: the chair runs an oral exam's tickets from the sitting page — a
ticket drawn at random, the answer refused before 20 minutes of preparation, then begun
and finished on the server's clock (B 5.6, 5.10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import async_playwright, expect

from tests.attestation.conftest import World, event_today
from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.seed import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.mark.rule("B5.10-timing")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_chair_draws_a_ticket_and_keeps_the_clocks(world: World) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    event = await event_today(world, form="exam")
    learner = world.users["learner1"]
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
            response = await ctx.request.post(
                "/api/login", data={"username": "chair", "password": PASSWORD}
            )
            assert response.ok
            page = await ctx.new_page()
            await page.goto(f"/attestation/events/{event['id']}")
            await expect(page.locator('#attestation-event[data-ready="1"]')).to_have_count(1)
            cell = page.locator(f'td[data-oral-of="{learner}"]')
            await cell.get_by_role("button", name="Вытянуть билет").click()
            await expect(cell.locator("ol.ticket li")).to_have_count(6)
            await expect(cell).to_contain_text("Подготовка до")
            await cell.get_by_role("button", name="Начать ответ").click()
            await expect(page.locator("#action-result .alert-error")).to_be_visible()
            await expect(cell.locator("ol.ticket li")).to_have_count(6)  # still preparing

            world.shift(timedelta(minutes=20))
            await page.reload()
            await expect(page.locator('#attestation-event[data-ready="1"]')).to_have_count(1)
            await cell.get_by_role("button", name="Начать ответ").click()
            await expect(cell).to_contain_text("Ответ до")
            await cell.get_by_role("button", name="Закончить ответ").click()
            await expect(cell).to_contain_text("Ответ завершён.")
            # Another learner has not drawn yet.
            other = page.locator(f'td[data-oral-of="{world.users["learner2"]}"]')
            await expect(other.get_by_role("button", name="Вытянуть билет")).to_be_visible()
        finally:
            await chromium.close()
    assert not errors, f"script errors in the page: {errors}"
