"""The OpenAPI description of the recordings API (merged into ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
ACCESS = "auditors, admins and commission members; learners never"


def _op(summary: str, errors: tuple[int, ...], content: str = "application/json") -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {content: {}}}}
    for status in errors:
        responses[str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": ERROR}},
        }
    return {"summary": summary, "tags": ["recordings"], "responses": responses}


PATHS: dict[str, dict[str, Any]] = {
    "/api/recordings/{room}/timeline": {
        "get": _op(
            "The session's recordings and its evidence (answers, chat, files, snapshots, "
            "identity decisions, monitoring events) with offsets from the recording start "
            f"({ACCESS})",
            (401, 403, 404),
        )
    },
    "/api/recordings/{room}/manifest": {
        "get": _op(
            "The session's manifest: every sealed file with participant, track kinds, start "
            f"and end, size and SHA-256, retention dates and legal hold ({ACCESS})",
            (401, 403, 404),
        )
    },
    "/api/recordings/{room}/files/{file_id}": {
        "get": _op(
            "One recording (video/webm); honours a single HTTP Range (206, or 416 when "
            f"unsatisfiable) so seeking never downloads the whole file ({ACCESS})",
            (400, 401, 403, 404),
            content="video/webm",
        )
    },
    "/api/recordings/{room}/bundle": {
        "get": _op(
            "The evidence bundle for an appeal: a zip of the recordings, the manifest and the "
            f"timeline; every download is audited ({ACCESS})",
            (401, 403, 404),
            content="application/zip",
        )
    },
    "/api/recordings/{room}/hold": {
        "post": _op(
            "Put the session on legal hold with a reason: retention deletes nothing of it "
            "until the hold is released (admins)",
            (400, 401, 403, 404, 422),
        )
    },
}
