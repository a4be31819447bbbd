"""The commission's page of an appeal hearing's room shows what the hearing needs (B 7.4):
the appellant's video, the other members of the appeal commission on camera and the chat;
no identity check, no monitoring events of a test and no "choose for the identity check".
The page of a test room keeps all of them (with the identity check on), so each check
compares the two."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from server.settings import Settings
from tests.attestation.conftest import World
from tests.attestation.test_hearing_room import _appeal
from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.seed import PASSWORD

pytestmark = pytest.mark.e2e
MEDIA_TIMEOUT_MS = 25_000
HIDDEN_REVIEW = re.compile(r'<section id="identity-review"[^>]*\shidden[\s>]')
HIDDEN_EVENTS = re.compile(r'<section id="room-events"[^>]*\shidden[\s>]')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The identity check on (confirmed during the test): a test room's commission page
    then shows the identity panel and badges."""
    return settings.replace(identity_check="later")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_page_of_a_hearing_is_marked_and_has_no_test_panels(world: World) -> None:
    room = f"appeal-{await _appeal(world)}"
    status, hearing = await world.s("deputy").call("GET", f"/rooms/{room}/commission")
    assert status == 200, hearing
    status, test_room = await world.s("chair").call(
        "GET", f"/rooms/test-{world.seed.test_id}/commission"
    )
    assert status == 200, test_room

    assert 'data-hearing="1"' in hearing
    assert HIDDEN_REVIEW.search(hearing) and HIDDEN_EVENTS.search(hearing)
    assert 'id="member-grid"' in hearing
    assert 'data-hearing=""' in test_room
    assert not HIDDEN_REVIEW.search(test_room) and not HIDDEN_EVENTS.search(test_room)
    assert 'id="member-grid"' not in test_room


async def _logged_in(ctx: BrowserContext, username: str) -> Page:
    response = await ctx.request.post(
        "/api/login", data={"username": username, "password": PASSWORD}
    )
    assert response.ok, await response.text()
    return await ctx.new_page()


async def _learner_joins(page: Page, room: str) -> None:
    await page.goto(f"/rooms/{room}")
    await page.locator("#camera-btn").click()
    await expect(page.locator("#join-btn")).to_be_enabled()
    await page.locator("#join-btn").click()
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )


async def _commission_joins(page: Page, room: str) -> None:
    await page.goto(f"/rooms/{room}/commission")
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_member_sees_the_hearing_without_identity_check_and_test_events(
    world: World,
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    hearing = f"appeal-{await _appeal(world)}"
    test_room = f"test-{world.seed.test_id}"
    base = f"http://{world.client.host}:{world.client.port}"
    errors: list[str] = []
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            pages: dict[str, Page] = {}
            for name in ("learner2", "amember", "deputy", "learner1", "chair"):
                ctx = await chromium.new_context(base_url=base, locale="ru-RU")
                ctx.set_default_timeout(10_000)
                ctx.on("weberror", lambda error: errors.append(str(error.error)))
                pages[name] = await _logged_in(ctx, name)

            # The hearing: the appellant and one member join, then the chair of the appeal
            # commission opens the commission's page.
            await _learner_joins(pages["learner2"], hearing)
            await _commission_joins(pages["amember"], hearing)
            deputy = pages["deputy"]
            await _commission_joins(deputy, hearing)
            await expect(deputy.locator("#commission-app")).to_have_attribute("data-hearing", "1")
            appellant = deputy.locator("#learner-grid .learner-tile")
            await expect(appellant).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
            await expect(deputy.locator("#learner-count")).to_have_text("1")
            member = deputy.locator("#member-grid .learner-tile")
            await expect(member).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
            await expect(member.locator(".tile-name")).to_have_text("Член апелляционной")
            await expect(member.locator(".tile-choose")).to_be_hidden()
            await expect(deputy.locator("#identity-review")).to_be_hidden()
            await expect(deputy.locator("#room-events")).to_be_hidden()
            await expect(deputy.locator("#flag-comment")).to_have_count(0)
            await expect(appellant.locator(".identity-badge")).to_be_hidden()
            choose = appellant.locator(".tile-choose")
            await expect(choose).to_have_attribute("aria-label", re.compile(r"^Переписка: "))
            await choose.click()
            await expect(deputy.locator("#chat-with")).to_have_text(re.compile(r"^Переписка: \S"))
            await expect(deputy.locator("#room-chat textarea")).to_be_visible()
            # Nothing about the identity check went to or came from the server.
            await expect(deputy.locator("#identity-review .review-body")).to_have_count(0)

            # A test room: the same page keeps the identity check and the events.
            await _learner_joins(pages["learner1"], test_room)
            chair = pages["chair"]
            await _commission_joins(chair, test_room)
            await expect(chair.locator("#commission-app")).to_have_attribute("data-hearing", "")
            learner = chair.locator("#learner-grid .learner-tile")
            await expect(learner).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
            await expect(chair.locator("#member-grid")).to_have_count(0)
            await expect(chair.locator("#identity-review")).to_be_visible()
            await expect(chair.locator("#room-events")).to_be_visible()
            await expect(chair.locator("#flag-comment")).to_have_count(1)
            await expect(learner.locator(".identity-badge")).to_be_visible()
            await expect(learner.locator(".tile-choose")).to_have_attribute(
                "aria-label", re.compile("проверка личности")
            )
        finally:
            await chromium.close()
    assert not errors, f"script errors in the pages: {errors}"
