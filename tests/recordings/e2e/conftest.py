"""The e2e fixtures of ``tests/e2e`` (a demo server subprocess, headless Chromium with a
fake camera) for the replay test: package-scoped, so this package gets its own server."""

from __future__ import annotations

from tests.e2e.conftest import browser, context, page, playwright_instance, server

__all__ = ["browser", "context", "page", "playwright_instance", "server"]
