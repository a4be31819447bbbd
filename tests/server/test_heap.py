"""The serving process's collector settings: startup heap frozen, fewer collections."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator

import pytest
from aiohttp import web

from server import heap


@pytest.fixture
def collector() -> Iterator[None]:
    """Put the test process's collector back as it was."""
    thresholds = gc.get_threshold()
    callbacks = list(gc.callbacks)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks


def test_settle_freezes_the_startup_heap_and_raises_the_thresholds(collector: None) -> None:
    gc.unfreeze()
    survivor = [object() for _ in range(1000)]
    heap.settle()
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold() == heap.THRESHOLDS
    assert sum(isinstance(c, heap.PauseWatch) for c in gc.callbacks) == 1
    heap.settle()  # idempotent: one watch only
    assert sum(isinstance(c, heap.PauseWatch) for c in gc.callbacks) == 1


def test_a_long_collection_is_logged_and_a_short_one_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = heap.PauseWatch()
    with caplog.at_level(logging.WARNING, logger="server.heap"):
        watch("start", {"generation": 0})
        watch("stop", {"generation": 0})
        assert watch.long_pauses == 0 and not caplog.records
        watch("start", {"generation": 2})
        time.sleep(heap.LONG_PAUSE + 0.02)
        watch("stop", {"generation": 2})
    assert watch.long_pauses == 1
    assert "generation 2" in caplog.records[0].getMessage()


async def test_a_serving_app_settles_after_its_own_startup(collector: None) -> None:
    order: list[str] = []

    async def own(app: web.Application) -> None:
        order.append("own")

    app = web.Application()
    app.on_startup.append(own)
    assert heap.serving_app(app) is app
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert order == ["own"]
        assert app.on_startup[-1] is heap.settle_on_startup
        assert gc.get_threshold() == heap.THRESHOLDS
    finally:
        await runner.cleanup()
