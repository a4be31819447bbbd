"""The socket.io server attached to the aiohttp app, its one error hook, and the base of
the namespaces whose sockets act for a logged-in user.

With ``redis_url`` set, events go through Redis (``AsyncRedisManager``) so that a client
connected to any process or node receives them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import socketio
from aiohttp import web

from server.appkeys import CLOCK, SESSIONS
from server.database import WRITER
from server.errors import AppError, Unauthenticated
from server.middleware import SESSION_COOKIE
from server.sessions import SESSION_CACHE, Identity, token_hash
from server.settings import Settings

log = logging.getLogger(__name__)

EventHandler = Callable[..., Awaitable[Any]]
#: How often (seconds) a socket's login session is looked up again, so a socket opened
#: before a logout or an expiry stops acting for the user soon after.
RECHECK_SECONDS = 15.0


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


class UserNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """A namespace whose sockets act for a logged-in user.

    The handshake's session cookie must name a live login session; every event then asks
    :meth:`current_user`, which looks the session up again every :data:`RECHECK_SECONDS`
    and, once it has ended, forgets the user, calls :meth:`session_ended` and refuses.
    """

    def __init__(self, namespace: str, app: web.Application) -> None:
        super().__init__(namespace)
        self.app = app

    async def identify(self, hashed: str) -> Identity | None:
        """The live login session with this token hash (through the session cache)."""
        return await self.app[SESSION_CACHE].identify(
            self.app[SESSIONS], hashed, self.app[CLOCK].now(), self.app.get(WRITER)
        )

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool | None:
        """Accept only logged-in users (the session cookie of the handshake)."""
        token = session_token(environ.get("HTTP_COOKIE", ""))
        user = None
        if token and len(token) <= 100:
            user = await self.identify(token_hash(token))
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthenticated")
        try:
            await self.save_session(sid, {"user": user, "checked": time.monotonic()})
        except KeyError:
            # The client left while its session was looked up: nothing to accept.
            log.debug("socket %s disconnected during its handshake", sid)
            return False
        await self.connected(sid, user)
        return None

    async def connected(self, sid: str, user: Identity) -> None:
        """Called once a socket is accepted."""

    async def session_ended(self, sid: str) -> None:
        """Called when a socket's login session is found ended (before the refusal)."""

    async def current_user(self, sid: str) -> Identity:
        """The socket's identity, its login session re-checked every little while."""
        session = await self.get_session(sid)
        user: Identity | None = session.get("user")
        if user is None:
            raise Unauthenticated("log in first")
        if time.monotonic() - session.get("checked", 0.0) > RECHECK_SECONDS:
            if await self.identify(user.token_hash) is None:
                await self.save_session(sid, {})
                await self.session_ended(sid)
                raise Unauthenticated("the login session has ended; log in again")
            session["checked"] = time.monotonic()
            await self.save_session(sid, session)
        return user


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
