"""Request helpers shared by every handler: who is asking, role checks, JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from aiohttp import web

from server.errors import BadRequest, Forbidden, Invalid, PayloadTooLarge, Unauthenticated
from server.sessions import Identity

IDENTITY_KEY = web.RequestKey("identity", Identity)
T = TypeVar("T")
# Ids and counts are INTEGER columns, 32-bit on PostgreSQL: larger numbers name nothing.
MAX_INT = 2**31 - 1


def current_user(request: web.Request) -> Identity | None:
    """The identity set by the auth middleware, or None for anonymous requests."""
    return request.get(IDENTITY_KEY)


def require_user(request: web.Request, roles: Iterable[str] | None = None) -> Identity:
    """The logged-in identity; 401 when anonymous, 403 when the role is not allowed."""
    identity = current_user(request)
    if identity is None:
        raise Unauthenticated("log in first")
    if roles is not None:
        allowed = set(roles)
        if identity.role not in allowed:
            raise Forbidden(f"role {identity.role} may not do this")
    return identity


async def read_json(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """A JSON object body, with a clear error for anything else."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"body of {request.content_length} bytes exceeds {max_bytes}")
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body exceeds {max_bytes} bytes")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", code="bad_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", code="bad_json")
    return data


def field(data: dict[str, Any], name: str, kind: type[T], *, required: bool = True) -> T | None:
    """A typed field of a JSON body; bools are never taken for ints."""
    if name not in data or data[name] is None:
        if required:
            raise Invalid(f"field {name!r} is required", field=name)
        return None
    value = data[name]
    if kind is int and isinstance(value, bool):
        raise Invalid(f"field {name!r} must be an integer", field=name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise Invalid(f"field {name!r} must be of type {kind.__name__}", field=name)
    if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
        raise Invalid(f"field {name!r} is out of range", field=name)
    return value


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter; 404 for anything that is not one."""
    from server.errors import NotFound

    raw = request.match_info.get(name, "")
    # ASCII only: str.isdigit() also takes "²" (int() fails) and "١٢" (another spelling).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_INT:
        raise NotFound(f"{name} {raw!r} does not exist")
    return int(raw)
