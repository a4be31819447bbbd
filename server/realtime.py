"""The socket.io server attached to the aiohttp app, and its one error hook.

With ``redis_url`` set, events go through Redis (``AsyncRedisManager``) so that a client
connected to any process or node receives them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=redis_channel(settings.redis_url))
        if settings.redis_url
        else None
    )
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=None,
        max_http_buffer_size=64 * 1024,
        ping_interval=10,
        ping_timeout=10,
    )


def redis_channel(url: str) -> str:
    """The pub/sub channel of this Redis database.

    Redis pub/sub ignores the database number, so with the library's one default channel
    two deployments on one Redis server (``…/0`` and ``…/1``) would deliver each other's
    ``taken_over`` and ``submitted`` to the same-named attempt rooms.
    """
    parts = urlsplit(url)
    db = parse_qs(parts.query).get("db", [""])[0]
    if not db and parts.scheme != "unix":  # redis://host:port/<db>
        db = parts.path.strip("/")
    return f"examroom-socketio-{int(db) if db.isdigit() else 0}"


async def identity_from_environ(app: web.Application, environ: dict[str, Any]) -> Identity | None:
    """The identity behind the session cookie of a socket.io handshake."""
    token = session_token(environ.get("HTTP_COOKIE", ""))
    if not token or len(token) > 100:
        return None
    async with app[SESSIONS]() as db:
        return await identify(db, token, app[CLOCK].now())


def session_token(header: str) -> str | None:
    """The session cookie's value in a ``Cookie`` header.

    Parsed pair by pair, like aiohttp parses it for HTTP requests: ``SimpleCookie`` drops
    every cookie after one it cannot parse (a JSON value or a space set by another app on
    the same host), which would leave a logged-in page unauthenticated on socket.io only.
    """
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        if sep and name.strip() == SESSION_COOKIE:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None


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
