"""The socket.io server attached to the aiohttp app, and its one error hook.

With ``redis_url`` set, events go through Redis (``AsyncRedisManager``) so that a client
connected to any process or node receives them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import socketio
from aiohttp import web

from server.appkeys import CLOCK, SESSIONS
from server.errors import AppError
from server.middleware import SESSION_COOKIE
from server.sessions import Identity, identify
from server.settings import Settings

log = logging.getLogger(__name__)

EventHandler = Callable[..., Awaitable[Any]]


def make_sio(settings: Settings) -> socketio.AsyncServer:
    """A socket.io server; same-origin only; Redis-backed when configured."""
    manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=None,
        max_http_buffer_size=64 * 1024,
        ping_interval=10,
        ping_timeout=10,
    )


async def identity_from_environ(app: web.Application, environ: dict[str, Any]) -> Identity | None:
    """The identity behind the session cookie of a socket.io handshake."""
    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    morsel = cookie.get(SESSION_COOKIE)
    if morsel is None or len(morsel.value) > 100:
        return None
    async with app[SESSIONS]() as db:
        return await identify(db, morsel.value, app[CLOCK].now())


def socket_errors(handler: EventHandler) -> EventHandler:
    """The socket.io counterpart of the error middleware: an ack ``{"error", "message"}``."""

    @functools.wraps(handler)
    async def wrapper(self: Any, sid: str, *args: Any) -> Any:
        try:
            return await handler(self, sid, *args)
        except AppError as exc:
            return exc.to_json()
        except Exception:
            log.exception("socket event %s of %s failed", handler.__name__, sid)
            return {"error": "internal", "message": "internal error; it has been logged"}

    return wrapper
