"""Logging in and out: the service and the ``/api/login``, ``/api/logout``, ``/api/me`` routes."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from server.access import read_json, require_user
from server.appkeys import CLOCK, PASSWORDS, SESSIONS, SETTINGS
from server.errors import Invalid, TooManyRequests, Unauthenticated
from server.middleware import SESSION_COOKIE
from server.sessions import (
    Identity,
    clear_failures,
    close_session,
    count_attempt,
    open_session,
    throttle_key,
)
from server.users import find_user

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def log_in(
    app: web.Application, username: str, password: str, remote: str
) -> tuple[str, Identity]:
    """Check the password (with throttling) and open a session; returns the cookie token."""
    settings = app[SETTINGS]
    now = app[CLOCK].now()
    key = throttle_key(username, remote)
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    async with app[SESSIONS]() as db:
        # Counted before the password is checked, and committed, so that parallel guesses
        # cannot all slip in before the first failure is recorded.
        until = await count_attempt(db, key, now, settings.login_max_failures, lockout)
        await db.commit()
        if until is not None:
            retry = max(1, int((until - now).total_seconds()))
            raise TooManyRequests(
                f"too many failed logins for {username!r}; try again in {retry} s",
                retry_after=retry,
            )
        user = await find_user(db, username)
        ok = app[PASSWORDS].verify(user.password_hash if user else None, password)
        if user is None or not ok or not user.active:
            log.info("failed login for %r from %s", username, remote)
            raise Unauthenticated("wrong username or password", code="bad_credentials")
        await clear_failures(db, key)
        token, session = await open_session(
            db, user, now, timedelta(hours=settings.session_hours), remote
        )
        await db.commit()
        log.info("user %s logged in from %s", user.id, remote)
        return token, Identity(
            user.id,
            user.username,
            user.role,
            user.full_name,
            session.csrf_token,
            session.token_hash,
        )


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
