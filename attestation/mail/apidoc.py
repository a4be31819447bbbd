"""The OpenAPI description of the outbox API (merged into ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, errors: tuple[int, ...]) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {}}}}
    for status in errors:
        responses[str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": ERROR}},
        }
    return {"summary": summary, "tags": ["mail"], "responses": responses}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PATHS: dict[str, dict[str, Any]] = {
    "/api/mail/outbox": {
        "get": _op(
            "Letters (invitations, notices) newest first with their delivery state: status "
            "queued/sending/sent/failed, attempts, last error, whether the notice period was "
            "missed; never the body (head, admin, support, auditor)",
            (401, 403, 422),
        )
        | {
            "parameters": [
                _query(
                    "status",
                    {"type": "string", "enum": ["queued", "sending", "sent", "failed"]},
                    "only letters in this state",
                ),
                _query("event_id", {"type": "integer"}, "only letters of this event"),
                _query("limit", {"type": "integer"}, "at most this many (200, up to 1000)"),
            ]
        }
    },
    "/api/mail/outbox/{letter_id}/retry": {
        "post": _op(
            "Queue a failed letter again with fresh attempts (head, admin, support)",
            (401, 403, 404, 409, 422),
        )
    },
}
