"""Multipart uploads read within limits: one file part and a few short text fields.

aiohttp's ``client_max_size`` does not apply to a multipart body read part by part, so
every chunk is counted here: the file against ``max_upload_bytes``, the text fields
against :data:`FORM_FIELD_BYTES`. Shared by every handler that takes a file (question
banks, files exchanged in live rooms).
"""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import BodyPartReader, web

from server.appkeys import SETTINGS
from server.errors import BadRequest, Invalid, PayloadTooLarge

FORM_FIELD_BYTES = 64 * 1024
CHUNK_BYTES = 65536


class Upload(NamedTuple):
    """The file of a multipart upload (its bytes and the name the client gave it) and the
    text fields sent with it."""

    data: bytes
    filename: str
    fields: dict[str, str]


async def read_upload(request: web.Request) -> Upload:
    """The file and the text fields of a multipart upload, within the size limit."""
    limit = request.app[SETTINGS].max_upload_bytes
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("send the file as multipart/form-data", code="not_multipart")
    try:
        return await _read_parts(request, limit)
    except ValueError as exc:  # aiohttp's multipart reader: no boundary, broken framing
        raise BadRequest(f"malformed multipart body: {exc}", code="not_multipart") from exc


async def _read_parts(request: web.Request, limit: int) -> Upload:
    reader = await request.multipart()
    data, filename, fields = b"", "", {}
    file_bytes = field_bytes = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequest("nested multipart bodies are not accepted", code="not_multipart")
        chunks = []
        while chunk := await part.read_chunk(CHUNK_BYTES):
            if part.filename:
                file_bytes += len(chunk)
                if file_bytes > limit:
                    raise PayloadTooLarge(f"file {part.filename!r} exceeds {limit} bytes")
            else:
                field_bytes += len(chunk)
                if field_bytes > FORM_FIELD_BYTES:
                    raise PayloadTooLarge(f"form fields exceed {FORM_FIELD_BYTES} bytes")
            chunks.append(chunk)
        if part.filename:
            data, filename = b"".join(chunks), part.filename
        elif part.name:
            value = bytes(part.decode(bytearray(b"".join(chunks))))
            fields[part.name] = value.decode("utf-8", "replace")[:1000]
    if not filename:
        raise Invalid("no file was attached", field="file")
    return Upload(data, filename, fields)
