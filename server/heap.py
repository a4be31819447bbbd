"""The server process's heap and Python's cyclic garbage collector.

A full (generation 2) collection walks every object the process holds: the imported
libraries, the ORM's metadata, aiortc, templates, every session and socket. Measured on
the 2-core benchmark machine under the synchronized start of 2 000 learners, such a
collection paused a worker's event loop for 130–380 ms, several times in the first
seconds (every request in flight waits for it), because the burst creates many
long-lived objects at once, which is what triggers full collections.

So a serving process, once started, collects what is garbage and then freezes the
survivors (``gc.freeze``: the startup heap moves to a permanent generation that
collections skip), and collects less often: the young generation at 10 000 net
allocations instead of 700, the middle one every 20 young collections, the full one every
100 middle collections (and, as before, only when the long-lived objects grew by a
quarter). Reference cycles are still collected, only in fewer, larger young passes; what
is frozen is what a server keeps for its whole life anyway. Test processes, which build
and drop many applications, keep the default collector (:func:`settle` runs only from
the ``serve`` entry points).
"""

from __future__ import annotations

import gc
import logging
import time

from aiohttp import web

log = logging.getLogger(__name__)

#: (young, middle, old) thresholds of a serving process (CPython's default: 700, 10, 10).
THRESHOLDS = (5_000, 10, 100)
#: A collection that holds the event loop at least this long is logged (seconds).
LONG_PAUSE = 0.1


class PauseWatch:
    """Logs collections that pause the process for :data:`LONG_PAUSE` or more."""

    def __init__(self) -> None:
        self._started = 0.0
        self.long_pauses = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        if pause >= LONG_PAUSE:
            self.long_pauses += 1
            log.warning(
                "garbage collection of generation %d paused the process for %.0f ms",
                info.get("generation", -1),
                pause * 1000,
            )


def settle() -> float:
    """Collect, freeze the survivors and raise the thresholds; returns the seconds taken."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    if not any(isinstance(callback, PauseWatch) for callback in gc.callbacks):
        gc.callbacks.append(PauseWatch())
    return time.perf_counter() - started


async def settle_on_startup(app: web.Application) -> None:
    """An ``on_startup`` handler (appended last, after the application's own startup)."""
    seconds = settle()
    log.info(
        "heap settled in %.0f ms: %d objects frozen, collector thresholds %s",
        seconds * 1000,
        gc.get_freeze_count(),
        THRESHOLDS,
    )


def serving_app(app: web.Application) -> web.Application:
    """``app`` with :func:`settle_on_startup` as its last startup step."""
    app.on_startup.append(settle_on_startup)
    return app
