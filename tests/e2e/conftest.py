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

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HOST,
    REPO,
    STARTUP_TIMEOUT_S,
    TIMEOUT_MS,
    Server,
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/login", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m server.cli demo`` on a free port with a fresh data directory."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed; the e2e tests need the system Chromium")
    data_dir = tmp_path_factory.mktemp("e2e-data")
    log_path = data_dir / "server.log"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMROOM_")}
    env["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable,
        "-m",
        "server.cli",
        "demo",
        "--data-dir",
        str(data_dir),
        "--host",
        HOST,
        "--port",
        str(port),
        "--sweep-seconds",
        "0.5",
        "--log-level",
        "WARNING",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers(url):
            if proc.poll() is not None:
                pytest.fail(
                    f"the demo server exited with {proc.returncode}:\n{log_path.read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the demo server did not answer in time:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Server(url, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    # Keep the server's log with the other artifacts: it explains a failing run.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-server.log").write_bytes(log_path.read_bytes())


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
def context(
    browser: Browser, server: Server, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    """A fresh browser context: own cookies, localStorage and sessionStorage."""
    ctx = browser.new_context(
        base_url=server.url,
        viewport={"width": 1280, "height": 860},
        locale="ru-RU",
        timezone_id="Europe/Moscow",
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
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
    yield ctx
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for index, page in enumerate(ctx.pages):
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}-{index}.png"), full_page=True)
    ctx.close()
    assert not errors, f"script errors or CSP violations in the pages: {errors}"


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
