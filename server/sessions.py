"""Server-side login sessions and login throttling.

The cookie carries a random token; the database keeps only its SHA-256, so a leaked
database does not leak live sessions. Sessions live in the database so that every
process and node sees them and a restart logs nobody out.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.database import (
    Base,
    SqliteWriter,
    UTCDateTime,
    from_sqlite_time,
    sqlite_time,
)
from server.users import User


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(Base):
    """One logged-in browser or API client."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remote: Mapped[str] = mapped_column(String(64), default="")


class LoginFailure(Base):
    """Failed logins per username and address, for throttling."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass(frozen=True)
class Identity:
    """Who is making a request: the user and their session's CSRF token."""

    user_id: int
    username: str
    role: str
    full_name: str
    csrf_token: str
    token_hash: str


async def open_session(
    db: AsyncSession, user_id: int, now: datetime, lifetime: timedelta, remote: str
) -> tuple[str, LoginSession]:
    """Create a session; returns the cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=token_hash(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + lifetime,
        remote=remote[:64],
    )
    db.add(row)
    await db.flush()
    return token, row


async def identify(db: AsyncSession, token: str, now: datetime) -> Identity | None:
    """The identity behind a cookie token, or None when unknown, expired or disabled."""
    return await identify_hash(db, token_hash(token), now)


async def identify_hash(db: AsyncSession, hashed: str, now: datetime) -> Identity | None:
    """The identity of a stored session (by its token's hash), or None when it has ended."""
    found = await session_of(db, hashed, now)
    return None if found is None else found[0]


async def session_of(
    db: AsyncSession, hashed: str, now: datetime
) -> tuple[Identity, datetime] | None:
    """The identity of a live session and when the session expires, or None."""
    row = (
        await db.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == hashed)
        )
    ).first()
    if row is None:
        return None
    session, user = row
    if session.expires_at <= now or not user.active:
        return None
    identity = Identity(
        user.id, user.username, user.role, user.full_name, session.csrf_token, hashed
    )
    return identity, session.expires_at


def session_of_sqlite(
    con: sqlite3.Connection, hashed: str, now: datetime
) -> tuple[Identity, datetime] | None:
    """:func:`session_of` as plain sqlite3, for :meth:`SqliteWriter.read`."""
    row = con.execute(
        "SELECT s.expires_at, s.csrf_token, u.id, u.username, u.role, u.full_name, u.active "
        "FROM login_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        (hashed,),
    ).fetchone()
    if row is None:
        return None
    expires_at = from_sqlite_time(row[0])
    if expires_at <= now or not row[6]:
        return None
    return Identity(row[2], row[3], row[4], row[5], row[1], hashed), expires_at


class SessionCache:
    """Login sessions this process looked up recently, by token hash.

    Every request used to look its session up (a statement, a pooled connection and a
    few thread hops), which under a burst of thousands of learners cost more than the
    work itself. An entry is reused for ``seconds`` (like a socket's periodic re-check)
    and never past the session's own expiry; a logout in this process forgets it at once,
    a logout or a disabled account elsewhere takes effect within ``seconds``.
    """

    MAX_ENTRIES = 100_000

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[str, tuple[Identity, datetime, float]] = {}

    def get(self, hashed: str, now: datetime) -> Identity | None:
        """The cached identity of a session, or None when absent, stale or expired."""
        hit = self._entries.get(hashed)
        if hit is None:
            return None
        identity, expires_at, until = hit
        if until <= time.monotonic() or expires_at <= now:
            del self._entries[hashed]
            return None
        return identity

    def put(self, identity: Identity, expires_at: datetime) -> None:
        """Remember a live session (after a lookup or a login)."""
        if self._seconds <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()  # bounded memory; the next requests look up again
        self._entries[identity.token_hash] = (
            identity,
            expires_at,
            time.monotonic() + self._seconds,
        )

    def forget(self, hashed: str) -> None:
        """Drop a session at once (logout)."""
        self._entries.pop(hashed, None)

    async def identify(
        self,
        db_sessions: Callable[[], AsyncSession],
        hashed: str,
        now: datetime,
        writer: SqliteWriter | None = None,
    ) -> Identity | None:
        """The identity of a session: from the cache, else looked up and remembered
        (on SQLite from the last commit: no pooled connection, no wait for a commit)."""
        found = self.get(hashed, now)
        if found is not None:
            return found
        if writer is not None:
            live = await writer.read(lambda con: session_of_sqlite(con, hashed, now))
        else:
            async with db_sessions() as db:
                live = await session_of(db, hashed, now)
        if live is None:
            return None
        self.put(*live)
        return live[0]


SESSION_CACHE = web.AppKey("session_cache", SessionCache)


async def close_session(db: AsyncSession, hashed: str) -> None:
    """Forget a session (logout)."""
    await db.execute(delete(LoginSession).where(LoginSession.token_hash == hashed))


async def purge_expired(db: AsyncSession, now: datetime) -> int:
    """Delete expired sessions; returns how many."""
    result = await db.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def throttle_key(username: str, remote: str) -> str:
    """The key failures are counted under."""
    return f"{username.strip().lower()}|{remote}"[:200]


async def count_attempt(
    db: AsyncSession, key: str, now: datetime, max_failures: int, lockout: timedelta
) -> datetime | None:
    """Count a login attempt *before* its password is checked; returns when the lockout
    ends if the key is locked (the attempt is then refused and not counted), else None.

    The key's row is locked while it is counted, so a burst of parallel guesses is counted
    one by one and gets no more password checks than ``max_failures``. A successful login
    forgets the count (:func:`clear_failures`). Commit before checking the password.
    """
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert(LoginFailure)
        .values(key=key, failures=0, first_at=now, locked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = await db.get(LoginFailure, key, with_for_update=True, populate_existing=True)
    if row is None:  # pragma: no cover - the row was just ensured in this transaction
        raise RuntimeError(f"login failure row {key!r} vanished")
    counted = next_failures(
        Failures(row.failures, row.first_at, row.locked_until), now, max_failures, lockout
    )
    if counted is None:
        return row.locked_until
    row.failures, row.first_at = counted.failures, counted.first_at
    row.locked_until = counted.locked_until
    await db.flush()
    return None


@dataclass(frozen=True)
class Failures:
    """A throttle key's failure count, when counting started and any lockout's end."""

    failures: int
    first_at: datetime
    locked_until: datetime | None


def next_failures(
    row: Failures, now: datetime, max_failures: int, lockout: timedelta
) -> Failures | None:
    """The key's state after counting one more attempt, or None while it is locked out."""
    if row.locked_until is not None and row.locked_until > now:
        return None
    failures, first_at, locked_until = row.failures, row.first_at, row.locked_until
    if first_at + lockout <= now:
        failures, first_at, locked_until = 0, now, None
    failures += 1
    if failures >= max_failures:
        locked_until = now + lockout
    return Failures(failures, first_at, locked_until)


def count_attempt_sqlite(
    con: sqlite3.Connection, key: str, now: datetime, max_failures: int, lockout: timedelta
) -> datetime | None:
    """:func:`count_attempt` as plain sqlite3, in the SQLite writer's transaction (its
    transaction holds the write lock, so parallel guesses are counted one by one)."""
    con.execute(
        "INSERT INTO login_failures (key, failures, first_at, locked_until) "
        "VALUES (?, 0, ?, NULL) ON CONFLICT (key) DO NOTHING",
        (key, sqlite_time(now)),
    )
    failures, first_at, locked_until = con.execute(
        "SELECT failures, first_at, locked_until FROM login_failures WHERE key = ?", (key,)
    ).fetchone()
    row = Failures(
        failures,
        from_sqlite_time(first_at),
        None if locked_until is None else from_sqlite_time(locked_until),
    )
    counted = next_failures(row, now, max_failures, lockout)
    if counted is None:
        return row.locked_until
    con.execute(
        "UPDATE login_failures SET failures = ?, first_at = ?, locked_until = ? WHERE key = ?",
        (
            counted.failures,
            sqlite_time(counted.first_at),
            None if counted.locked_until is None else sqlite_time(counted.locked_until),
            key,
        ),
    )
    return None


def open_session_sqlite(
    con: sqlite3.Connection,
    user_id: int,
    now: datetime,
    lifetime: timedelta,
    remote: str,
    clear_key: str,
) -> tuple[str, str, str, datetime]:
    """Forget the key's failures and open a session (plain sqlite3, in the writer's transaction);
    returns the cookie token, its hash, the CSRF token and the expiry."""
    con.execute("DELETE FROM login_failures WHERE key = ?", (clear_key,))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    hashed, expires_at = token_hash(token), now + lifetime
    con.execute(
        "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_at, expires_at, "
        "remote) VALUES (?, ?, ?, ?, ?, ?)",
        (hashed, user_id, csrf, sqlite_time(now), sqlite_time(expires_at), remote[:64]),
    )
    return token, hashed, csrf, expires_at


async def clear_failures(db: AsyncSession, key: str) -> None:
    """Forget failures after a successful login."""
    await db.execute(delete(LoginFailure).where(LoginFailure.key == key))
