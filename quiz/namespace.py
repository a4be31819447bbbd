"""The ``/quiz`` socket.io namespace: timer sync, answer saves and tab notices."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web

from quiz.attempts import attempt_state_sqlite, may_read
from quiz.models import Attempt
from quiz.routes import attempt_room
from server.appkeys import CLOCK, JOURNAL, SESSIONS
from server.database import WRITER
from server.errors import BadRequest, Invalid, NotFound
from server.realtime import UserNamespace, socket_errors
from server.users import Role

log = logging.getLogger(__name__)

MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL


def _int(data: dict[str, Any], name: str, *, nullable: bool = False) -> int | None:
    value = data.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"field {name!r} must be an integer", field=name)
    if not 0 <= value <= MAX_ID:  # beyond the id columns: the database would refuse it
        raise Invalid(f"field {name!r} is out of range", field=name)
    return value


def _payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("event data must be an object", code="bad_event")
    return data


class QuizNamespace(UserNamespace):
    """Learners' test pages: join an attempt's room, sync the clock, save answers."""

    def __init__(self, app: web.Application) -> None:
        super().__init__("/quiz", app)

    @socket_errors
    async def on_join(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Enter an attempt's room to be told of takeovers and submission."""
        payload = _payload(data)
        user = await self.current_user(sid)
        attempt_id = _int(payload, "attempt_id") or 0
        writer = self.app.get(WRITER)
        if writer is not None:  # SQLite: the last commit, read at once, no pooled connection
            attempt = await writer.read(lambda con: attempt_state_sqlite(con, attempt_id))
        else:
            async with self.app[SESSIONS]() as db:
                attempt = await db.get(Attempt, attempt_id)
        if attempt is None or not may_read(attempt, user):
            raise NotFound(f"attempt {attempt_id} does not exist")
        lease = payload.get("lease")
        holds = isinstance(lease, str) and secrets.compare_digest(lease, attempt.lease)
        await self.enter_room(sid, attempt_room(attempt_id))
        now = self.app[CLOCK].now()
        return {
            "ok": True,
            "status": attempt.status,
            "holder": holds,
            "deadline": attempt.deadline.isoformat(),
            "server_time": now.isoformat(),
        }

    @socket_errors
    async def on_sync(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """The server's time, for re-syncing the page's timer."""
        await self.current_user(sid)
        return {"server_time": self.app[CLOCK].now().isoformat()}

    @socket_errors
    async def on_save(self, sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        """Save one answer; the ack comes after the commit."""
        payload = _payload(data)
        user = await self.current_user(sid)
        if user.role != Role.LEARNER:
            raise Invalid("only learners answer")
        if "option_id" not in payload:
            raise Invalid(
                "field 'option_id' is required (null clears the answer)", field="option_id"
            )
        lease = payload.get("lease")
        if not isinstance(lease, str):
            raise Invalid("field 'lease' is required", field="lease")
        saved = await self.app[JOURNAL].save(
            user,
            _int(payload, "attempt_id") or 0,
            _int(payload, "question_id") or 0,
            _int(payload, "option_id", nullable=True),
            lease,
        )
        return {
            "saved": True,
            "attempt_id": saved.attempt_id,
            "question_id": saved.question_id,
            "option_id": saved.option_id,
            "deadline": saved.deadline.isoformat(),
            "server_time": saved.server_time.isoformat(),
        }
