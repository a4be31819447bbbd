"""Helpers shared by the attestation API's handlers: replies, fields, bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from attestation.events import MANAGERS
from proctor.files import content_disposition
from server.access import field, read_json
from server.appkeys import SETTINGS
from server.errors import Invalid
from server.users import Role

#: Who sees every commission: the managers and the auditors.
COMMISSION_VIEWERS = MANAGERS | {Role.AUDITOR}
#: The media type of the XLSX documents.
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Who records ongoing and intermediate results.
RESULT_RECORDERS = frozenset({Role.INSTRUCTOR, Role.HEAD, Role.ADMIN})


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.json_response(data, status=status)


def date_field(data: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    """An ISO 8601 date field; 422 naming the field when it is not one."""
    raw = field(data, name, str, required=required)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"field {name!r} is not an ISO 8601 date", field=name) from exc


def datetime_field(data: dict[str, Any], name: str) -> datetime:
    """An ISO 8601 date-time field with a timezone offset; 422 otherwise."""
    raw = field(data, name, str) or ""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"field {name!r} is not an ISO 8601 datetime", field=name) from exc
    if value.tzinfo is None:
        raise Invalid(f"field {name!r} needs a timezone offset", field=name)
    return value


def ids_field(data: dict[str, Any], name: str, *, required: bool = True) -> list[int] | None:
    """A list of positive ids; 422 naming the field otherwise."""
    value = field(data, name, list, required=required)
    if value is None:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in value):
        raise Invalid(f"field {name!r} is a list of ids", field=name)
    return list(value)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, bounded by ``max_json_bytes``."""
    return await read_json(request, request.app[SETTINGS].max_json_bytes)


V = TypeVar("V")


async def document_reply(
    request: web.Request,
    fmt: str,
    view: V,
    pdf: Callable[[V, Path | None], bytes],
    xlsx: Callable[[V], bytes],
    stem: str,
) -> web.Response:
    """``view`` rendered off the event loop as ``stem.pdf`` or ``stem.xlsx``."""
    if fmt == "pdf":
        data = await asyncio.to_thread(pdf, view, request.app[SETTINGS].font_dir)
        return file_reply(data, "application/pdf", f"{stem}.pdf")
    return file_reply(await asyncio.to_thread(xlsx, view), XLSX_TYPE, f"{stem}.xlsx")


def file_reply(data: bytes, content_type: str, name: str) -> web.Response:
    """A generated document as a download."""
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": content_disposition(name),
            "X-Content-Type-Options": "nosniff",
        },
    )
