"""A learner takes the demo test in the browser: saves, reload, offline queue, takeover."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.e2e.helpers import DEMO_PASSWORD, REPO, Server, log_in

pytestmark = pytest.mark.e2e

DEMO_TEST_ID = 1
DOCS_SCREENSHOT = REPO / "docs" / "screenshot.png"


def questions(page: Page) -> list[str]:
    """The question ids of the test page, in the attempt's order."""
    expect(page.locator("#questions > li").first).to_be_visible()
    return [
        str(row.get_attribute("data-question-id")) for row in page.locator("#questions > li").all()
    ]


def answer(page: Page, question_id: str, index: int) -> int:
    """Choose the index-th option of a question (by its label); returns the option id."""
    row = page.locator(f'#questions > li[data-question-id="{question_id}"]')
    option = row.locator("label.option").nth(index)
    option.click()
    expect(option.locator("input")).to_be_checked()
    return int(str(option.locator("input").get_attribute("value")))


def row_of(page: Page, question_id: str) -> Any:
    """The question's list item."""
    return page.locator(f'#questions > li[data-question-id="{question_id}"]')


def test_learner_takes_the_test_through_reload_and_offline(
    page: Page,
    context: BrowserContext,
    server: Server,
    playwright_instance: Playwright,
    shot: Callable[..., Path],
) -> None:
    # The login form, then the personal account with the demo test.
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("Вход в систему")
    shot(page, "login")
    log_in(page, "learner1")
    card = page.locator(f'.test-card[data-test-id="{DEMO_TEST_ID}"]')
    expect(card).to_contain_text("Итоговое тестирование по гражданской обороне")
    expect(card).to_contain_text("30 мин")
    expect(page.locator("#current-results")).to_contain_text("Результатов пока нет")
    shot(page, "account-before")
    card.get_by_role("link", name=re.compile("^Начать")).click()
    page.wait_for_url(f"**/tests/{DEMO_TEST_ID}")

    # Answer four questions; each is acknowledged after the server's commit.
    ids = questions(page)
    assert len(ids) == 12
    chosen: dict[str, int] = {}
    for position, question_id in enumerate(ids[:4]):
        chosen[question_id] = answer(page, question_id, position % 3)
    for question_id in chosen:
        expect(row_of(page, question_id)).to_have_attribute("data-state", "saved")
        expect(row_of(page, question_id).locator(".save-state")).to_have_text("Ответ сохранён")
    expect(page.locator("#progress-text")).to_have_text("Отвечено 4 из 12")
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(30:00|2\d:\d\d)$"))

    # A reload finds the same attempt and the same answers.
    page.reload()
    assert questions(page) == ids
    for question_id, option_id in chosen.items():
        expect(row_of(page, question_id).locator(f'input[value="{option_id}"]')).to_be_checked()
        expect(row_of(page, question_id)).to_have_attribute("data-state", "saved")
    expect(page.locator("#conn-banner")).to_be_hidden()
    shot(page, "test-page")
    if os.environ.get("EXAMROOM_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot(page, "test-page"), DOCS_SCREENSHOT)

    # Offline: two more answers wait in the queue, the banner says so.
    attempt_id = _attempt_id(page, server)
    context.set_offline(True)
    offline_ids = ids[4:6]
    for question_id in offline_ids:
        chosen[question_id] = answer(page, question_id, 1)
    banner = page.locator("#conn-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text("Нет соединения — ответы сохранятся, когда связь восстановится")
    expect(banner).to_have_attribute("role", "status")
    for question_id in offline_ids:
        expect(row_of(page, question_id)).to_have_attribute("data-state", "pending")
        expect(row_of(page, question_id).locator(".save-state")).to_have_text("Ещё не сохранён")
    pending = page.evaluate(
        "id => Object.keys(JSON.parse(localStorage.getItem(id) || '{}'))",
        f"examroom.pending.{attempt_id}",
    )
    assert sorted(pending) == sorted(offline_ids)
    shot(page, "test-page-offline")

    # Back online: the queue flushes and the banner goes away.
    context.set_offline(False)
    for question_id in offline_ids:
        expect(row_of(page, question_id)).to_have_attribute("data-state", "saved", timeout=15_000)
    expect(banner).to_be_hidden()
    expect(page.locator("#progress-text")).to_have_text("Отвечено 6 из 12")

    # Submit with confirmation; the result shows percent, mark and scale.
    page.locator("#submit-btn").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Отвечено вопросов: 6 из 12")
    expect(dialog).to_contain_text("Вопросов без ответа: 6")
    shot(page, "test-confirm")
    dialog.get_by_role("button", name="Завершить и отправить").click()
    result = page.locator("#result")
    expect(result).to_be_visible()
    expect(page.locator("#result-percent")).to_have_text(re.compile(r"^\d+ %$"))
    mark = page.locator("#result-mark")
    expect(mark).to_have_text(re.compile("отлично|хорошо|удовлетворительно|неудовлетворительно"))
    expect(page.locator("#result-scale")).to_have_text("Шкала: четырёхбалльная")
    expect(page.locator("#review > li")).to_have_count(12)
    expect(page.locator("#review .tag-correct")).to_have_count(12)
    mark_title = mark.inner_text()
    shot(page, "test-result", full_page=True)

    # The personal account lists the result in the current results and the archive.
    page.get_by_role("link", name="Перейти в личный кабинет").click()
    page.wait_for_url("**/account")
    for table in ("#current-results", "#archive"):
        expect(page.locator(table)).to_contain_text("Итоговое тестирование по гражданской обороне")
        expect(page.locator(table)).to_contain_text(mark_title)
    expect(page.locator(f'.test-card[data-test-id="{DEMO_TEST_ID}"]')).to_contain_text(
        "Посмотреть результат"
    )
    shot(page, "account-after", full_page=True)

    # A separate API session sees every chosen option stored.
    api = playwright_instance.request.new_context(base_url=server.url)
    try:
        login = api.post("/api/login", data={"username": "learner1", "password": DEMO_PASSWORD})
        assert login.ok, login.text()
        stored = api.get(f"/api/attempts/{attempt_id}").json()
    finally:
        api.dispose()
    assert stored["status"] == "submitted"
    options = {str(q["id"]): q["option_id"] for q in stored["questions"]}
    assert {qid: options[qid] for qid in chosen} == chosen
    assert sum(1 for value in options.values() if value is not None) == len(chosen)
    assert stored["result"]["mark_title"] == mark_title


def _attempt_id(page: Page, server: Server) -> int:
    """The attempt id of the learner's demo test, asked through the page's own session."""
    response = page.request.get(server.url + "/api/tests")
    return int(next(t for t in response.json() if t["id"] == DEMO_TEST_ID)["attempt"]["id"])


def test_second_tab_is_told_the_attempt_is_in_use_and_can_take_over(
    context: BrowserContext, shot: Callable[..., Path]
) -> None:
    first = context.new_page()
    log_in(first, "learner2")
    first.goto(f"/tests/{DEMO_TEST_ID}")
    ids = questions(first)
    option_id = answer(first, ids[0], 2)
    expect(row_of(first, ids[0])).to_have_attribute("data-state", "saved")

    # The same learner opens the test in a second tab: it holds no lease.
    second = context.new_page()
    second.goto(f"/tests/{DEMO_TEST_ID}")
    in_use = second.locator("#in-use")
    expect(in_use).to_be_visible()
    expect(in_use).to_contain_text("Этот тест уже открыт в другом месте")
    expect(second.locator("#attempt")).to_be_hidden()
    shot(second, "test-in-use")

    second.get_by_role("button", name="Продолжить здесь").click()
    assert questions(second) == ids
    expect(row_of(second, ids[0]).locator(f'input[value="{option_id}"]')).to_be_checked()

    # The first tab is told at once and switched off.
    blocked = first.locator("#blocked")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("Тест открыт в другой вкладке")
    expect(first.locator("#questions input").first).to_be_disabled()
    expect(first.locator("#submit-btn")).to_be_disabled()
    shot(first, "test-taken-over")

    # The new tab holds the attempt: its answers are saved.
    answer(second, ids[1], 0)
    expect(row_of(second, ids[1])).to_have_attribute("data-state", "saved")


def test_staff_pages_are_closed_to_learners(page: Page, shot: Callable[..., Path]) -> None:
    log_in(page, "learner5")
    response = page.goto("/instructor")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Доступ запрещён")
    expect(page.get_by_role("link", name="На главную страницу")).to_be_visible()
    shot(page, "error-403")


def test_language_switch_shows_english(page: Page, shot: Callable[..., Path]) -> None:
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.get_by_role("link", name=re.compile("^EN")).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_label("Username")).to_be_visible()

    log_in(page, "learner6")
    expect(page.locator("h1")).to_have_text("Personal account")
    card = page.locator(f'.test-card[data-test-id="{DEMO_TEST_ID}"]')
    expect(card).to_contain_text("Time limit")  # rendered by the script: t() in English
    expect(card.get_by_role("link", name=re.compile("^Start"))).to_be_visible()
    expect(page.locator("#archive")).to_contain_text("No results yet.")
    shot(page, "account-en")

    page.get_by_role("link", name=re.compile("^RU")).click()
    expect(page.locator("h1")).to_have_text("Личный кабинет")
    expect(card.get_by_role("link", name=re.compile("^Начать"))).to_be_visible()
