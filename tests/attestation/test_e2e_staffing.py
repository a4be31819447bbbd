"""In headless Chromium: the head forms a commission on the commissions page (a composition
of two is refused with the reason shown, three with a chair and a secretary is formed and
may sit today); a learner proposes an own referat topic with a justification on the
attestation page, the head approves it on the event's referats page, the learner uploads
the text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from tests.attestation.conftest import PDF, World, event_today
from tests.e2e.helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.seed import PASSWORD

pytestmark = pytest.mark.e2e


async def _logged_in(ctx: BrowserContext, username: str) -> Page:
    response = await ctx.request.post(
        "/api/login", data={"username": username, "password": PASSWORD}
    )
    assert response.ok, await response.text()
    return await ctx.new_page()


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"staffing-{name}.png"), full_page=True)


async def _form_commission(world: World, head: Page) -> None:
    await head.goto("/attestation")
    await head.locator("#commissions-link").click()
    await head.wait_for_url("**/attestation/commissions")
    root = head.locator("#attestation-commissions")
    await expect(root).to_have_attribute("data-ready", "1")
    fixture_card = head.locator(f'[data-commission-id="{world.commission_id}"]')
    await expect(fixture_card.locator("[data-can-sit]")).to_have_attribute("data-can-sit", "1")

    form = head.locator("#new-commission-form")
    await form.locator("#nc-title").fill("Комиссия по программе P1 на новый год")
    await form.locator("#nc-program").select_option(str(world.seed.program_id))
    rows = form.locator(".member-row")
    await expect(rows).to_have_count(3)
    await rows.nth(0).locator(".member-person").select_option(str(world.users["chair"]))
    await rows.nth(1).locator(".member-person").select_option(str(world.users["secretary"]))
    await rows.nth(2).locator(".remove-member").click()
    await form.get_by_role("button", name="Сформировать комиссию").click()
    errors = head.locator("#new-commission-result .form-errors")
    await expect(errors).to_contain_text("Комиссия не сформирована")
    await expect(errors).to_contain_text("не менее 3 человек")
    await _shot(head, "commission-refused")

    await form.get_by_role("button", name="Добавить члена комиссии").click()
    await expect(rows).to_have_count(3)
    await rows.nth(2).locator(".member-person").select_option(str(world.users["member1"]))
    await form.get_by_role("button", name="Сформировать комиссию").click()
    await expect(head.locator("#new-commission-result .alert-ok")).to_contain_text(
        "Комиссия сформирована"
    )
    card = head.locator(".commission-card", has_text="Комиссия по программе P1 на новый год")
    await expect(card).to_have_count(1)
    await expect(card.locator("[data-can-sit]")).to_have_attribute("data-can-sit", "1")
    await expect(card.locator('[data-seat="chair"]')).to_have_count(1)
    await expect(card.locator('[data-seat="secretary"]')).to_have_count(1)
    await expect(card.locator('[data-seat="member"]')).to_have_count(1)
    await _shot(head, "commission-formed")


async def _own_topic(learner: Page, event_id: int) -> None:
    await learner.goto("/attestation")
    section = learner.locator("#my-referats-section")
    await expect(section).to_have_attribute("data-ready", "1")
    card = section.locator(f'[data-event-id="{event_id}"]')
    await expect(card).to_contain_text("не более 15 минут")
    await card.get_by_label("Собственная тема с обоснованием").check()
    await card.get_by_role("button", name="Выбрать тему").click()
    await expect(card.locator(".referat-result")).to_contain_text("обоснуйте")
    await card.get_by_label("Собственная тема", exact=True).fill("Эвакуация предприятия")
    await card.get_by_label("Обоснование собственной темы").fill("Работаю в службе ГО завода")
    await card.get_by_role("button", name="Выбрать тему").click()
    await expect(card.locator(".topic-status")).to_have_attribute("data-status", "proposed")
    await expect(card.locator(".referat-result")).to_contain_text("на утверждение")
    await _shot(learner, "learner-own-topic")


async def _approve(head: Page, event_id: int, learner_id: int) -> None:
    # The sitting's page of a referat event leads to its referats.
    await head.goto(f"/attestation/events/{event_id}")
    await head.locator("#referats-link").click()
    await head.wait_for_url(f"**/attestation/events/{event_id}/referats")
    await expect(head.locator("#attestation-referats")).to_have_attribute("data-ready", "1")
    await expect(head.locator("#defence-limit")).to_contain_text("15 минут")
    card = head.locator(f'.referat-card[data-learner-id="{learner_id}"]')
    await expect(card.locator(".justification")).to_contain_text("Работаю в службе ГО завода")
    await card.get_by_role("button", name="Утвердить тему").click()
    await expect(card.locator(".topic-status")).to_have_attribute("data-status", "approved")
    await _shot(head, "referat-approved")


async def _upload(learner: Page, event_id: int, tmp: Path) -> None:
    text = tmp / "referat.pdf"
    text.write_bytes(PDF)
    await learner.reload()
    card = learner.locator(f'#my-referats-section [data-event-id="{event_id}"]')
    await expect(card.locator(".topic-status")).to_have_attribute("data-status", "approved")
    await card.locator('input[type="file"]').set_input_files(str(text))
    await card.get_by_role("button", name="Загрузить").click()
    await expect(card.locator(".referat-result")).to_contain_text("Текст загружен")
    await expect(card.locator(".referat-file a")).to_have_text("referat.pdf")
    await expect(card.locator(".review-status")).to_contain_text("ожидает рецензии")
    await _shot(learner, "learner-uploaded")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_commission_is_formed_and_a_learner_proposes_an_own_topic(
    world: World, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    event = await event_today(world, form="referat", test_id=None)
    base = f"http://{world.client.host}:{world.client.port}"
    errors: list[str] = []
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            contexts: list[Any] = []
            for _ in range(2):
                ctx = await chromium.new_context(
                    base_url=base, locale="ru-RU", timezone_id="Europe/Moscow"
                )
                ctx.set_default_timeout(10_000)
                ctx.on("weberror", lambda error: errors.append(str(error.error)))
                contexts.append(ctx)
            head = await _logged_in(contexts[0], "head")
            learner = await _logged_in(contexts[1], "learner2")
            await _form_commission(world, head)
            await _own_topic(learner, event["id"])
            await _approve(head, event["id"], world.users["learner2"])
            await _upload(learner, event["id"], tmp_path)
        finally:
            await chromium.close()
    assert not errors, f"script errors in the pages: {errors}"
