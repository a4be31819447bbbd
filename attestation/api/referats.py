"""The API of referats: topic lists, chosen topics, uploads and reviews."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web
from sqlalchemy import select

from attestation import (
    events,
    records,
    referats,
)
from attestation.api.common import (
    json_body,
    reply,
)
from attestation.applications import files_dir
from attestation.events import MANAGERS
from attestation.models import Referat
from attestation.rules.forms import Form
from attestation.rules.timing import MAX_DEFENCE
from proctor.files import StoredFileDamaged, content_disposition, sniff
from server.access import field, path_int, require_user
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from server.errors import NotFound
from server.uploads import read_upload
from server.users import Role

routes = web.RouteTableDef()


@routes.get("/api/attestation/programs/{program_id}/referat-topics")
async def list_topics(request: web.Request) -> web.Response:
    """The approved referat topics of a program (B 5.9)."""
    require_user(request)
    program_id = path_int(request, "program_id")
    async with request.app[SESSIONS]() as db:
        await records.program_or_404(db, program_id)
        rows = await referats.topics_of(db, program_id)
    return reply([{"id": t.id, "title": t.title} for t in rows])


@routes.post("/api/attestation/programs/{program_id}/referat-topics")
async def add_topic(request: web.Request) -> web.Response:
    """The head adds an approved topic (B 5.9)."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    program_id = path_int(request, "program_id")
    async with request.app[SESSIONS]() as db:
        topic = await referats.add_topic(
            db, user, request.app[CLOCK].now(), program_id, field(data, "title", str) or ""
        )
        await db.commit()
    return reply({"id": topic.id, "title": topic.title}, 201)


@routes.post("/api/attestation/events/{event_id}/referat")
async def choose_referat(request: web.Request) -> web.Response:
    """The learner takes a listed topic or proposes an own one with a justification."""
    user = require_user(request, {Role.LEARNER})
    data = await json_body(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        referat = await referats.choose(
            db,
            user,
            request.app[CLOCK].now(),
            event,
            topic_id=field(data, "topic_id", int, required=False),
            title=field(data, "title", str, required=False) or "",
            justification=field(data, "justification", str, required=False) or "",
        )
        await db.commit()
    return reply(referats.referat_json(referat), 201)


@routes.get("/api/attestation/referats/{referat_id}")
async def get_referat(request: web.Request) -> web.Response:
    """A referat (its learner, reviewers)."""
    user = require_user(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
    return reply(referats.referat_json(referat))


@routes.post("/api/attestation/referats/{referat_id}/topic")
async def decide_topic(request: web.Request) -> web.Response:
    """The head approves or rejects an own topic."""
    user = require_user(request, MANAGERS)
    data = await json_body(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
        await referats.decide_topic(
            db, user, request.app[CLOCK].now(), referat, bool(field(data, "approve", bool))
        )
        await db.commit()
    return reply(referats.referat_json(referat))


@routes.post("/api/attestation/referats/{referat_id}/file")
async def upload_referat(request: web.Request) -> web.Response:
    """The learner uploads the referat's text (multipart ``file``)."""
    user = require_user(request, {Role.LEARNER})
    referat_id = path_int(request, "referat_id")
    upload = await read_upload(request)
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
        await referats.upload(
            db,
            request.app[SETTINGS],
            request.app[CLOCK].now(),
            referat,
            upload.data,
            upload.filename,
        )
        await db.commit()
    return reply(referats.referat_json(referat), 201)


@routes.post("/api/attestation/referats/{referat_id}/review")
async def review_referat(request: web.Request) -> web.Response:
    """A reviewer's review (instructor, head, admin)."""
    user = require_user(request, referats.REVIEWERS)
    data = await json_body(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await referats.visible_referat(db, user, referat_id)
        await referats.review(
            db, user, request.app[CLOCK].now(), referat, field(data, "review", str) or ""
        )
        await db.commit()
    return reply(referats.referat_json(referat))


@routes.get("/api/attestation/events/{event_id}/referats")
async def event_referats(request: web.Request) -> web.Response:
    """The referats of an event: every learner's for staff, one's own for a learner."""
    user = require_user(request)
    event_id = path_int(request, "event_id")
    async with request.app[SESSIONS]() as db:
        event = await referats.referat_event(db, user, event_id)
        query = select(Referat).where(Referat.event_id == event.id).order_by(Referat.id)
        if user.role == Role.LEARNER:
            query = query.where(Referat.learner_id == user.user_id)
            learner_ids = [user.user_id]
        else:
            learner_ids = [p.user_id for p in await events.participants_of(db, event.id)]
        rows = {r.learner_id: r for r in await db.scalars(query)}
        names = await events.learner_names(db, sorted(set(learner_ids) | set(rows)))
    return reply(
        {
            "event_id": event.id,
            "program_id": event.program_id,
            "title": event.title,
            "referat_form": event.form == Form.REFERAT,
            "defence_minutes": int(MAX_DEFENCE.total_seconds() // 60),
            "answer_minutes": event.answer_minutes,
            "learners": [
                {
                    "user_id": uid,
                    "full_name": names.get(uid, ""),
                    "referat": referats.referat_json(rows[uid]) if uid in rows else None,
                }
                for uid in learner_ids
            ],
        }
    )


@routes.get("/api/attestation/referats/{referat_id}/file")
async def referat_file(request: web.Request) -> web.Response:
    """The uploaded text of a referat: its learner, the reviewers and the event's staff."""
    user = require_user(request)
    referat_id = path_int(request, "referat_id")
    async with request.app[SESSIONS]() as db:
        referat = await db.get(Referat, referat_id)
        if referat is None or (user.role == Role.LEARNER and referat.learner_id != user.user_id):
            raise NotFound(f"referat {referat_id} does not exist")
        await referats.referat_event(db, user, referat.event_id)
    if not referat.stored_name:
        raise NotFound(f"referat {referat_id} has no text yet")
    root = files_dir(request.app[SETTINGS])
    path = (root / referat.stored_name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise StoredFileDamaged(f"the text of referat {referat_id} is missing")
    data = await asyncio.to_thread(path.read_bytes)
    if hashlib.sha256(data).hexdigest() != referat.sha256:
        raise StoredFileDamaged(f"the text of referat {referat_id} does not match its checksum")
    return web.Response(
        body=data,
        headers={
            "Content-Type": sniff(data).content_type,
            "Content-Disposition": content_disposition(referat.file_name),
            "X-Content-Type-Options": "nosniff",
        },
    )
