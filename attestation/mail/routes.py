"""The outbox for staff: ``GET /api/mail/outbox`` shows every letter's delivery state
(never its body: invitations carry conference passwords) and ``POST
/api/mail/outbox/{id}/retry`` queues a failed letter again."""

from __future__ import annotations

from aiohttp import web

from attestation.mail import outbox
from attestation.mail.mailer import MAILER
from server.access import MAX_INT, path_int, require_user
from server.appkeys import CLOCK, SESSIONS
from server.errors import Invalid
from server.users import Role

routes = web.RouteTableDef()

# Who watches delivery: the head of courses and admins (who schedule events), support
# (who answer "I got no invitation") and auditors (read-only).
READERS = frozenset({Role.HEAD, Role.ADMIN, Role.SUPPORT, Role.AUDITOR})
RETRIERS = frozenset({Role.HEAD, Role.ADMIN, Role.SUPPORT})


def _query_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_INT:
        raise Invalid(f"query parameter {name!r} must be a positive integer", field=name)
    return int(raw)


@routes.get("/api/mail/outbox")
async def list_outbox(request: web.Request) -> web.Response:
    """Letters newest first; ``?status=failed`` and ``?event_id=`` narrow the list."""
    require_user(request, READERS)
    status = request.query.get("status") or None
    if status is not None and status not in outbox.STATUSES:
        raise Invalid(f"status must be one of {', '.join(outbox.STATUSES)}", field="status")
    event_id = _query_int(request, "event_id")
    limit = _query_int(request, "limit") or 200
    now = request.app[CLOCK].now()
    async with request.app[SESSIONS]() as db:
        rows = await outbox.letters(db, status=status, event_id=event_id, limit=min(limit, 1000))
    return web.json_response(
        {
            "smtp_configured": request.app[MAILER].smtp.configured,
            "letters": [outbox.letter_json(row, now) for row in rows],
        }
    )


@routes.post("/api/mail/outbox/{letter_id}/retry")
async def retry_letter(request: web.Request) -> web.Response:
    """Queue a failed letter again with fresh attempts and send it now."""
    require_user(request, RETRIERS)
    letter_id = path_int(request, "letter_id")
    now = request.app[CLOCK].now()
    async with request.app[SESSIONS]() as db:
        row = await outbox.requeue(db, letter_id, now)
        await db.commit()
        body = outbox.letter_json(row, now)
    request.app[MAILER].wake()
    return web.json_response(body)
