"""Logging in and out through the real server: errors, throttling, cookies, argon2id hashes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.appkeys import CLOCK, PASSWORDS, SESSIONS, SETTINGS
from server.middleware import SESSION_COOKIE
from server.users import Role, User, create_user
from tests.seed import PASSWORD, Seed

pytestmark = pytest.mark.rule("A2.2-login")


async def _login(client: TestClient[Any, Any], username: str, password: str) -> tuple[int, Any]:
    async with client.post("/api/login", json={"username": username, "password": password}) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_login_returns_the_user_and_a_csrf_token(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    status, body = await _login(client, "learner1", PASSWORD)
    assert status == 200, body
    assert body["user"] == {
        "id": seed.users["learner1"],
        "username": "learner1",
        "full_name": "Learner1",
        "role": "learner",
    }
    assert len(body["csrf_token"]) >= 20
    async with client.get("/api/me") as resp:
        me = await resp.json()
        assert resp.status == 200
    assert me["user"]["username"] == "learner1"
    assert me["csrf_token"] == body["csrf_token"]
    assert "server_time" in me


BAD_LOGINS = [
    ("bad password", "learner1", "wrong"),
    ("unknown user", "nobody", PASSWORD),
    ("other case", "LEARNER1", PASSWORD),
    ("empty password", "learner1", ""),
]
NOT_TWO_STRINGS: list[dict[str, Any]] = [
    {},
    {"username": "learner1"},
    {"username": 5, "password": "x"},
    {"username": "", "password": "x"},
    {"username": "learner1", "password": None},
]


async def test_bad_logins_get_one_and_the_same_error(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    for name, username, password in BAD_LOGINS:
        status, body = await _login(client, username, password)
        assert (status, body["error"]) == (401, "bad_credentials"), (name, body)
        assert body["message"] == "wrong username or password", name
        async with client.get("/api/me") as resp:
            assert resp.status == 401, name
    for sent in NOT_TWO_STRINGS:
        async with client.post("/api/login", json=sent) as resp:
            body = await resp.json()
            assert (resp.status, body["error"]) == (422, "invalid"), (sent, body)


async def test_throttling_locks_out_even_the_right_password_until_it_ends(
    client: TestClient[Any, Any], seed: Seed, app: web.Application
) -> None:
    settings = app[SETTINGS]
    for _ in range(settings.login_max_failures):
        status, body = await _login(client, "learner1", "wrong")
        assert status == 401, body
    status, body = await _login(client, "learner1", "wrong")
    assert (status, body["error"]) == (429, "throttled"), body
    assert 0 < body["retry_after"] <= settings.login_lockout_seconds
    status, body = await _login(client, "learner1", PASSWORD)
    assert status == 429, body
    # Another user from the same address is not locked out.
    status, body = await _login(client, "learner2", PASSWORD)
    assert status == 200, body
    # Just before the end the lockout still holds; after it the right password works.
    app[CLOCK].offset = timedelta(seconds=settings.login_lockout_seconds - 30)
    status, body = await _login(client, "learner1", PASSWORD)
    assert status == 429 and body["retry_after"] <= 30, body
    app[CLOCK].offset = timedelta(seconds=settings.login_lockout_seconds + 1)
    status, body = await _login(client, "learner1", PASSWORD)
    assert status == 200, body
    # Guesses sent in parallel are counted one by one: no more password checks than
    # login_max_failures, and never a 500.
    replies = await asyncio.gather(
        *(_login(client, "learner3", "wrong") for _ in range(settings.login_max_failures + 3))
    )
    statuses = Counter(status for status, _ in replies)
    assert statuses == {401: settings.login_max_failures, 429: 3}, replies
    status, body = await _login(client, "learner3", PASSWORD)
    assert status == 429, body
    # A success forgets the failures: one more failure does not lock again.
    status, body = await _login(client, "learner1", "wrong")
    assert status == 401, body
    status, body = await _login(client, "learner1", PASSWORD)
    assert status == 200, body


async def test_session_cookie_is_httponly_and_samesite_lax(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    async with client.post(
        "/api/login", json={"username": "learner1", "password": PASSWORD}
    ) as resp:
        assert resp.status == 200
        cookie = resp.cookies[SESSION_COOKIE]
        raw = ",".join(resp.headers.getall("Set-Cookie"))
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert "HttpOnly" in raw and "SameSite=Lax" in raw
    assert PASSWORD not in raw


async def test_logout_invalidates_the_cookie(
    client: TestClient[Any, Any], seed: Seed, login: Any, aiohttp_client: Any
) -> None:
    learner = await login("learner1")
    token = learner.client.session.cookie_jar.filter_cookies(learner.client.make_url("/"))[
        SESSION_COOKIE
    ].value
    status, _ = await learner.call("GET", "/api/me")
    assert status == 200
    status, body = await learner.call("POST", "/api/logout", headers={"X-CSRF-Token": "nope"})
    assert (status, body["error"]) == (403, "csrf"), "logout is a write: it needs the token"
    status, body = await learner.call("POST", "/api/logout")
    assert status == 200, body
    status, body = await learner.call("GET", "/api/me")
    assert (status, body["error"]) == (401, "unauthenticated")
    # Replaying the old cookie from another client does not revive the session.
    other = await aiohttp_client(client.server)
    async with other.get("/api/me", headers={"Cookie": f"{SESSION_COOKIE}={token}"}) as resp:
        assert resp.status == 401


async def test_me_is_401_without_a_valid_session(
    client: TestClient[Any, Any], seed: Seed, login: Any, app: web.Application
) -> None:
    for cookie in ("", "not-a-session", "x" * 500):
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
        async with client.get("/api/me", headers=headers) as resp:
            body = await resp.json()
            assert (resp.status, body["error"]) == (401, "unauthenticated"), cookie
    learner = await login("learner1")
    app[CLOCK].offset = timedelta(hours=app[SETTINGS].session_hours) - timedelta(seconds=30)
    assert (await learner.call("GET", "/api/me"))[0] == 200
    app[CLOCK].offset = timedelta(hours=app[SETTINGS].session_hours, seconds=1)
    status, body = await learner.call("GET", "/api/me")
    assert (status, body["error"]) == (401, "unauthenticated"), "the session has expired"


async def test_passwords_are_stored_as_argon2id(
    client: TestClient[Any, Any], seed: Seed, app: web.Application
) -> None:
    async with app[SESSIONS]() as db:
        await create_user(db, app[PASSWORDS], "newcomer", "s3cret-pw", Role.LEARNER)
        await db.commit()
        rows = await db.execute(select(User.username, User.password_hash))
        hashes = {username: stored for username, stored in rows}
    assert len(hashes) == len(seed.users) + 1
    for stored in hashes.values():
        assert stored.startswith("$argon2id$v=19$"), stored
        assert PASSWORD not in stored and "s3cret-pw" not in stored
    # The service hashes with argon2-cffi's default (RFC 9106 low-memory) parameters.
    assert hashes["newcomer"].split("$")[3] == "m=65536,t=3,p=4"
    status, body = await _login(client, "newcomer", "s3cret-pw")
    assert status == 200, body
