"""The API of oral forms: ticket draws and the preparation and answer clocks."""

from __future__ import annotations

import random

from aiohttp import web

from attestation import (
    events,
    orals,
)
from attestation.api.common import (
    reply,
)
from server.access import path_int, require_user
from server.appkeys import CLOCK, SESSIONS

routes = web.RouteTableDef()


async def _oral(request: web.Request, action: str) -> web.Response:
    user = require_user(request)
    event_id = path_int(request, "event_id")
    learner_id = path_int(request, "learner_id")
    now = request.app[CLOCK].now()
    async with request.app[SESSIONS]() as db:
        event = await events.visible_event(db, user, event_id)
        if action == "draw":
            turn = await orals.draw(db, user, now, event, learner_id, random.SystemRandom())
        elif action == "answer":
            turn = await orals.start_answer(db, user, now, event, learner_id)
        elif action == "finish":
            turn = await orals.finish(db, user, now, event, learner_id)
        else:
            turn = await orals.visible_turn(db, user, event, learner_id)
        body = await orals.turn_json(db, event, turn, now)
        await db.commit()
    return reply(body)


@routes.get("/api/attestation/events/{event_id}/oral/{learner_id}")
async def oral_turn(request: web.Request) -> web.Response:
    """A learner's ticket and the server's preparation and answer clocks (B 5.10)."""
    return await _oral(request, "show")


@routes.post("/api/attestation/events/{event_id}/oral/{learner_id}/draw")
async def oral_draw(request: web.Request) -> web.Response:
    """Draw a ticket at random for the learner (commission; B 5.6)."""
    return await _oral(request, "draw")


@routes.post("/api/attestation/events/{event_id}/oral/{learner_id}/answer")
async def oral_answer(request: web.Request) -> web.Response:
    """The learner begins to answer, after the preparation time (commission; B 5.10)."""
    return await _oral(request, "answer")


@routes.post("/api/attestation/events/{event_id}/oral/{learner_id}/finish")
async def oral_finish(request: web.Request) -> web.Response:
    """The answer ends; it never counts past the answer limit (commission; B 5.10)."""
    return await _oral(request, "finish")
