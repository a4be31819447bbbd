"""Middlewares: errors to JSON/HTML in one place, identity from the cookie, CSRF, headers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.access import IDENTITY_KEY
from server.appkeys import CLOCK, SESSIONS
from server.database import WRITER
from server.errors import AppError, Forbidden, NotFound, PayloadTooLarge
from server.sessions import SESSION_CACHE, token_hash

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_COOKIE = "examroom_session"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_EXEMPT = frozenset({"/api/login", "/login"})
BUSY_RETRY_SECONDS = 2


class Busy(AppError):
    """Every pooled database connection stayed taken for the pool timeout (503)."""

    status = 503
    code = "busy"


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def _error_response(request: web.Request, error: AppError) -> web.StreamResponse:
    if _wants_json(request):
        response: web.StreamResponse = web.json_response(error.to_json(), status=error.status)
    else:
        from server.pages import render_error

        response = render_error(request, error)
    retry_after = error.extra.get("retry_after")
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    # Error responses are built outside the ``headers`` middleware: secure them here.
    _secure(request, response)
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn :class:`AppError` and HTTP errors into ``{"error", "message"}``; hide tracebacks."""
    try:
        return await handler(request)
    except AppError as exc:
        return _error_response(request, exc)
    except web.HTTPRequestEntityTooLarge as exc:
        return _error_response(request, PayloadTooLarge(f"request body is too large: {exc.text}"))
    except web.HTTPNotFound:
        return _error_response(request, NotFound(f"{request.path} does not exist"))
    except web.HTTPMethodNotAllowed as exc:
        error = AppError(
            f"{exc.method} is not allowed on {request.path}", code="method_not_allowed"
        )
        error.status = 405
        return _error_response(request, error)
    except web.HTTPException:
        raise
    except PoolTimeout:
        log.warning("no database connection free for %s %s", request.method, request.path)
        busy = Busy(
            "the server is busy; retry in a moment",
            retry_after=BUSY_RETRY_SECONDS,
        )
        return _error_response(request, busy)
    except ConnectionResetError:
        # The client went away mid-request (aiohttp's ClientConnectionResetError too):
        # nobody is left to answer, and it is not a server fault worth a traceback.
        log.debug("client of %s %s disconnected", request.method, request.path)
        return web.Response(status=499, reason="Client Closed Request")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        error = AppError("internal error; it has been logged", code="internal")
        error.status = 500
        return _error_response(request, error)


@web.middleware
async def identity(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the identity behind the session cookie, if any (through the session cache)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) < 100:
        app = request.app
        found = await app[SESSION_CACHE].identify(
            app[SESSIONS], token_hash(token), app[CLOCK].now(), app.get(WRITER)
        )
        if found is not None:
            request[IDENTITY_KEY] = found
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """State-changing requests of a session carry its CSRF token (header or form field)."""
    if request.method in UNSAFE and not request.path.startswith("/socket.io"):
        origin = request.headers.get("Origin")
        # Only the host is compared: behind a TLS-terminating proxy the scheme differs.
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            raise Forbidden(f"cross-origin request from {origin}", code="csrf")
        user = request.get(IDENTITY_KEY)
        if user is not None and request.path not in CSRF_EXEMPT:
            sent = request.headers.get("X-CSRF-Token", "")
            if not sent and request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                sent = str(await _form_token(request))
            if not sent or not secrets.compare_digest(sent, user.csrf_token):
                raise Forbidden("missing or wrong CSRF token", code="csrf")
    return await handler(request)


async def _form_token(request: web.Request) -> str:
    if request.content_type == "multipart/form-data":
        # Multipart bodies are read by the handler; the token travels in the query string.
        return request.query.get("csrf_token", "")
    form = await request.post()
    value = form.get("csrf_token", "")
    return value if isinstance(value, str) else ""


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every response; API responses are never cached."""
    response = await handler(request)
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    )
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    elif request.path.startswith("/static/"):
        # Versioned URLs (?v=<hash>) never change; unversioned ones are revalidated.
        versioned = "v" in request.query
        response.headers.setdefault(
            "Cache-Control", "public, max-age=31536000, immutable" if versioned else "no-cache"
        )
