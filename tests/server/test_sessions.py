"""The per-process session cache: never past a session's expiry, forgotten at logout,
and a logout through one process ends the session for every process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from server.app import create_app
from server.sessions import SessionCache
from server.settings import Settings
from tests.seed import Seed

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def identity(hashed: str = "h1") -> Any:
    from server.sessions import Identity

    return Identity(1, "learner1", "learner", "", "csrf", hashed)


def test_a_cached_session_is_not_used_past_its_expiry() -> None:
    cache = SessionCache(seconds=60)
    cache.put(identity(), expires_at=NOW + timedelta(seconds=1))
    assert cache.get("h1", NOW) == identity()
    assert cache.get("h1", NOW + timedelta(seconds=1)) is None
    assert cache.get("h1", NOW) is None, "an expired entry is dropped, not kept"


def test_forget_drops_the_session_and_zero_seconds_disables_the_cache() -> None:
    cache = SessionCache(seconds=60)
    cache.put(identity(), expires_at=NOW + timedelta(hours=1))
    cache.forget("h1")
    assert cache.get("h1", NOW) is None
    off = SessionCache(seconds=0)
    off.put(identity(), expires_at=NOW + timedelta(hours=1))
    assert off.get("h1", NOW) is None


async def test_logout_in_one_process_ends_the_session_in_another_without_cache(
    app: web.Application, settings: Settings, seed: Seed, login: Any, aiohttp_client: Any
) -> None:
    learner = await login("learner1")
    other = await aiohttp_client(create_app(settings.replace(session_cache_seconds=0)))
    jar = learner.client.session.cookie_jar.filter_cookies(learner.client.make_url("/"))
    cookies = {name: morsel.value for name, morsel in jar.items()}
    async with other.get("/api/me", cookies=cookies) as resp:
        assert resp.status == 200
    status, _ = await learner.call("POST", "/api/logout")
    assert status == 200
    async with other.get("/api/me", cookies=cookies) as resp:
        assert resp.status == 401, "the other process asked the database again"
    status, _ = await learner.call("GET", "/api/me")
    assert status == 401, "the logging-out process forgot its cached entry at once"
