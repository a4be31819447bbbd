"""The OpenAPI 3 description of the JSON API, served at ``/api/openapi.json``."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from attestation.apidoc import PATHS as ATTESTATION_PATHS
from attestation.mail.apidoc import PATHS as MAIL_PATHS
from recordings.apidoc import PATHS as RECORDING_PATHS

routes = web.RouteTableDef()

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(
    summary: str,
    *,
    body: dict[str, Any] | None = None,
    ok: int = 200,
    errors: tuple[int, ...] = (401, 403, 404),
    also_ok: dict[int, str] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok): {"description": "OK", "content": {"application/json": {}}}
    }
    for status, description in (also_ok or {}).items():
        responses[str(status)] = {"description": description, "content": {"application/json": {}}}
    for status in errors:
        responses[str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": ERROR}},
        }
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _jpeg(summary: str) -> dict[str, Any]:
    """An operation answering with a JPEG image."""
    op = _op(summary)
    op["responses"]["200"] = {
        "description": "JPEG image (Cache-Control: no-store)",
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    }
    return op


def _upload(summary: str, **fields: Any) -> dict[str, Any]:
    """An operation taking a multipart upload (``file`` and text ``fields``)."""
    op = _op(summary, ok=201, errors=(400, 401, 403, 404, 413, 415, 422))
    schema = _obj(file={"type": "string", "format": "binary"}, **fields)
    op["requestBody"] = {
        "required": True,
        "content": {"multipart/form-data": {"schema": schema | {"required": ["file"]}}},
    }
    return op


def _download(summary: str) -> dict[str, Any]:
    """An operation answering with a stored file as an attachment."""
    op = _op(summary, errors=(401, 403, 404, 500))
    op["responses"]["200"] = {
        "description": "The file (Content-Disposition: attachment; X-Content-Type-Options: "
        "nosniff) with the type recognised at upload",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    return op


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}

PATHS: dict[str, dict[str, Any]] = {
    "/api/login": {
        "post": _op(
            "Log in; sets the session cookie",
            body=_obj(username=STR, password=STR),
            errors=(400, 401, 413, 422, 429),
        )
        | {"security": []}
    },
    "/api/logout": {"post": _op("Log out", errors=(401, 403))},
    "/api/openapi.json": {
        "get": _op("This OpenAPI document", errors=()) | {"security": []},
    },
    "/api/me": {"get": _op("The current user, CSRF token and server time", errors=(401,))},
    "/api/programs": {"get": _op("Programs with sections", errors=(401,))},
    "/api/tests": {
        "get": _op("Tests the learner may take (staff: all tests)", errors=(401,)),
        "post": _op(
            "Create a test",
            body=_obj(
                program_id=INT,
                title=STR,
                form=STR,
                time_limit_minutes=INT,
                sections={"type": "object", "additionalProperties": INT},
                shuffle_options=BOOL,
                opens_at=STR,
                closes_at=STR,
                group_id=INT,
            ),
            ok=201,
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/tests/{test_id}/attempts": {
        "post": _op(
            "Start or resume the learner's attempt",
            body=_obj(lease=STR, takeover=BOOL),
            ok=201,
            errors=(400, 401, 403, 404, 409, 422),
            also_ok={200: "Resumed, taken over or already submitted"},
        )
    },
    "/api/tests/{test_id}/analysis": {
        "get": _op("Item analysis: facility, discrimination, option shares, KR-20")
    },
    "/api/attempts/{attempt_id}": {
        "get": _op("An attempt: questions in its order, answers, deadline, result")
    },
    "/api/attempts/{attempt_id}/answers/{question_id}": {
        "put": _op(
            "Save one answer (idempotent); acknowledged after commit",
            body=_obj(option_id={"type": "integer", "nullable": True}, lease=STR),
            errors=(400, 401, 403, 404, 409, 413, 422),
        )
    },
    "/api/attempts/{attempt_id}/submit": {
        "post": _op(
            "Submit and grade the attempt (the holding tab's lease is required)",
            body=_obj(lease=STR),
            errors=(401, 403, 404, 409, 422),
        )
    },
    "/api/results": {"get": _op("The learner's results (personal account, archive)")},
    "/api/learners/{user_id}/account": {
        "get": _op(
            "Support opens a learner's account (logged); ?reason= required",
            errors=(401, 403, 404, 422),
        )
    },
    "/api/banks": {"get": _op("Question banks with counts")},
    "/api/banks/import": {
        "post": {
            **_op(
                "Import GIFT / Aiken / Moodle XML into a draft bank",
                ok=201,
                errors=(400, 401, 403, 404, 413, 422),
                also_ok={200: "Dry run: what would be imported; nothing is stored"},
            ),
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "schema": _obj(
                            file={"type": "string", "format": "binary"},
                            program_id=INT,
                            format=STR,
                            title=STR,
                            section=STR,
                            dry_run=BOOL,
                        )
                    }
                }
            },
        }
    },
    "/api/banks/{bank_id}/questions": {"get": _op("A bank's questions with options and versions")},
    "/api/banks/{bank_id}/approve": {
        "post": _op("The head of courses approves a bank (B 2.5)", errors=(401, 403, 404, 409))
    },
    "/api/questions/{question_id}": {
        "put": _op(
            "Edit a question (approved ones get a new version)",
            body=_obj(
                text=STR,
                explanation=STR,
                options={"type": "array", "items": _obj(text=STR, correct=BOOL)},
            ),
            errors=(400, 401, 403, 404, 409, 422),
        )
    },
    "/api/rooms/{room}/ice": {
        "get": _op(
            "ICE servers for the user's peer connections in a live room (TURN credentials "
            "are fresh and time-limited)"
        )
    },
    "/api/rooms/{room}/publishers/{participant}/thumbnail.jpg": {
        "get": _jpeg(
            "The publisher's latest thumbnail for the commission's grid (commission, admin, "
            "support; joined to the room); 404 until a keyframe arrived"
        )
    },
    "/api/rooms/{room}/publishers/{participant}/capture": {
        "post": _jpeg(
            "A full-size snapshot of the publisher's video now (identity check): the "
            "commission, or the learner of their own stream"
        )
    },
    "/api/rooms/{room}/files": {
        "post": _upload(
            "Share a file in a learner's thread of a live room (B 4.7): the learner in their "
            "own, the commission and support in the one of `learner`; at most "
            "max_upload_bytes (413); PDF, PNG, JPEG, DOCX, ODT, text or ZIP by content (415); "
            "posted in the thread as a chat attachment",
            learner=STR,
        )
    },
    "/api/rooms/{room}/files/{file_id}": {
        "get": _download(
            "Download a file of a live room: the thread's learner, the room's commission and "
            "support, and auditors (read-only evidence)"
        )
    },
    "/api/rooms/{room}/snapshots/{snapshot_id}.jpg": {
        "get": _jpeg(
            "An identity-check or room-view snapshot (B 4.8, 4.11), checked against its "
            "recorded SHA-256: the room's commission and support, admins, auditors, and the "
            "learner it shows"
        )
    },
    "/api/rooms/{room}/identity": {
        "get": _op(
            "Identity checks of a live room: per learner the status (pending, confirmed, "
            "rejected), who decided when with what comment, and the snapshots; a learner "
            "sees their own; also the identity_check setting"
        )
    },
    "/api/rooms/{room}/events": {
        "get": _op(
            "Monitoring events of a live room, oldest first: intervals (started_at, "
            "ended_at or null while open) of video/audio/connection lost, tab hidden, "
            "window blurred, second session and manual flags, with source and author "
            "(commission, support, admin, auditors)"
        )
    },
}
PATH_PARAM = re.compile(r"\{([^{}/]+)\}")
# Path parameters that are names, not integer ids.
STRING_PARAMS = frozenset({"room", "participant"})


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    paths: dict[str, Any] = {}
    for path, ops in {**PATHS, **ATTESTATION_PATHS, **MAIL_PATHS, **RECORDING_PATHS}.items():
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": STR if name in STRING_PARAMS else INT,
            }
            for name in PATH_PARAM.findall(path)  # also {snapshot_id}.jpg
        ]
        paths[path] = {
            method: ({**op, "parameters": params} if params else op) for method, op in ops.items()
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "examroom",
            "version": "0.1.0",
            "description": (
                "Remote attestation API. Errors are {error, message}. "
                "State-changing calls need the X-CSRF-Token header from /api/me."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _obj(error=STR, message=STR)},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "examroom_session"}
            },
        },
        "security": [{"session": []}],
    }


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3 document of this API."""
    return web.json_response(document())
