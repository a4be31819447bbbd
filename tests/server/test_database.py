"""The database layer under pressure: pool exhaustion is a clear 503, the SQLite writer
isolates a refused operation from the rest of its group commit, and reads on SQLite see
the last commit without waiting for the next one."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from server.appkeys import ENGINE
from server.database import WRITER, SqliteWriter
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


@pytest.fixture
async def sqlite_writer(tmp_path: Path) -> AsyncIterator[SqliteWriter]:
    """A started writer on a fresh file, with a table ``probe`` holding row 1."""
    writer = SqliteWriter(str(tmp_path / "reads.sqlite3"), "NORMAL")
    await writer.start()
    try:
        await writer.run(lambda con: con.execute("CREATE TABLE probe (k INTEGER PRIMARY KEY, v)"))
        await writer.run(lambda con: con.execute("INSERT INTO probe VALUES (1, 'one')"))
        yield writer
    finally:
        await writer.close()


def _rows(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT k, v FROM probe ORDER BY k").fetchall()


async def test_a_read_sees_what_is_committed_without_a_batch(
    sqlite_writer: SqliteWriter,
) -> None:
    writer = sqlite_writer
    batches = writer.batches
    assert await writer.read(_rows) == [(1, "one")]
    await writer.run(lambda con: con.execute("UPDATE probe SET v = 'uno' WHERE k = 1"))
    assert await writer.read(_rows) == [(1, "uno")], "the next read sees the new commit"
    assert writer.batches == batches + 1, "only the write took a batch"
    assert writer.read_fallbacks == 0


async def test_a_read_neither_waits_for_a_commit_nor_sees_it_early(
    sqlite_writer: SqliteWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = sqlite_writer
    applied = asyncio.Event()
    release = threading.Event()
    end = writer._end

    def slow_end(how: str) -> None:  # a commit whose WAL sync takes as long as the test
        if how == "COMMIT":
            release.wait(10)
        end(how)

    monkeypatch.setattr(writer, "_end", slow_end)

    def insert(con: sqlite3.Connection) -> int:
        con.execute("INSERT INTO probe VALUES (2, 'two')")
        applied.set()
        return 2

    pending = asyncio.create_task(writer.run(insert))
    try:
        await asyncio.wait_for(applied.wait(), 5)
        # The batch holds the write lock and its row; its commit has not finished.
        rows = await asyncio.wait_for(writer.read(_rows), 1)
        assert rows == [(1, "one")], "an uncommitted row is not read"
        assert not pending.done(), "the read did not wait for the commit"
        assert writer.read_fallbacks == 0
    finally:
        release.set()
    assert await pending == 2
    assert await writer.read(_rows) == [(1, "one"), (2, "two")]


class _LockedConnection(sqlite3.Connection):
    """A connection whose reads find the database locked."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.lstrip().upper().startswith("SELECT"):
            raise sqlite3.OperationalError("database is locked")
        return super().execute(sql, *args)


async def test_a_busy_read_is_answered_through_the_writer(
    sqlite_writer: SqliteWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = sqlite_writer
    locked = sqlite3.connect(
        str(tmp_path / "reads.sqlite3"),
        isolation_level=None,
        check_same_thread=False,
        factory=_LockedConnection,
    )
    monkeypatch.setattr(writer.reader, "_con", locked)
    try:
        batches = writer.batches
        assert await writer.read(_rows) == [(1, "one")]
        assert writer.read_fallbacks == 1
        assert writer.batches == batches + 1, "the read went into a batch"
        assert not locked.in_transaction, "the failed read left no transaction open"
    finally:
        locked.close()


async def test_a_read_that_fails_otherwise_is_not_retried(sqlite_writer: SqliteWriter) -> None:
    writer = sqlite_writer
    batches = writer.batches
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await writer.read(lambda con: con.execute("SELECT * FROM absent").fetchall())
    # The reader is query_only: a write handed to it is refused, not passed to the writer.
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await writer.read(lambda con: con.execute("DELETE FROM probe"))
    assert writer.batches == batches and writer.read_fallbacks == 0
    assert await writer.read(_rows) == [(1, "one")]


async def test_the_reader_holds_no_snapshot_between_reads(
    sqlite_writer: SqliteWriter, tmp_path: Path
) -> None:
    writer = sqlite_writer
    path = str(tmp_path / "reads.sqlite3")

    def truncate() -> tuple[int, int]:
        """Whether a TRUNCATE checkpoint was kept from finishing, and the WAL's size after."""
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=200")
            busy = int(con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])
        finally:
            con.close()
        return busy, Path(f"{path}-wal").stat().st_size

    def failing(con: sqlite3.Connection) -> None:
        _rows(con)
        raise ValueError("after reading")

    for _ in range(3):
        assert await writer.read(_rows) == [(1, "one")]
    with pytest.raises(ValueError):
        await writer.read(failing)
    reader = writer.reader.connection
    assert reader is not None and not reader.in_transaction
    await writer.run(lambda con: con.execute("INSERT INTO probe VALUES (2, 'two')"))
    assert await asyncio.to_thread(truncate) == (0, 0), "no read transaction pins the WAL"
    # The check does notice a connection left inside a read transaction.
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN")
        _rows(holder)
        await writer.run(lambda con: con.execute("INSERT INTO probe VALUES (3, 'three')"))
        busy, _ = await asyncio.to_thread(truncate)
        assert busy == 1, "an open read transaction holds the checkpoint back"
    finally:
        holder.close()


async def test_the_reader_opens_and_closes_with_the_writer(tmp_path: Path) -> None:
    writer = SqliteWriter(str(tmp_path / "reads.sqlite3"), "NORMAL")
    assert writer.reader.connection is None
    await writer.start()
    reader = writer.reader.connection
    assert reader is not None
    assert reader.execute("PRAGMA query_only").fetchone() == (1,)
    assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    await writer.close()
    assert writer.reader.connection is None
    with pytest.raises(sqlite3.ProgrammingError):
        reader.execute("SELECT 1")
