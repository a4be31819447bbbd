"""End to end: a learner's fake camera in Chromium is recorded by the demo server, and an
auditor replays it: clicking a timeline event seeks the video there, playback advances."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import DEMO_PASSWORD, Server
from tests.proctor.test_signaling import ProctorSocket
from tests.serverproc import Api

pytestmark = pytest.mark.e2e

ROOM = "test-1"
MEDIA_TIMEOUT_MS = 30_000


def _log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(account|instructor)$"))


def _in_thread(job: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on its own loop in a thread (Playwright's sync API owns this one)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(job()))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    if errors:
        raise errors[0]
    return result[0]


def _flag_learner(server: Server) -> None:
    """The chair flags learner1 through the real /proctor socket."""

    async def job() -> None:
        learner = await Api(server.url).login("learner1", DEMO_PASSWORD)
        _, me = await learner.call("GET", "/api/me")
        await learner.close()
        chair = await Api(server.url).login("chair", DEMO_PASSWORD)
        sock = await ProctorSocket(server.url, chair.cookie).connect()
        try:
            joined = await sock.call("join", {"room": ROOM})
            assert joined.get("ok") is True, joined
            flagged = await sock.call(
                "flag",
                {"room": ROOM, "learner": me["user"]["id"], "state": "start", "comment": "e2e"},
            )
            assert flagged.get("kind") == "manual_flag", flagged
        finally:
            await sock.close()
            await chair.close()

    _in_thread(job)


def test_recording_of_the_fake_camera_is_replayed_and_seeks_to_an_event(
    browser: Browser, server: Server
) -> None:
    learner_ctx = browser.new_context(base_url=server.url)
    learner = learner_ctx.new_page()
    _log_in(learner, "learner1")
    learner.goto(f"/rooms/{ROOM}")
    learner.get_by_role("button", name="Включить камеру и микрофон").click()
    learner.get_by_role("button", name="Войти в видеокомнату").click()
    expect(learner.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )
    time.sleep(3)  # recording the fake camera
    _flag_learner(server)
    time.sleep(3)
    learner.locator("#leave-btn").click()
    learner_ctx.close()

    auditor_ctx = browser.new_context(base_url=server.url, locale="ru-RU")
    auditor = auditor_ctx.new_page()
    _log_in(auditor, "auditor")
    # The sealing runs right after the leave: reload until the video is listed.
    deadline = time.monotonic() + 20
    while True:
        auditor.goto(f"/recordings/{ROOM}")
        expect(auditor.locator("#replay-app")).to_have_attribute("data-ready", "true")
        if auditor.locator("video").count() > 0:
            break
        assert time.monotonic() < deadline, "no recording appeared"
        time.sleep(0.5)
    expect(auditor.locator("h1")).to_have_text("Просмотр записи сеанса")
    flag = auditor.locator('.timeline-item[data-kind="monitoring"]')
    expect(flag).to_have_count(1)
    offset = float(flag.get_attribute("data-offset") or "nan")
    # The learner leaves last (the commission's watcher left right after flagging).
    leave = auditor.locator('.timeline-item[data-kind="leave"]').last
    end = float(leave.get_attribute("data-offset") or "nan")
    assert 2.0 < offset < end - 1.0, (offset, end)
    video = auditor.locator("video").first
    auditor.wait_for_function(
        "(v) => v.readyState >= 1", arg=video.element_handle(), timeout=MEDIA_TIMEOUT_MS
    )
    flag.click()
    auditor.wait_for_function(
        "([v, t]) => Math.abs(v.currentTime - t) < 0.5",
        arg=[video.element_handle(), offset],
        timeout=MEDIA_TIMEOUT_MS,
    )
    auditor.locator("#speed").select_option("2")
    auditor.locator("#play-btn").click()
    auditor.wait_for_function(
        "([v, t]) => v.currentTime > t + 0.8 && v.playbackRate === 2",
        arg=[video.element_handle(), offset],
        timeout=MEDIA_TIMEOUT_MS,
    )
    auditor_ctx.close()
