"""Staff in the browser: importing a GIFT file, approval by the head, item analysis."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.e2e.helpers import DEMO_PASSWORD, FIXTURES, Server, log_in

pytestmark = pytest.mark.e2e


def test_instructor_imports_gift_and_the_head_approves(
    page: Page, browser: Browser, server: Server, shot: Callable[..., Path]
) -> None:
    title = f"Банк e2e {secrets.token_hex(3)}"
    log_in(page, "instructor")
    expect(page.locator("h1")).to_have_text("Банки вопросов и тесты")
    expect(page.locator("#banks-table")).to_contain_text("Итоговая аттестация ГО")

    # Import through the form (multipart with the CSRF token in the header).
    page.get_by_label("Файл с вопросами").set_input_files(FIXTURES / "small_bank.gift")
    page.get_by_label("Формат").select_option("gift")
    page.get_by_label("Название банка").fill(title)
    page.get_by_role("button", name="Импортировать").click()
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("Импортировано вопросов: 3")
    report = page.locator("#import-result")
    expect(report).to_contain_text("Пропущено вопросов: 3.")
    # Each skipped question with its line in the file and the importer's reason.
    skipped = report.locator(".skipped li")
    expect(skipped).to_have_count(3)
    for row, line in zip(skipped.all(), (23, 25, 27), strict=True):
        expect(row.locator(".line-no")).to_have_text(f"строка {line}")
        assert len(row.inner_text()) > len(f"строка {line}") + 5  # a reason follows

    row = page.locator("#banks-table tbody tr", has_text=title)
    expect(row).to_contain_text("Черновик")
    expect(row.locator("td").nth(2)).to_have_text("3")  # drafts

    # Only the head approves: the instructor sees the server's refusal.
    row.get_by_role("button", name=f"Утвердить: {title}").click()
    status = page.locator("#bank-status")
    expect(status).to_contain_text("Утверждать банки вопросов может только руководитель курсов")
    expect(row).to_contain_text("Черновик")
    shot(page, "instructor-import", full_page=True)

    head_context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    try:
        head = head_context.new_page()
        log_in(head, "head")
        head_row = head.locator("#banks-table tbody tr", has_text=title)
        head_row.get_by_role("button", name=f"Утвердить: {title}").click()
        expect(head.locator("#bank-status")).to_have_text(f"Банк «{title}» утверждён.")
        head_row = head.locator("#banks-table tbody tr", has_text=title)
        expect(head_row).to_contain_text("Утверждён")
        expect(head_row.locator("td").nth(1)).to_have_text("3")  # approved questions
        expect(head_row.get_by_role("button")).to_have_count(0)
        shot(head, "instructor-approved", full_page=True)
    finally:
        head_context.close()


def _submit_attempts(playwright_instance: Playwright, server: Server, learners: range) -> None:
    """Learners take the demo test through the JSON API, each answering differently."""
    for k in learners:
        api = playwright_instance.request.new_context(base_url=server.url)
        try:
            me = api.post("/api/login", data={"username": f"learner{k}", "password": DEMO_PASSWORD})
            assert me.ok, me.text()
            headers = {"X-CSRF-Token": me.json()["csrf_token"]}
            started = api.post("/api/tests/1/attempts", data={}, headers=headers)
            assert started.ok, started.text()
            attempt = started.json()
            for n, question in enumerate(attempt["questions"][: 4 + 2 * (k % 4)]):
                option = question["options"][(n * k) % 3]["id"]
                saved = api.put(
                    f"/api/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                    data={"option_id": option, "lease": attempt["lease"]},
                    headers=headers,
                )
                assert saved.ok, saved.text()
            done = api.post(
                f"/api/attempts/{attempt['attempt_id']}/submit",
                data={"lease": attempt["lease"]},
                headers=headers,
            )
            assert done.ok, done.text()
        finally:
            api.dispose()


def test_item_analysis_page(
    page: Page, playwright_instance: Playwright, server: Server, shot: Callable[..., Path]
) -> None:
    _submit_attempts(playwright_instance, server, range(20, 26))
    log_in(page, "auditor")
    expect(page.locator("#import-form")).to_have_count(0)  # auditors read, never write
    page.get_by_role(
        "link", name="Анализ вопросов: Итоговое тестирование по гражданской обороне"
    ).click()
    page.wait_for_url("**/instructor/tests/1/analysis")
    expect(page.locator("#analysis-test")).to_have_text(
        "Итоговое тестирование по гражданской обороне"
    )
    expect(page.locator("#stats")).to_contain_text("Надёжность KR-20")
    items = page.locator("#items > li.analysis-item")
    expect(items.first).to_be_visible()
    assert items.count() >= 12
    # Every question shows its options and "no answer" with a share bar.
    first = items.first
    expect(first.locator(".shares > li")).to_have_count(4)
    expect(first.locator(".share-correct")).to_have_count(1)
    # Questions outside the facility/discrimination bounds are highlighted with reasons.
    flagged = page.locator("#items > li.flagged")
    expect(flagged.first).to_be_visible()
    expect(flagged.first.locator(".flag-reasons")).to_contain_text("Проверьте вопрос")
    shot(page, "analysis")
