"""Shared fixtures: settings per database backend, a real app on a real socket, seed data.

Tests that take ``backend`` (directly or through ``settings``/``client``) run once on a
SQLite file and once on the real PostgreSQL at 127.0.0.1:5432 (database ``test``), each
in a schema of its own. PostgreSQL is skipped when unreachable, except under CI=true,
where its absence fails the run: CI must prove both backends.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.appkeys import CLOCK, PASSWORDS, SESSIONS
from server.settings import Settings
from tests.seed import PASSWORD, Seed, seed_basic
from tests.serverproc import Clients

PG_URL = os.environ.get("EXAMROOM_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this run of the test."""
    if request.param == "postgresql" and not _pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable; CI must test it")
        pytest.skip("PostgreSQL is not reachable")
    return str(request.param)


async def _pg_schema(action: str, schema: str) -> None:
    import asyncpg

    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        if action == "create":
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings of a fresh database on the chosen backend."""
    base = Settings(data_dir=tmp_path / "data", sweep_seconds=0.2, web_dir=REPO / "web")
    if backend == "sqlite":
        yield base
        return
    schema = "t_" + secrets.token_hex(6)
    asyncio.run(_pg_schema("create", schema))
    try:
        yield base.replace(database_url=PG_URL, database_schema=schema)
    finally:
        asyncio.run(_pg_schema("drop", schema))


@pytest.fixture
def app(settings: Settings) -> web.Application:
    """The application, not yet started."""
    return create_app(settings)


@pytest.fixture
async def client(app: web.Application, aiohttp_client: Any) -> TestClient[Any, Any]:
    """A real HTTP client against the app on a real 127.0.0.1 socket."""
    return await aiohttp_client(app)


@pytest.fixture
async def seed(client: TestClient[Any, Any]) -> Seed:
    """A program with three sections, an approved bank, a group, a test, learners and staff."""
    app = client.server.app
    async with app[SESSIONS]() as db:
        return await seed_basic(db, app[PASSWORDS], app[CLOCK].now())


@dataclass
class Session:
    """A logged-in API client: remembers the CSRF token and sends it on writes."""

    client: TestClient[Any, Any]
    csrf: str = ""
    user: dict[str, Any] = field(default_factory=dict)

    async def call(
        self, method: str, path: str, json: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        """Call the API; returns the status and the decoded JSON body."""
        headers = kwargs.pop("headers", {})
        if method != "GET":
            headers.setdefault("X-CSRF-Token", self.csrf)
        async with self.client.request(method, path, json=json, headers=headers, **kwargs) as resp:
            body = (
                await resp.json(content_type=None)
                if resp.content_type == "application/json"
                else await resp.text()
            )
            return resp.status, body


@pytest.fixture
def login(client: TestClient[Any, Any], aiohttp_client: Any) -> Any:
    """``await login("learner1")`` → a :class:`Session` with its own cookie jar."""

    async def do(username: str, password: str = PASSWORD) -> Session:
        own = await aiohttp_client(client.server)
        async with own.post(
            "/api/login", json={"username": username, "password": password}
        ) as resp:
            body = await resp.json()
            assert resp.status == 200, body
        return Session(own, body["csrf_token"], body["user"])

    return do


@pytest.fixture
async def clients(client: TestClient[Any, Any]) -> AsyncIterator[Clients]:
    """Logged-in API clients and socket.io clients of the test's server, closed at the end."""
    opened = Clients(f"http://{client.host}:{client.port}")
    try:
        yield opened
    finally:
        await opened.close()
