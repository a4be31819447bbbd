"""The database: declarative base, engine per settings, sessions, migrations on start."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from aiohttp import web
from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from server.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every examroom table."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, stored naive in UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as naive UTC; refuse naive input, which is always a bug here."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC again."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def make_engine(settings: Settings) -> AsyncEngine:
    """An async engine for the configured database, with SQLite in WAL mode."""
    url = settings.db_url
    kwargs: dict[str, Any] = {}
    # A fixed pool with a short wait: past it the request gets 503 busy (see
    # server.middleware) instead of queueing beyond the client's patience, and no overflow
    # connections are opened and closed under load (a thread and four PRAGMAs each).
    kwargs.update(pool_size=settings.db_pool_size, max_overflow=0)
    kwargs["pool_timeout"] = settings.db_pool_timeout
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    elif url.startswith("postgresql") and settings.database_schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": settings.database_schema}}
    if url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        synchronous = settings.sqlite_synchronous.upper()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    # "heads": independent migration branches (one per domain) apply side by side.
    command.upgrade(cfg, "heads")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration not yet applied."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
    log.info("database schema is at the latest migration")


T = TypeVar("T")
#: How often the writer's checkpointer copies the WAL into the database file.
CHECKPOINT_SECONDS = 1.0

#: A unit of work for the writer: runs in its thread on its connection, inside a savepoint.
WriteOp = Callable[[sqlite3.Connection], T]
#: A read for :meth:`SqliteWriter.read`: statements that only read, everything fetched before
#: it returns; it may run twice (once more through the writer when the reader is busy).
ReadOp = Callable[[sqlite3.Connection], T]
#: How long a read on the event loop waits for a lock before the writer takes it over (ms).
READ_BUSY_MS = 5


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: a lock that would have to be waited for."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class SqliteReader:
    """A read-only connection for point reads that must not wait for a group commit.

    In WAL mode a reader never waits for the writer: it reads the last committed snapshot
    while a write transaction is open and while its commit syncs. That snapshot is exactly
    what a caller needs, since whatever it depends on was committed before a reply went
    out. The connection is ``query_only`` and in autocommit mode; each read is one
    ``BEGIN`` … ``COMMIT``, so several statements see one snapshot and no read transaction
    stays open between reads (an open one would pin the WAL and hold checkpoints back).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._con: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection | None:
        """The open connection, or None before :meth:`open` and after :meth:`close`."""
        return self._con

    def open(self) -> None:
        """Open the connection (any thread; it is then used on the event loop)."""
        con = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA query_only=ON")
        con.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
        self._con = con

    def close(self) -> None:
        """Close the connection; reads then go to the writer."""
        con, self._con = self._con, None
        if con is not None:
            con.close()

    def read(self, fn: ReadOp[T]) -> T:
        """``fn(connection)`` in one read transaction; sqlite3 errors are raised as they are."""
        con = self._con
        if con is None:
            raise sqlite3.ProgrammingError("the reader is closed")
        con.execute("BEGIN")
        try:
            result = fn(con)
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return result


@dataclass
class _Pending(Generic[T]):
    op: WriteOp[T]
    done: asyncio.Future[T] = field(
        repr=False, default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SqliteWriter:
    """The process's one SQLite write connection, with group commit.

    SQLite has one write lock per file. Pooled connections that all write queue on it in
    the busy handler, which sleeps and retries (a convoy: under load most of the time goes
    to sleeping, and a transaction holds the lock across several thread hops). Here the
    hot-path writes of a process (answer saves, new attempts, submissions, logins) are
    queued in-process and written on one connection: everything queued while a commit
    runs goes into the next transaction, one WAL sync for the whole batch. Each
    operation runs in its own savepoint, so one refused by a constraint does not undo the
    others. Across processes the busy handler still arbitrates, batch by batch.

    The WAL is checkpointed off the write path: SQLite's automatic checkpoint runs in
    the commit that crosses 1000 pages, copying the WAL into the database and syncing it
    while every queued save waits (hundreds of milliseconds under load). The writer's
    connection has it off; a checkpointer thread with its own connection runs a PASSIVE
    checkpoint every :data:`CHECKPOINT_SECONDS`, which never blocks the writer.

    Reads that need no write lock go through :meth:`read` instead of :meth:`run`: a
    :class:`SqliteReader` opened and closed with the writer answers them at once from the
    last commit, instead of in the next batch after a WAL sync.
    """

    def __init__(self, path: str, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous.upper()
        self._queue: asyncio.Queue[_Pending[Any]] = asyncio.Queue()
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._con: sqlite3.Connection | None = None
        self._lock: BinaryIO | None = None
        self._task: asyncio.Task[None] | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop = threading.Event()
        self.reader = SqliteReader(path)
        self.batches = 0
        self.checkpoints = 0
        self.read_fallbacks = 0

    async def start(self) -> None:
        """Open the connection in the writer's thread and start taking work."""
        self._thread = concurrent.futures.ThreadPoolExecutor(1, "sqlite-writer")
        loop = asyncio.get_running_loop()
        self._con = await loop.run_in_executor(self._thread, self._connect)
        # After the writer's connection: the database is in WAL mode by then.
        await loop.run_in_executor(self._thread, self.reader.open)
        self._task = asyncio.create_task(self._run(), name="sqlite-writer")
        self._stop.clear()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """PASSIVE checkpoints on their own connection until the writer closes."""
        con = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            con.execute(f"PRAGMA synchronous={self._synchronous}")
            while not self._stop.wait(CHECKPOINT_SECONDS):
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy with another process's checkpoint
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        self._lock = open(f"{self._path}-writer.lock", "a+b")  # noqa: SIM115 (closed in close())
        con = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={self._synchronous}")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA wal_autocheckpoint=0")  # see the class: the checkpointer does it
        return con

    async def close(self) -> None:
        """Write what is queued, then close the connection."""
        if self._checkpointer is not None:
            self._stop.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.reader.close()  # first: the writer's connection closes last, checkpointing
        if self._thread is not None:
            con = self._con
            if con is not None:
                await asyncio.get_running_loop().run_in_executor(self._thread, con.close)
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            self._thread.shutdown(wait=True)
            self._thread, self._con = None, None

    async def run(self, op: WriteOp[T]) -> T:
        """Run ``op(connection)`` in the next group commit; returns once it is committed.

        An exception raised by ``op`` undoes only its own savepoint and is raised here; a
        failed commit is raised to every operation of the batch (none of them happened).
        """
        pending: _Pending[T] = _Pending(op)
        await self._queue.put(pending)
        return await pending.done

    async def read(self, fn: ReadOp[T]) -> T:
        """``fn(connection)`` on the reader, seeing what is committed; no commit is awaited.

        It runs on the event loop, without a thread hop: the reads given here are point
        reads by key (tens of microseconds), and a WAL reader does not wait for the writer,
        so the loop is not held up by writes. Should the reader meet a lock anyway (the WAL
        index being rebuilt after a crash, a connection in exclusive locking mode), it
        waits at most :data:`READ_BUSY_MS`, then ``fn`` runs in the writer's next batch as
        through :meth:`run`, so a read never fails for being busy.
        ``fn`` must only read (the reader is ``query_only``) and fetch all it returns.
        """
        if self.reader.connection is not None:
            try:
                return self.reader.read(fn)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                self.read_fallbacks += 1
                log.debug("SQLite read busy, through the writer instead: %s", exc)
        return await self.run(fn)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                try:
                    outcomes = await self._write(batch)
                except Exception as exc:  # nothing of the batch was committed
                    outcomes = [(False, exc)] * len(batch)
                else:
                    self.batches += 1
                for pending, (ok, value) in zip(batch, outcomes, strict=True):
                    if pending.done.done():
                        continue
                    if ok:
                        pending.done.set_result(value)
                    else:
                        pending.done.set_exception(value)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Pending[Any]]) -> list[tuple[bool, Any]]:
        """One transaction for the batch.

        Only the waits go to the writer's thread: taking the write lock (another process
        may hold it) and the commit (the WAL sync). The statements themselves run here,
        on the event loop: they take microseconds each, while in a thread every statement
        hands the GIL back and forth with a busy event loop and waits up to the switch
        interval (5 ms) to get it back — hundreds of times per batch.
        """
        con = self._con
        assert con is not None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._begin)
        try:
            outcomes = self._apply(con, batch)
            await loop.run_in_executor(self._thread, self._end, "COMMIT")
        except BaseException:
            await asyncio.shield(loop.run_in_executor(self._thread, self._end, "ROLLBACK"))
            raise
        return outcomes

    def _begin(self) -> None:
        # The writers of other processes queue on a file lock, which wakes the next one
        # the moment it is released; SQLite's busy handler would sleep 1, 2, 5 … 100 ms
        # between retries and mostly find the lock taken again.
        assert self._con is not None and self._lock is not None
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._con.execute("BEGIN IMMEDIATE")
        except BaseException:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            raise

    def _end(self, how: str) -> None:
        assert self._con is not None and self._lock is not None
        try:
            if how == "COMMIT" or self._con.in_transaction:
                self._con.execute(how)
        finally:
            if not self._con.in_transaction:
                fcntl.flock(self._lock, fcntl.LOCK_UN)

    @staticmethod
    def _apply(con: sqlite3.Connection, batch: list[_Pending[Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        for pending in batch:
            con.execute("SAVEPOINT op")
            try:
                outcomes.append((True, pending.op(con)))
            except Exception as exc:
                con.execute("ROLLBACK TO op")
                outcomes.append((False, exc))
            con.execute("RELEASE op")
        return outcomes


#: The SQLite writer of this process; absent on PostgreSQL, whose row locks and MVCC let
#: pooled connections write side by side.
WRITER = web.AppKey("sqlite_writer", SqliteWriter)


def make_writer(engine: AsyncEngine, settings: Settings) -> SqliteWriter | None:
    """The process's SQLite writer for this engine, or None on other backends."""
    if engine.url.get_backend_name() != "sqlite" or not engine.url.database:
        return None
    return SqliteWriter(engine.url.database, settings.sqlite_synchronous)


def sqlite_time(value: datetime) -> str:
    """A UTC datetime as :class:`UTCDateTime` stores it on SQLite (naive, SQLAlchemy's text)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def from_sqlite_time(value: str) -> datetime:
    """A :class:`UTCDateTime` column read through plain sqlite3: aware UTC again."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
