"""End-to-end fixtures: the real demo server as a subprocess and headless Chromium.

One ``examroom demo`` server (fresh data directory, free port) serves the e2e package;
each test gets a fresh browser context (own cookies and storage) and uses its
own demo accounts, so tests do not depend on each other's order. Screenshots go to
``test-artifacts/`` (gitignored); a failing test leaves ``test-artifacts/FAILED-<test>.png``.

The suite runs wherever ``/usr/bin/chromium`` exists (CI installs it) and is skipped,
with that reason, only where it does not. No browser is ever downloaded.

The fixtures are package-scoped, not session-scoped: Playwright's sync API keeps its own
event loop running while it is started, and the asynchronous tests that run after this
package need the thread free of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    STARTUP_TIMEOUT_S,
    TIMEOUT_MS,
    Server,
)
from tests.serverproc import running_demo


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m server.cli demo`` on a free port with a fresh data directory."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed; the e2e tests need the system Chromium")
    base = tmp_path_factory.mktemp("e2e-data")
    with running_demo(base, "--sweep-seconds", "0.5", timeout=STARTUP_TIMEOUT_S) as demo:
        yield Server(demo.url, demo.log_path)
    # Keep the server's log with the other artifacts: it explains a failing run.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-server.log").write_bytes(demo.log_path.read_bytes())


@pytest.fixture(scope="package")
def playwright_instance(server: Server) -> Iterator[Playwright]:
    """The Playwright driver (started after the server, so a skip skips both)."""
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Headless system Chromium."""
    instance = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield instance
    instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test item (for failure screenshots)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def open_context(
    browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserContext]]:
    """``open_context(base_url, **options)`` → a fresh browser context (own cookies,
    localStorage and sessionStorage) in Russian on Moscow time. Script errors and CSP
    violations in its pages fail the test; a failed test leaves each page as
    ``test-artifacts/FAILED-<test>-<n>.png``. The contexts are closed after the test."""
    made: list[BrowserContext] = []
    errors: list[str] = []

    def make(base_url: str, **options: Any) -> BrowserContext:
        ctx = browser.new_context(
            base_url=base_url, locale="ru-RU", timezone_id="Europe/Moscow", **options
        )
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.on("weberror", lambda error: errors.append(str(error.error)))
        # The pages run under a strict CSP (no inline scripts or styles): a violation is a bug.
        ctx.on(
            "console",
            lambda message: (
                errors.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        made.append(ctx)
        return ctx

    yield make
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        pages = [page for ctx in made for page in ctx.pages]
        for index, page in enumerate(pages):
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}-{index}.png"), full_page=True)
    for ctx in made:
        ctx.close()
    assert not errors, f"script errors or CSP violations in the pages: {errors}"


@pytest.fixture
def context(open_context: Callable[..., BrowserContext], server: Server) -> BrowserContext:
    """A fresh browser context of the package's server."""
    return open_context(server.url, viewport={"width": 1280, "height": 860})


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab of the test's context."""
    return context.new_page()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, "name")`` saves ``test-artifacts/name.png`` (the visible viewport)."""

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take
