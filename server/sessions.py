"""Server-side login sessions and login throttling.

The cookie carries a random token; the database keeps only its SHA-256, so a leaked
database does not leak live sessions. Sessions live in the database so that every
process and node sees them and a restart logs nobody out.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime
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
    db: AsyncSession, user: User, now: datetime, lifetime: timedelta, remote: str
) -> tuple[str, LoginSession]:
    """Create a session; returns the cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
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
    return Identity(user.id, user.username, user.role, user.full_name, session.csrf_token, hashed)


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
    if row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    if row.first_at + lockout <= now:
        row.failures, row.first_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= max_failures:
        row.locked_until = now + lockout
    await db.flush()
    return None


async def clear_failures(db: AsyncSession, key: str) -> None:
    """Forget failures after a successful login."""
    await db.execute(delete(LoginFailure).where(LoginFailure.key == key))
