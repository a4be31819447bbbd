"""The database layer under pressure: pool exhaustion is a clear 503, the SQLite writer
isolates a refused operation from the rest of its group commit."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from server.appkeys import ENGINE
from server.database import WRITER
from server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One pooled connection, given up on quickly."""
    return settings.replace(db_pool_size=1, db_pool_timeout=0.2)


async def test_no_free_connection_is_503_busy_with_retry_after(
    app: web.Application, seed: Any, login: Any
) -> None:
    learner = await login("learner1")
    status, _ = await learner.call("GET", "/api/tests")
    assert status == 200
    async with app[ENGINE].connect() as held:  # the pool's only connection
        await held.execute(text("SELECT 1"))
        async with learner.client.get("/api/tests") as resp:
            body = await resp.json()
            assert resp.status == 503, body
            assert body["error"] == "busy", body
            assert resp.headers["Retry-After"] == "2"
    status, _ = await learner.call("GET", "/api/tests")
    assert status == 200, "the pool recovers once the connection is back"


async def test_a_refused_write_leaves_the_rest_of_its_batch(
    app: web.Application, backend: str, client: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("the group-commit writer exists on SQLite only")
    writer = app[WRITER]
    await writer.run(lambda con: con.execute("CREATE TABLE probe (k INTEGER PRIMARY KEY)"))

    def writer_insert(key: int) -> Any:
        def op(con: sqlite3.Connection) -> int:
            con.execute("INSERT INTO probe (k) VALUES (?)", (key,))
            if key == 2:  # a second row in the same savepoint, then a violation
                con.execute("INSERT INTO probe (k) VALUES (?)", (1,))
            return key

        return op

    before = writer.batches
    outcomes = await asyncio.gather(
        *(writer.run(writer_insert(key)) for key in (1, 2, 3)), return_exceptions=True
    )
    assert outcomes[0] == 1 and outcomes[2] == 3, outcomes
    assert isinstance(outcomes[1], sqlite3.IntegrityError), outcomes
    assert writer.batches - before == 1, "the three operations shared one commit"
    rows = await writer.run(lambda con: con.execute("SELECT k FROM probe ORDER BY k").fetchall())
    assert rows == [(1,), (3,)], "operation 2 was undone as a whole, the others kept"


async def test_the_wal_is_checkpointed_off_the_write_path(
    app: web.Application, backend: str, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "sqlite":
        pytest.skip("the group-commit writer exists on SQLite only")
    writer = app[WRITER]
    # The writer's own commits never checkpoint (that would stall every queued save).
    autocheckpoint = await writer.run(
        lambda con: con.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    )
    assert autocheckpoint == 0
    await writer.run(lambda con: con.execute("CREATE TABLE probe (k INTEGER PRIMARY KEY, v)"))
    for start in range(0, 3000, 500):
        await writer.run(
            lambda con, start=start: con.executemany(
                "INSERT INTO probe VALUES (?, ?)",
                [(k, "x" * 500) for k in range(start, start + 500)],
            )
        )
    done = writer.checkpoints
    for _ in range(100):  # the checkpointer runs every second
        if writer.checkpoints > done:
            break
        await asyncio.sleep(0.05)
    assert writer.checkpoints > done, "the checkpointer did not run"
    assert (
        await writer.run(lambda con: con.execute("SELECT count(*) FROM probe").fetchone()[0])
        == 3000
    )
