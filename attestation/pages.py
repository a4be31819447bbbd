"""HTML pages of the attestation workflow: the public programs section without login
(A 2.1), the staff's events and sitting pages, the learner's attestation page."""

from __future__ import annotations

from aiohttp import web

from attestation.api.common import RESULT_RECORDERS
from attestation.commissions import seat_of
from attestation.config import ATTESTATION
from attestation.events import MANAGERS, READERS, visible_event
from attestation.records import (
    PROGRAM_DOCUMENT_TITLES_RU,
    DocumentKindOfProgram,
    program_or_404,
    public_programs,
    published_documents,
)
from attestation.referats import REVIEWERS, referat_event
from attestation.rules.timing import MAX_DEFENCE
from server.access import current_user, path_int
from server.appkeys import CLOCK, SESSIONS
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
            "manager": "1" if user.role in MANAGERS else "",
            "group_id": str(event.group_id),
        },
    )


@routes.get("/attestation/commissions")
async def commissions_page(request: web.Request) -> web.StreamResponse:
    """Commissions per program with their term, seats and whether each may sit today
    (B 3.8, 3.11); managers form new ones."""
    user = current_user(request)
    if user is None:
        raise _login_redirect(request)
    if user.role not in STAFF_ROLES:
        raise Forbidden("this page is not for your role")
    # The institution's date by the server's clock: the form's default first day.
    today = request.app[CLOCK].now().astimezone(request.app[ATTESTATION].zone).date()
    return render(
        request,
        "attestation_commissions.html",
        params={"manager": "1" if user.role in MANAGERS else "", "today": today.isoformat()},
    )


@routes.get("/attestation/events/{event_id}/referats")
async def referats_page(request: web.Request) -> web.StreamResponse:
    """The referats of an event (B 5.9): the program's topic list, each learner's topic,
    the texts and their reviews."""
    user = current_user(request)
    if user is None:
        raise _login_redirect(request)
    if user.role not in STAFF_ROLES:
        raise Forbidden("this page is not for your role")
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await referat_event(db, user, event_id)
    return render(
        request,
        "attestation_referats.html",
        params={
            "event_id": str(event.id),
            "program_id": str(event.program_id),
            "manager": "1" if user.role in MANAGERS else "",
            "reviewer": "1" if user.role in REVIEWERS else "",
            "defence_minutes": str(int(MAX_DEFENCE.total_seconds() // 60)),
        },
    )


@routes.get("/attestation/groups")
async def groups_page(request: web.Request) -> web.StreamResponse:
    """Groups, their learners and who completed the program (B 2.1); managers create
    groups and enroll, instructors record completion."""
    user = current_user(request)
    if user is None:
        raise _login_redirect(request)
    if user.role not in STAFF_ROLES:
        raise Forbidden("this page is not for your role")
    return render(
        request,
        "attestation_groups.html",
        params={
            "manager": "1" if user.role in MANAGERS else "",
            "recorder": "1" if user.role in RESULT_RECORDERS else "",
        },
    )
