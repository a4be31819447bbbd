"""People and their roles; password hashing with argon2."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime, utcnow
from server.errors import Conflict, Invalid, NotFound


class Role(StrEnum):
    """What a person does in examroom (MISSION, "Users")."""

    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    HEAD = "head"
    COMMISSION = "commission"
    APPEAL = "appeal"
    AUDITOR = "auditor"
    SUPPORT = "support"
    ADMIN = "admin"


STAFF_ROLES = frozenset(Role) - {Role.LEARNER}
AUTHOR_ROLES = frozenset({Role.INSTRUCTOR, Role.HEAD, Role.ADMIN})


class User(Base):
    """A person with a login."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def public(self) -> dict[str, object]:
        """What the API shows about this person."""
        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
        }


class Passwords:
    """Argon2id hashing (argon2-cffi defaults, RFC 9106 low-memory profile)."""

    # Computed once per process: every application instance shares it.
    _dummy_hash: ClassVar[str | None] = None

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Verifying against a real hash when the user does not exist keeps the timing
        # of "no such user" and "wrong password" the same.
        if Passwords._dummy_hash is None:
            Passwords._dummy_hash = self._hasher.hash("examroom-timing-equaliser")
        self._dummy = Passwords._dummy_hash

    def hash(self, password: str) -> str:
        """A new argon2id hash of the password."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when the password matches; never raises for a wrong password."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False


async def create_user(
    db: AsyncSession,
    passwords: Passwords,
    username: str,
    password: str,
    role: Role,
    full_name: str = "",
    email: str = "",
) -> User:
    """Create a user; the username must be new."""
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid("username must be 1–64 characters")
    if len(password) < 4:
        raise Invalid("password must be at least 4 characters")
    existing = await db.scalar(select(User).where(User.username == username))
    if existing is not None:
        raise Conflict(f"user {username!r} already exists", code="user_exists")
    user = User(
        username=username,
        password_hash=passwords.hash(password),
        role=Role(role).value,
        full_name=full_name,
        email=email,
    )
    db.add(user)
    await db.flush()
    return user


async def get_user(db: AsyncSession, user_id: int) -> User:
    """The user with this id."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


async def find_user(db: AsyncSession, username: str) -> User | None:
    """The user with this username, or None."""
    return await db.scalar(select(User).where(User.username == username))
