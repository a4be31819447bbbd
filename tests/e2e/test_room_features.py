"""The room's identity check, chat, files and monitoring in headless Chromium.

A demo server of its own runs with ``identity_check = required`` (the package's server
keeps the default, so the other learner tests start their tests freely). One browser,
two contexts: learner1 and the chair, with the fake camera and microphone.

The learner joins, takes the face, document and room-view pictures (the server takes them
from the live stream) and waits; the test link stays closed. The chair chooses the learner,
sees the three pictures and confirms; the learner's page says so and opens the test link
(B4.8-identity, B4.11-room-view). Messages go both ways and reach "read"; text is shown as
text, never as markup; a file (a referat) sent by the learner reaches the chair and
downloads byte for byte, and files of a refused type or size get clear errors
(B4.7-storage). The learner leaves the exam tabs for another program: the test tab and the
room tab both go hidden, and the chair's live list shows the ``tab_hidden`` interval start
and end; a manual flag appears there too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.helpers import ARTIFACTS, STARTUP_TIMEOUT_S, Server, log_in
from tests.serverproc import running_demo

pytestmark = pytest.mark.e2e

DEMO_TEST_ID = 1
ROOM = f"test-{DEMO_TEST_ID}"
LEARNER_NAME = "Слушатель 1"
MEDIA_TIMEOUT_MS = 25_000
REFERAT = "Реферат: организация рабочего места.\n".encode() * 20

# Test-only: make the page believe it went out of view (or came back), as when the learner
# switches to another program; the page's own listeners then react as in real use.
SET_HIDDEN = """
(hidden) => {
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""


@pytest.fixture(scope="module")
def gated_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo server with ``--identity-check required`` (after the package's server, so
    a missing Chromium skips this one too)."""
    base = tmp_path_factory.mktemp("e2e-gated")
    log_path: Path | None = None
    try:
        with running_demo(base, "--identity-check", "required", timeout=STARTUP_TIMEOUT_S) as demo:
            log_path = demo.log_path
            yield Server(demo.url, demo.log_path)
    finally:
        if log_path is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "e2e-gated-server.log").write_bytes(log_path.read_bytes())


@pytest.fixture
def new_context(
    open_context: Callable[..., BrowserContext], gated_server: Server
) -> Callable[[], BrowserContext]:
    """Browser contexts of the gated server with the fake devices allowed (the checks of
    :func:`tests.e2e.conftest.open_context` apply)."""

    def make() -> BrowserContext:
        ctx = open_context(
            gated_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        ctx.grant_permissions(["camera", "microphone"], origin=gated_server.url)
        return ctx

    return make


def _capture(learner: Page, kind: str) -> None:
    step = learner.locator(f'.identity-step[data-step="{kind}"]')
    # The first keyframe may still be on its way: the page says so; press again then.
    deadline = time.monotonic() + MEDIA_TIMEOUT_MS / 1000
    while True:
        step.locator(f'button[data-capture="{kind}"]').click()
        status = step.locator(".status-line")
        expect(status).not_to_have_text("Снимок делается…", timeout=MEDIA_TIMEOUT_MS)
        if status.text_content() == "Снимок сохранён.":
            break
        assert time.monotonic() < deadline, f"{kind}: {status.text_content()}"
        learner.wait_for_timeout(1000)
    expect(step).to_have_attribute("data-done", "true")


def _images_loaded(page: Page, selector: str, count: int) -> None:
    page.wait_for_function(
        f"() => {{ const imgs = [...document.querySelectorAll({selector!r})]; "
        f"return imgs.length >= {count} && imgs.every((i) => i.complete && i.naturalWidth > 0); }}"
    )


@pytest.mark.rule("B4.8-identity")
@pytest.mark.rule("B4.11-room-view")
@pytest.mark.rule("B4.7-storage")
def test_identity_check_chat_files_and_events(
    new_context: Callable[[], BrowserContext], shot: Callable[..., Path], tmp_path: Path
) -> None:
    learner_ctx = new_context()
    learner = learner_ctx.new_page()
    log_in(learner, "learner1")
    learner.goto(f"/rooms/{ROOM}")
    identity = learner.locator("#identity-check")
    expect(identity).to_be_visible()
    # identity_check = required: no way to the test before the commission's confirmation.
    expect(learner.locator("#test-link")).to_be_hidden()
    expect(learner.locator("#test-locked")).to_be_visible()
    expect(identity.locator('button[data-capture="face"]')).to_be_disabled()

    learner.get_by_role("button", name="Включить камеру и микрофон").click()
    learner.get_by_role("button", name="Войти в видеокомнату").click()
    expect(learner.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )
    expect(identity.locator('.identity-step[data-step="camera"] .step-state')).to_have_text(
        "Готово: комиссия видит и слышит вас."
    )
    for kind in ("face", "document", "room_view", "room_view"):
        _capture(learner, kind)
    _images_loaded(learner, "#identity-check .snapshot img", 4)
    expect(identity.locator('.identity-step[data-step="room_view"] .snapshot')).to_have_count(2)
    expect(learner.locator("#identity-status")).to_have_attribute("data-status", "pending")
    expect(learner.locator("#identity-status")).to_have_text(
        "Ожидание комиссии: она проверяет ваши снимки."
    )

    # The chair chooses the learner and reviews the pictures.
    chair = new_context().new_page()
    log_in(chair, "chair")
    chair.goto(f"/rooms/{ROOM}/commission")
    tile = chair.locator(".learner-tile").filter(
        has=chair.locator(".tile-name", has_text=re.compile(f"^{LEARNER_NAME}$"))
    )
    expect(tile).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    expect(tile).to_have_attribute("data-identity", "pending")
    tile.get_by_role("button", name=re.compile("^Выбрать")).click()
    review = chair.locator("#identity-review")
    expect(review.locator(".review-learner")).to_have_text(LEARNER_NAME)
    for kind, count in (("face", 1), ("document", 1), ("room_view", 2)):
        expect(review.locator(f'.review-group[data-kind="{kind}"] .snapshot')).to_have_count(count)
    _images_loaded(chair, "#identity-review .snapshot img", 4)
    # The commission takes a picture too (the server takes it from the learner's stream).
    review.locator('button[data-capture="room_view"]').click()
    expect(review.locator('.review-group[data-kind="room_view"] .snapshot')).to_have_count(3)
    expect(identity.locator('.identity-step[data-step="room_view"] .snapshot')).to_have_count(3)
    # A rejection needs a reason: the page says so before asking the server.
    review.get_by_role("button", name="Отклонить").click()
    expect(review.locator(".alert-error")).to_have_text(
        "Укажите в комментарии, почему личность не подтверждена."
    )
    review.locator("textarea").fill("Документ не читается")
    review.get_by_role("button", name="Отклонить").click()
    expect(tile).to_have_attribute("data-identity", "rejected")
    expect(learner.locator("#identity-status")).to_have_attribute("data-status", "rejected")
    expect(learner.locator("#identity-comment")).to_have_text(
        "Комментарий комиссии: Документ не читается"
    )
    expect(learner.locator("#test-link")).to_be_hidden()
    # The test itself refuses to start, and says why.
    early = learner_ctx.new_page()
    early.goto(f"/tests/{DEMO_TEST_ID}")
    expect(early.locator("#load-error-text")).to_contain_text(
        "Комиссия ещё не подтвердила вашу личность"
    )
    early.close()
    review.get_by_role("button", name="Подтвердить личность").click()
    expect(tile).to_have_attribute("data-identity", "confirmed")
    expect(review.locator(".identity-status")).to_have_text("Личность подтверждена")

    # The learner sees the decision, and the way to the test opens.
    expect(learner.locator("#identity-status")).to_have_attribute("data-status", "confirmed")
    expect(learner.locator("#identity-status")).to_have_text("Комиссия подтвердила вашу личность.")
    expect(learner.locator("#test-link")).to_be_visible()
    expect(learner.locator("#test-locked")).to_be_hidden()

    # Chat both ways, with the delivery state; markup stays text.
    text = "Здравствуйте! <b>можно</b> начинать?"
    learner_chat = learner.locator("#room-chat")
    learner_chat.locator("textarea").fill(text)
    learner_chat.get_by_role("button", name="Отправить", exact=True).click()
    chair_chat = chair.locator("#room-chat")
    incoming = chair_chat.locator(".chat-message.is-other").last
    expect(incoming.locator(".chat-text-body")).to_have_text(text)
    assert incoming.locator("b").count() == 0
    expect(learner_chat.locator(".chat-message.is-own").last).to_have_attribute(
        "data-state", "read"
    )
    expect(learner_chat.locator(".chat-message.is-own .chat-state").last).to_have_text("прочитано")
    chair_chat.locator("textarea").fill("Да, начинайте.")
    chair_chat.get_by_role("button", name="Отправить", exact=True).click()
    expect(learner_chat.locator(".chat-message.is-other .chat-text-body").last).to_have_text(
        "Да, начинайте."
    )
    expect(chair_chat.locator(".chat-message.is-own").last).to_have_attribute("data-state", "read")

    # Files: a referat reaches the chair; a refused type gets a clear error.
    referat = tmp_path / "referat.txt"
    referat.write_bytes(REFERAT)
    learner_chat.locator("input[type=file]").set_input_files(str(referat))
    learner_chat.get_by_role("button", name="Отправить файл").click()
    expect(learner_chat.locator(".chat-status")).to_have_text("Файл отправлен.")
    link = chair_chat.locator(".chat-attachment a").last
    expect(link).to_have_text("referat.txt")
    with chair.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == REFERAT
    program = tmp_path / "program.exe"
    program.write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 4)
    learner_chat.locator("input[type=file]").set_input_files(str(program))
    learner_chat.get_by_role("button", name="Отправить файл").click()
    expect(learner_chat.locator(".chat-error")).to_contain_text("Файлы этого типа не принимаются")
    # Over the demo's 10 MB limit: refused with the limit named, before it is stored.
    huge = tmp_path / "huge.pdf"
    huge.write_bytes(b"%PDF-1.4\n" + bytes(11 * 1024 * 1024))
    learner_chat.locator("input[type=file]").set_input_files(str(huge))
    learner_chat.get_by_role("button", name="Отправить файл").click()
    expect(learner_chat.locator(".chat-error")).to_have_text(
        "Файл не отправлен: Файл больше 10 МБ."
    )
    shot(learner, "room-learner-identity-chat", full_page=True)

    # The test opens; then the learner leaves both exam tabs for another program.
    with learner_ctx.expect_page() as opened:
        learner.locator("#test-link").click()
    test_page = opened.value
    expect(test_page.locator("#attempt")).to_be_visible(timeout=MEDIA_TIMEOUT_MS)
    row = chair.locator('#room-events tr[data-kind="tab_hidden"]')
    # Only the room tab out of view (the learner is on the test tab): nothing to report.
    # A negative needs a bounded wait: twice the pages' grace time of 1.5 s.
    learner.evaluate(SET_HIDDEN, True)
    chair.wait_for_timeout(3000)
    expect(row).to_have_count(0)
    # The test tab goes too: the learner is on neither exam tab.
    test_page.evaluate(SET_HIDDEN, True)
    expect(row).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    expect(row).to_have_attribute("data-open", "true")
    expect(row.locator("td").nth(0)).to_have_text(LEARNER_NAME)
    expect(row.locator("td").nth(4)).to_have_text("браузер")
    test_page.evaluate(SET_HIDDEN, False)
    expect(row).to_have_attribute("data-open", "false")
    expect(row.locator(".event-end")).not_to_be_empty()
    learner.evaluate(SET_HIDDEN, False)

    # A manual flag with a comment joins the list.
    chair.locator("#flag-comment").fill("Посторонний голос в помещении")
    chair.get_by_role("button", name="Отметить", exact=True).click()
    flag = chair.locator('#room-events tr[data-kind="manual_flag"]')
    expect(flag).to_have_count(1)
    expect(flag.locator(".event-comment")).to_have_text("Посторонний голос в помещении")
    shot(chair, "room-commission-review", full_page=True)

    # A reload comes back into the room with the thread's history and the decision.
    learner.reload()
    expect(learner.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )
    history = learner.locator("#room-chat .chat-message")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_have_attribute("data-state", "read")
    expect(history.nth(0).locator(".chat-text-body")).to_have_text(text)
    expect(history.nth(2).locator(".chat-attachment a")).to_have_text("referat.txt")
    expect(learner.locator("#identity-status")).to_have_attribute("data-status", "confirmed")
    expect(learner.locator("#identity-check .snapshot")).to_have_count(5)
    shot(test_page, "room-test-page")
