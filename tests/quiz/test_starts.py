"""Starts across processes: the database, not a process, keeps one active attempt (B 5.12).

Two applications on one database stand for two server processes: each has its own
per-learner locks, session cache, test catalogue and (on SQLite) its own writer
connection, so only the partial unique index on active attempts stands between them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from quiz.models import Attempt, AttemptStatus
from server.app import create_app
from server.appkeys import CLOCK, SESSIONS
from server.settings import Settings
from tests.conftest import Session
from tests.seed import PASSWORD, Seed, add_learners, quiz_body


async def _login(client: TestClient[Any, Any], username: str) -> Session:
    async with client.post("/api/login", json={"username": username, "password": PASSWORD}) as resp:
        body = await resp.json()
        assert resp.status == 200, body
    return Session(client, body["csrf_token"], body["user"])


@pytest.mark.rule("B5.12-one-per-place")
async def test_two_processes_starting_two_tests_leave_one_active_attempt(
    app: web.Application,
    settings: Settings,
    seed: Seed,
    login: Any,
    aiohttp_client: Any,
) -> None:
    other_process = await aiohttp_client(create_app(settings))
    instructor = await login("instructor")
    status, test = await instructor.call("POST", "/api/tests", json=quiz_body(seed))
    assert status == 201, test
    names = [f"racer{n}" for n in range(12)]
    async with app[SESSIONS]() as db:
        await add_learners(db, seed.group_id, names)
        await db.commit()
    here = [await login(name) for name in names]
    # One client (cookie jar) per learner, as the login fixture does for this process.
    there = [await _login(await aiohttp_client(other_process.server), name) for name in names]

    replies = await asyncio.gather(
        *(
            call
            for mine, theirs in zip(here, there, strict=True)
            for call in (
                mine.call("POST", f"/api/tests/{seed.test_id}/attempts", json={}),
                theirs.call("POST", f"/api/tests/{test['id']}/attempts", json={}),
            )
        )
    )

    for n in range(len(names)):
        pair = replies[2 * n : 2 * n + 2]
        assert sorted(status for status, _ in pair) == [201, 409], pair
        refused = next(body for status, body in pair if status == 409)
        assert refused["error"] == "other_attempt_active", refused
    async with app[SESSIONS]() as db:
        active = await db.execute(
            select(Attempt.user_id, func.count())
            .where(Attempt.status == AttemptStatus.ACTIVE.value)
            .group_by(Attempt.user_id)
        )
        counts = dict(active.all())
    assert len(counts) == len(names) and set(counts.values()) == {1}, counts


@pytest.mark.rule("B5.12-one-per-place")
async def test_the_database_refuses_a_second_active_attempt(
    app: web.Application, seed: Seed
) -> None:
    """The guarantee itself, whatever any process checked before inserting."""
    learner = seed.users["learner1"]
    now = app[CLOCK].now()

    def attempt(quiz_id: int, status: str) -> Attempt:
        return Attempt(
            quiz_id=quiz_id,
            user_id=learner,
            status=status,
            lease="x",
            started_at=now,
            deadline=now + timedelta(minutes=10),
            scale="4",
            total=0,
        )

    async with app[SESSIONS]() as db:
        second = await _second_test(app, seed)
        db.add(attempt(seed.test_id, AttemptStatus.ACTIVE.value))
        await db.commit()
        db.add(attempt(second, AttemptStatus.ACTIVE.value))
        with pytest.raises(IntegrityError):
            await db.commit()
        await db.rollback()
        # Submitted attempts do not count: the learner may then start another test.
        await db.execute(
            Attempt.__table__.update()
            .where(Attempt.user_id == learner)
            .values(status=AttemptStatus.SUBMITTED.value)
        )
        db.add(attempt(second, AttemptStatus.ACTIVE.value))
        await db.commit()


async def _second_test(app: web.Application, seed: Seed) -> int:
    from quiz.quizzes import create_quiz
    from server.sessions import Identity

    instructor = Identity(seed.users["instructor"], "instructor", "instructor", "", "", "")
    async with app[SESSIONS]() as db:
        quiz = await create_quiz(
            db,
            instructor,
            app[CLOCK].now(),
            program_id=seed.program_id,
            title="Второй тест",
            form="testing",
            time_limit_s=600,
            plan=dict.fromkeys(seed.section_ids, 1),
            group_id=seed.group_id,
        )
        await db.commit()
        return quiz.id
