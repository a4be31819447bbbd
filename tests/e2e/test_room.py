"""A learner and the commission in one live room, in headless Chromium with fake devices.

One browser, two contexts (learner1 and the chair, each logged in through the form and
granted the fake camera and microphone). The learner checks the camera, joins and
publishes; the chair's grid shows the learner's thumbnail and states; the chair opens
the live view and the learner's video plays with frames advancing, while the learner
sees the chair's video playing too, and sound flows both ways (B4.4-two-way). A reload
of the learner's page comes back into the room by itself.

Connectivity: aiortc offers no 127.0.0.1 candidate, so the peers meet on this machine's
own interface addresses. Chromium gives its real host addresses (no mDNS ``.local``
names, which aiortc could not resolve) because the page holds the camera permission, so
the package's Chromium flags are enough.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.helpers import Server, log_in

pytestmark = pytest.mark.e2e

DEMO_TEST_ID = 1
ROOM = f"test-{DEMO_TEST_ID}"
LEARNER_NAME = "Слушатель 1"
CHAIR_NAME = "Сидоров Алексей Николаевич"
MEDIA_TIMEOUT_MS = 25_000

# Test-only instrumentation: remember the page's peer connections for getStats().
PC_PROBE = """
(() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  function Probe(...args) {
    const pc = new Native(...args);
    made.push(pc);
    return pc;
  }
  Probe.prototype = Native.prototype;
  Object.setPrototypeOf(Probe, Native);
  window.RTCPeerConnection = Probe;
  window.__examroomPeerConnections = made;
})();
"""

# Bytes of audio received by the page's open peer connections.
AUDIO_BYTES_IN = """
async () => {
  let total = 0;
  for (const pc of window.__examroomPeerConnections || []) {
    if (pc.connectionState === "closed") continue;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") total += r.bytesReceived || 0;
    });
  }
  return total;
}
"""

VIDEO_PROGRESS = """
(selector) => {
  const v = document.querySelector(selector);
  if (!v) return null;
  return { time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames };
}
"""

# Playing: not paused, has data, decodes 640x480, and both clock and frames moved on.
VIDEO_ADVANCED = """
([selector, before]) => {
  const v = document.querySelector(selector);
  if (!v || v.paused || v.readyState < 2 || v.videoWidth !== 640 || v.videoHeight !== 480) {
    return false;
  }
  const frames = v.getVideoPlaybackQuality().totalVideoFrames;
  return v.currentTime > before.time + 0.5 && frames >= before.frames + 8;
}
"""


@pytest.fixture
def new_context(
    open_context: Callable[..., BrowserContext], server: Server
) -> Callable[[], BrowserContext]:
    """Fresh browser contexts with the fake camera and microphone allowed and the
    peer-connection probe installed (the checks of
    :func:`tests.e2e.conftest.open_context` apply)."""

    def make() -> BrowserContext:
        ctx = open_context(server.url, viewport={"width": 1280, "height": 860})
        ctx.grant_permissions(["camera", "microphone"], origin=server.url)
        ctx.add_init_script(PC_PROBE)
        return ctx

    return make


# What the page's media is doing, for the message of a failed wait.
MEDIA_DIAGNOSIS = """
async (selector) => {
  const v = document.querySelector(selector);
  const out = {
    video: v && {
      paused: v.paused, muted: v.muted, readyState: v.readyState, time: v.currentTime,
      frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth,
      tracks: v.srcObject ? v.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}`) : null,
    },
    connections: [],
  };
  for (const pc of window.__examroomPeerConnections || []) {
    const rtp = [];
    if (pc.connectionState !== "closed") {
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" || r.type === "outbound-rtp") {
          rtp.push([r.type, r.kind, r.packetsReceived ?? r.packetsSent, r.framesDecoded,
                    r.keyFramesDecoded, r.pliCount, r.freezeCount]);
        }
      });
    }
    out.connections.push([pc.connectionState, rtp]);
  }
  return out;
}
"""


def _diagnosis(page: Page, selector: str) -> str:
    try:
        return repr(page.evaluate(MEDIA_DIAGNOSIS, selector))
    except Exception as exc:
        return f"(no diagnosis: {exc!r})"


def expect_video_playing(page: Page, selector: str) -> None:
    """The <video> plays: its clock and its decoded frames move on within the timeout."""
    try:
        page.wait_for_function(
            f"() => {{ const v = document.querySelector({selector!r}); return v && "
            "v.readyState >= 2 && v.getVideoPlaybackQuality().totalVideoFrames > 0; }",
            timeout=MEDIA_TIMEOUT_MS,
        )
        before: Any = page.evaluate(VIDEO_PROGRESS, selector)
        page.wait_for_function(VIDEO_ADVANCED, arg=[selector, before], timeout=MEDIA_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pytest.fail(f"{selector} on {page.url} is not playing: {_diagnosis(page, selector)}")


def expect_audio_arriving(page: Page) -> None:
    """The page's peer connections keep receiving audio (Opus) bytes."""
    before = page.evaluate(AUDIO_BYTES_IN)
    page.wait_for_function(
        f"async () => (await ({AUDIO_BYTES_IN})()) > {before} + 2000",
        timeout=MEDIA_TIMEOUT_MS,
        polling=250,
    )


def thumbnail_loaded(page: Page, tile_selector: str) -> str:
    """Wait for the tile's thumbnail to show a decoded JPEG; returns its URL."""
    img = f"{tile_selector} img.thumb"
    page.wait_for_function(
        f"() => {{ const i = document.querySelector({img!r}); "
        "return i && !i.hidden && i.complete && i.naturalWidth > 0; }",
        timeout=MEDIA_TIMEOUT_MS,
    )
    return str(page.eval_on_selector(img, "i => i.src"))


@pytest.mark.rule("B4.4-two-way")
def test_learner_and_commission_see_and_hear_each_other(
    new_context: Callable[[], BrowserContext], shot: Callable[..., Path]
) -> None:
    # The learner: from the personal account to the room, camera check, join.
    learner = new_context().new_page()
    log_in(learner, "learner1")
    learner.locator(f'.test-card[data-test-id="{DEMO_TEST_ID}"] a[href="/rooms/{ROOM}"]').click()
    learner.wait_for_url(f"**/rooms/{ROOM}")
    expect(learner.locator("h1")).to_have_text("Видеокомната")
    expect(learner.locator("#connection")).to_have_attribute("data-state", "idle")
    expect(learner.locator("#join-btn")).to_be_disabled()
    learner.get_by_role("button", name="Включить камеру и микрофон").click()
    expect(learner.locator("#join-btn")).to_be_enabled()
    expect_video_playing(learner, "#local-video")
    # The fake microphone beeps: the level meter moves.
    learner.wait_for_function(
        "() => document.getElementById('mic-meter').value > 0.02", timeout=MEDIA_TIMEOUT_MS
    )
    test_link = learner.locator("#test-link")
    expect(test_link).to_have_attribute("href", f"/tests/{DEMO_TEST_ID}")
    expect(test_link).to_have_attribute("target", "_blank")
    learner.get_by_role("button", name="Войти в видеокомнату").click()
    expect(learner.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )
    expect(learner.locator("#connection-text")).to_have_text(
        "Вы в видеокомнате: комиссия видит и слышит вас"
    )

    # The chair: the room link of the schedule leads to the commission's view.
    chair = new_context().new_page()
    log_in(chair, "chair")
    chair.locator(f'.test-card[data-test-id="{DEMO_TEST_ID}"] a[href="/rooms/{ROOM}"]').click()
    chair.wait_for_url(f"**/rooms/{ROOM}/commission")
    expect(chair.locator("h1")).to_have_text("Комиссия: видеокомната")
    expect(chair.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )

    # The grid: the learner's tile with live states and a thumbnail that refreshes.
    named = chair.locator(".learner-tile").filter(
        has=chair.locator(".tile-name", has_text=re.compile(f"^{LEARNER_NAME}$"))
    )
    expect(named).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    tile_selector = f'.learner-tile[data-participant="{named.get_attribute("data-participant")}"]'
    tile = chair.locator(tile_selector)
    expect(chair.locator("#learner-count")).to_have_text("1")
    expect(tile).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    expect(tile).to_have_attribute("data-video", "live", timeout=MEDIA_TIMEOUT_MS)
    expect(tile).to_have_attribute("data-audio", "live", timeout=MEDIA_TIMEOUT_MS)
    expect(tile.locator("img.thumb")).to_have_attribute("alt", f"Камера: {LEARNER_NAME}")
    first = thumbnail_loaded(chair, tile_selector)
    chair.wait_for_function(
        f"() => document.querySelector({tile_selector + ' img.thumb'!r}).src !== {first!r}",
        timeout=MEDIA_TIMEOUT_MS,
    )
    thumbnail_loaded(chair, tile_selector)
    shot(chair, "room-commission-grid", full_page=True)

    # The live view: the learner's video plays and their sound arrives.
    button = tile.get_by_role("button", name=f"Открыть видео в реальном времени: {LEARNER_NAME}")
    button.click()
    dialog = chair.locator("#live-dialog")
    expect(dialog).to_be_visible()
    expect(chair.locator("#live-title")).to_have_text(LEARNER_NAME)
    expect(chair.locator("#live-close")).to_be_focused()
    expect_video_playing(chair, "#live-video")
    assert chair.eval_on_selector("#live-video", "v => v.muted") is False
    expect_audio_arriving(chair)

    # Two-way: the learner sees and hears the chair.
    remote = learner.locator("#commission-videos .remote-tile")
    expect(remote).to_have_count(1, timeout=MEDIA_TIMEOUT_MS)
    expect(remote.locator(".remote-name")).to_contain_text(CHAIR_NAME)
    expect(learner.locator("#commission-empty")).to_be_hidden()
    expect_video_playing(learner, "#commission-videos video")
    expect_audio_arriving(learner)
    expect(learner.locator("#sound-actions")).to_be_hidden()
    assert learner.eval_on_selector("#commission-videos video", "v => v.muted") is False

    shot(learner, "room-learner", full_page=True)
    shot(chair, "room-commission-live")

    # Closing the live view stops receiving and gives the focus back to the tile.
    chair.locator("#live-close").click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    assert chair.eval_on_selector("#live-video", "v => v.srcObject") is None

    # A reload of the learner's page comes back into the room by itself.
    learner.reload()
    expect(learner.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=MEDIA_TIMEOUT_MS
    )
    expect(tile).to_have_attribute("data-connection", "connected", timeout=MEDIA_TIMEOUT_MS)
    thumbnail_loaded(chair, tile_selector)
    expect(learner.locator("#commission-videos .remote-tile")).to_have_count(
        1, timeout=MEDIA_TIMEOUT_MS
    )
    expect_video_playing(learner, "#commission-videos video")
