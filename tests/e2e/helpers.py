"""Constants and helpers of the end-to-end tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 90.0
DEMO_PASSWORD = "demo"
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Server:
    """The running demo server."""

    url: str
    log: Path


def log_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form and wait for the landing page."""
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(account|instructor)$"))
