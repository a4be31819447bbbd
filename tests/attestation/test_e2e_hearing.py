"""In headless Chromium: the appellant opens the hearing room from their attestation page,
sees no test and no identity check, joins with the camera; the appeal commission's chair
opens the same room from the staff page and is connected too (B 7.4)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext, async_playwright, expect

from tests.attestation.conftest import World
from tests.attestation.test_hearing_room import _appeal
from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.seed import PASSWORD

pytestmark = pytest.mark.e2e
MEDIA_TIMEOUT_MS = 25_000


async def _logged_in(ctx: BrowserContext, username: str) -> Any:
    response = await ctx.request.post(
        "/api/login", data={"username": username, "password": PASSWORD}
    )
    assert response.ok, await response.text()
    return await ctx.new_page()


@pytest.mark.rule("B7.4-hearing-2wd")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_appellant_attends_the_hearing_by_video(world: World) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    room = f"appeal-{await _appeal(world)}"
    base = f"http://{world.client.host}:{world.client.port}"
    errors: list[str] = []
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            contexts = []
            for _ in range(2):
                ctx = await chromium.new_context(base_url=base, locale="ru-RU")
                ctx.set_default_timeout(10_000)
                ctx.on("weberror", lambda error: errors.append(str(error.error)))
                contexts.append(ctx)
            learner = await _logged_in(contexts[0], "learner2")
            await learner.goto("/attestation")
            link = learner.get_by_role("link", name="Подключиться к заседанию")
            await expect(link).to_have_attribute("href", f"/rooms/{room}")
            await link.click()
            await learner.wait_for_url(f"**/rooms/{room}")
            await expect(learner.locator("#room-app")).to_have_attribute("data-hearing", "1")
            await expect(learner.locator("#test-link-title")).to_be_hidden()
            await expect(learner.locator("#identity-check")).to_be_hidden()
            await expect(learner.locator(".subtitle")).to_contain_text("апелляционной комиссии")
            await learner.locator("#camera-btn").click()
            await expect(learner.locator("#join-btn")).to_be_enabled()
            await learner.locator("#join-btn").click()
            await expect(learner.locator("#connection")).to_have_attribute(
                "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
            )

            deputy = await _logged_in(contexts[1], "deputy")
            await deputy.goto("/attestation")
            join = deputy.locator("#hearings").get_by_role("link", name="Подключиться к заседанию")
            await join.click()
            await deputy.wait_for_url(f"**/rooms/{room}/commission")
            await expect(deputy.locator("#connection")).to_have_attribute(
                "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
            )
            await expect(deputy.locator("#learner-count")).to_have_text(
                "1", timeout=MEDIA_TIMEOUT_MS
            )
        finally:
            await chromium.close()
    assert not errors, f"script errors in the pages: {errors}"
