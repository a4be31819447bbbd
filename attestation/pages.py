"""HTML pages of the attestation workflow: the public programs section without login
(A 2.1), the staff's events and sitting pages, the learner's attestation page."""

from __future__ import annotations

from aiohttp import web

from attestation.commissions import seat_of
from attestation.events import MANAGERS, READERS, visible_event
from attestation.records import (
    PROGRAM_DOCUMENT_TITLES_RU,
    DocumentKindOfProgram,
    program_or_404,
    public_programs,
    published_documents,
)
from server.access import current_user, path_int
from server.appkeys import SESSIONS
from server.errors import Forbidden
from server.pages import render
from server.users import STAFF_ROLES, Role

routes = web.RouteTableDef()


@routes.get("/public/programs")
async def programs_page(request: web.Request) -> web.Response:
    """Every program with links to its documents; no login (A 2.1)."""
    async with request.app[SESSIONS]() as db:
        programs = await public_programs(db)
    return render(request, "public_programs.html", programs=programs)


@routes.get("/public/programs/{program_id}")
async def program_page(request: web.Request) -> web.Response:
    """A program's curriculum, calendar schedule, work programs and attestation
    conditions; no login (A 2.1, B 2.7)."""
    program_id = path_int(request, "program_id")
    async with request.app[SESSIONS]() as db:
        program = await program_or_404(db, program_id)
        documents = await published_documents(db, program.id)
    kinds = {k.value: title for k, title in PROGRAM_DOCUMENT_TITLES_RU.items()}
    order = [k.value for k in DocumentKindOfProgram]
    documents.sort(key=lambda d: (order.index(d.kind), d.position, d.id))
    return render(request, "public_program.html", program=program, documents=documents, kinds=kinds)


def _login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/login?next=" + request.path)


@routes.get("/attestation")
async def attestation_page(request: web.Request) -> web.StreamResponse:
    """Staff: events and commissions; learners: their attestation page."""
    user = current_user(request)
    if user is None:
        raise _login_redirect(request)
    if user.role == Role.LEARNER:
        return render(request, "attestation_learner.html", params={})
    if user.role not in STAFF_ROLES:
        raise Forbidden("this page is not for your role")
    return render(
        request,
        "attestation_events.html",
        params={
            "manager": "1" if user.role in MANAGERS else "",
            "register": "1" if user.role in MANAGERS | {Role.AUDITOR} else "",
        },
    )


@routes.get("/attestation/events/{event_id}")
async def event_page(request: web.Request) -> web.StreamResponse:
    """The sitting of one event: learners, presence, votes, protocol and signatures."""
    user = current_user(request)
    if user is None:
        raise _login_redirect(request)
    if user.role == Role.LEARNER:
        raise web.HTTPSeeOther("/attestation")
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await visible_event(db, user, event_id)
        seat = await seat_of(db, event.commission_id, user.user_id)
    return render(
        request,
        "attestation_event.html",
        params={
            "event_id": str(event.id),
            "seat": seat.value if seat else "",
            "reader": "1" if user.role in READERS else "",
        },
    )
