"""Logging in and out: the service and the ``/api/login``, ``/api/logout``, ``/api/me`` routes."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from server.access import read_json, require_user
from server.appkeys import CLOCK, PASSWORDS, SESSIONS, SETTINGS
from server.database import WRITER
from server.errors import Invalid, TooManyRequests, Unauthenticated
from server.middleware import SESSION_COOKIE
from server.sessions import (
    SESSION_CACHE,
    Identity,
    clear_failures,
    close_session,
    count_attempt,
    count_attempt_sqlite,
    open_session,
    open_session_sqlite,
    throttle_key,
)
from server.users import User, find_user

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

#: Password checks running at once in this process. argon2 takes ~0.2 s of one core and
#: 64 MiB per check; it runs in a thread (argon2-cffi releases the GIL) so the event loop
#: keeps serving, and no more checks run than there are cores, so a burst of logins
#: queues here instead of starving every other request.
LOGIN_SLOTS = web.AppKey("login_slots", asyncio.Semaphore)


def login_slots() -> asyncio.Semaphore:
    """The bound on concurrent password checks: one per core."""
    return asyncio.Semaphore(os.cpu_count() or 1)


async def log_in(
    app: web.Application, username: str, password: str, remote: str
) -> tuple[str, Identity]:
    """Check the password (with throttling) and open a session; returns the cookie token."""
    settings = app[SETTINGS]
    now = app[CLOCK].now()
    key = throttle_key(username, remote)
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    writer = app.get(WRITER)
    if writer is not None:  # SQLite: no pooled connection, a share of the group commit
        until, user = await writer.run(
            lambda con: (
                count_attempt_sqlite(con, key, now, settings.login_max_failures, lockout),
                find_login_sqlite(con, username),
            )
        )
    else:
        async with app[SESSIONS]() as db:
            # Counted before the password is checked, and committed, so that parallel
            # guesses cannot all slip in before the first failure is recorded.
            until = await count_attempt(db, key, now, settings.login_max_failures, lockout)
            await db.commit()
            found = await find_user(db, username)
            user = None if found is None else LoginUser.of(found)
    if until is not None:
        retry = max(1, int((until - now).total_seconds()))
        raise TooManyRequests(
            f"too many failed logins for {username!r}; try again in {retry} s",
            retry_after=retry,
        )
    # No database connection is held while the password is checked.
    async with app[LOGIN_SLOTS]:
        ok = await asyncio.to_thread(
            app[PASSWORDS].verify, user.password_hash if user else None, password
        )
    if user is None or not ok or not user.active:
        log.info("failed login for %r from %s", username, remote)
        raise Unauthenticated("wrong username or password", code="bad_credentials")
    lifetime = timedelta(hours=settings.session_hours)
    if writer is not None:
        user_id = user.id
        token, hashed, csrf_token, expires_at = await writer.run(
            lambda con: open_session_sqlite(con, user_id, now, lifetime, remote, key)
        )
    else:
        async with app[SESSIONS]() as db:
            await clear_failures(db, key)
            token, session = await open_session(db, user.id, now, lifetime, remote)
            await db.commit()
        hashed, csrf_token, expires_at = session.token_hash, session.csrf_token, session.expires_at
    log.info("user %s logged in from %s", user.id, remote)
    identity = Identity(user.id, user.username, user.role, user.full_name, csrf_token, hashed)
    # The session's first requests are most likely served by this process.
    app[SESSION_CACHE].put(identity, expires_at)
    return token, identity


@dataclass(frozen=True)
class LoginUser:
    """What a login needs to know about the user behind a username."""

    id: int
    username: str
    role: str
    full_name: str
    password_hash: str
    active: bool

    @classmethod
    def of(cls, user: User) -> LoginUser:
        """From the ORM row."""
        return cls(
            user.id, user.username, user.role, user.full_name, user.password_hash, user.active
        )


def find_login_sqlite(con: sqlite3.Connection, username: str) -> LoginUser | None:
    """:func:`server.users.find_user` as plain sqlite3, in the SQLite writer's transaction."""
    row = con.execute(
        "SELECT id, username, role, full_name, password_hash, active FROM users WHERE username = ?",
        (username,),
    ).fetchone()
    if row is None:
        return None
    user_id, name, role, full_name, password_hash, active = row
    return LoginUser(user_id, name, role, full_name, password_hash, bool(active))


def set_session_cookie(response: web.StreamResponse, app: web.Application, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when configured."""
    settings = app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
        max_age=int(settings.session_hours * 3600),
        path="/",
    )


async def log_out(app: web.Application, user: Identity) -> None:
    """Close the user's session."""
    async with app[SESSIONS]() as db:
        await close_session(db, user.token_hash)
        await db.commit()
    app[SESSION_CACHE].forget(user.token_hash)


def me_json(user: Identity, app: web.Application) -> dict[str, object]:
    """The current user as ``/api/me`` shows it."""
    return {
        "user": {
            "id": user.user_id,
            "username": user.username,
            "full_name": user.full_name,
            "role": user.role,
        },
        "csrf_token": user.csrf_token,
        "server_time": app[CLOCK].now().isoformat(),
    }


@routes.post("/api/login")
async def api_login(request: web.Request) -> web.Response:
    """Log in with ``{"username", "password"}``; sets the session cookie."""
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise Invalid("username and password are required strings")
    token, user = await log_in(request.app, username, password, request.remote or "")
    response = web.json_response(me_json(user, request.app))
    set_session_cookie(response, request.app, token)
    return response


@routes.post("/api/logout")
async def api_logout(request: web.Request) -> web.Response:
    """Close the current session."""
    user = require_user(request)
    await log_out(request.app, user)
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/api/me")
async def api_me(request: web.Request) -> web.Response:
    """Who is logged in, the CSRF token and the server time."""
    return web.json_response(me_json(require_user(request), request.app))
