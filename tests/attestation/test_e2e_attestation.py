"""In headless Chromium against the demo server: the head schedules a remote event inside
the notice period (refused, then overridden with a reason), the commission opens the
sitting and votes with a tie the chair breaks, everyone signs the protocol, the learner
sees the remote invitation and the decision and files an appeal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STARTUP_TIMEOUT_S,
    TIMEOUT_MS,
    Server,
    log_in,
)
from tests.serverproc import running_demo

pytestmark = pytest.mark.e2e
MSK = ZoneInfo("Europe/Moscow")


def _context(chromium: Browser, demo: Server) -> BrowserContext:
    ctx = chromium.new_context(base_url=demo.url, locale="ru-RU", timezone_id="Europe/Moscow")
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Server]:
    """``examroom demo`` on a free port for this test only (function scope: Playwright's
    loop must be gone before the asynchronous tests that follow in this package)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed; the e2e tests need the system Chromium")
    with running_demo(tmp_path, timeout=STARTUP_TIMEOUT_S) as server:
        yield Server(server.url, server.log_path)


@pytest.fixture
def contexts(demo: Server) -> Iterator[dict[str, Page]]:
    """One logged-in tab per person, each in its own context (own cookies)."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        pages: dict[str, Page] = {}
        for name in ("head", "chair", "secretary", "member1", "learner1"):
            ctx = _context(chromium, demo)
            ctx.on("weberror", lambda error: errors.append(str(error.error)))
            page = ctx.new_page()
            log_in(page, name)
            pages[name] = page
        yield pages
        chromium.close()
    assert not errors, f"script errors in the pages: {errors}"


def ready(page: Page) -> None:
    """Wait until the sitting page has loaded its data and wired its controls."""
    expect(page.locator('#attestation-event[data-ready="1"]')).to_have_count(1)


def _api(page: Page, method: str, path: str, data: dict[str, object] | None = None) -> object:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    response = page.request.fetch(path, method=method, data=data, headers={"X-CSRF-Token": token})
    assert response.ok, response.text()
    return response.json()


def test_a_remote_attestation_from_scheduling_to_the_appeal(
    contexts: dict[str, Page],
) -> None:
    head = contexts["head"]
    head.goto("/attestation")
    expect(head.locator("h1")).to_have_text("Аттестация")
    expect(head.locator('#attestation-staff[data-ready="1"]')).to_have_count(1)
    now = datetime.now(MSK)
    start = now + timedelta(minutes=10)
    if start.date() != now.date():
        start = now + timedelta(minutes=1)
    form = head.locator("#event-form")
    form.locator("#event-title").fill("Итоговая аттестация (e2e)")
    form.locator("#event-starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.locator("#event-remote").check()
    form.locator("#event-remote-reason").fill("санитарно-эпидемиологические меры")
    form.locator("button[type=submit]").click()
    expect(head.locator("#event-result")).to_contain_text("трёхдневный срок уведомления")
    expect(head.locator("#override-field")).to_be_visible()
    head.locator("#event-override").fill("приказ о переносе № 9")
    form.locator("button[type=submit]").click()
    expect(head.locator("#event-result")).to_contain_text("Аттестация назначена")
    row = head.locator("#events tr", has_text="Итоговая аттестация (e2e)")
    expect(row).to_contain_text("приказ о переносе № 9")
    href = row.locator("a").get_attribute("href") or ""
    event_id = int(re.sub(r"\D", "", href))

    # The secretary opens the sitting with everyone present.
    secretary = contexts["secretary"]
    secretary.goto(href)
    ready(secretary)
    secretary.locator("#presence-form button[type=submit]").click()
    expect(secretary.locator("#action-result")).to_contain_text("Заседание открыто")

    # A three-way split on learner1: the chair's mark decides.
    event = _api(secretary, "GET", f"/api/attestation/events/{event_id}")
    assert isinstance(event, dict)
    learner1 = next(i for i in event["learners"] if i["full_name"] == "Слушатель 1")
    for member, mark in (
        ("secretary", "excellent"),
        ("member1", "satisfactory"),
        ("chair", "good"),
    ):
        tab = contexts[member]
        tab.goto(href)
        ready(tab)
        line = tab.locator(f'tr[data-learner-id="{learner1["user_id"]}"]')
        line.locator("select").select_option(mark)
        line.locator("button", has_text="Голосовать").click()
        expect(tab.locator("#action-result")).to_contain_text(
            "Решение" if member == "chair" else "Ваш голос учтён"
        )
    chair = contexts["chair"]
    expect(chair.locator(f'tr[data-learner-id="{learner1["user_id"]}"]')).to_contain_text(
        "хорошо (решающий голос председателя)"
    )
    # The other learners did not appear (recorded through the API to keep the run short).
    for item in event["learners"]:
        if item["user_id"] != learner1["user_id"]:
            _api(
                secretary,
                "POST",
                f"/api/attestation/events/{event_id}/absent",
                {"learner_id": item["user_id"]},
            )
    secretary.goto(href)
    ready(secretary)
    secretary.locator("#open-protocol").click()
    expect(secretary.locator("#protocol")).to_contain_text("Проведено с применением ДОТ")
    for member in ("chair", "member1", "secretary"):
        tab = contexts[member]
        tab.goto(href)
        ready(tab)
        tab.locator("#sign-protocol").click()
        expect(tab.locator("#action-result")).to_contain_text("Подписано")
    expect(secretary.locator("#protocol")).to_contain_text("Подписан всеми")

    # The learner sees the remote invitation and the decision, and appeals the same day.
    learner = contexts["learner1"]
    learner.goto("/attestation")
    expect(learner.locator('#attestation-learner[data-ready="1"]')).to_have_count(1)
    card = learner.locator(f'article[data-event-id="{event_id}"]')
    expect(card).to_contain_text("Идентификатор конференции")
    expect(card).to_contain_text("Решение комиссии: хорошо")
    learner.locator("#appeal-event").select_option(str(event_id))
    learner.locator("#appeal-text").fill("Не согласен с отметкой")
    learner.locator("#appeal-form button[type=submit]").click()
    expect(learner.locator("#action-result")).to_contain_text("Апелляция подана")
    expect(learner.locator("#my-requests")).to_contain_text("Апелляция")
