"""Crash safety: ``examroom serve`` is SIGKILLed mid-attempt and restarted on the same database.

Every answer the server acknowledged (over HTTP or socket.io) must be there after the
restart, and the attempt resumes with the same lease and deadline. An attempt whose deadline
passed while the server was down is submitted by the sweeper after the restart. Both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from quiz.models import AnswerEvent, Attempt, AttemptItem
from server.clock import Clock
from server.settings import Settings
from tests.seed import PASSWORD
from tests.serverproc import (
    Api,
    QuizSocket,
    ServerProc,
    database,
    db_env,
    seed_database,
    start_server,
)

pytestmark = pytest.mark.slow

SERVER_ENV = {"EXAMROOM_SWEEP_SECONDS": "0.2", "EXAMROOM_LOG_LEVEL": "WARNING"}
Save = Callable[[int, int], Awaitable[bool]]


class Harness:
    """Servers, HTTP sessions and sockets of one test; all closed or killed on the way out."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.env = {**db_env(settings), **SERVER_ENV}
        self.log_dir = log_dir
        self.servers: list[ServerProc] = []
        self.apis: list[Api] = []
        self.sockets: list[QuizSocket] = []

    async def serve(self) -> ServerProc:
        server = await asyncio.to_thread(start_server, "serve", self.env, self.log_dir)
        self.servers.append(server)
        return server

    async def learner(self, server: ServerProc, username: str = "learner1") -> Api:
        api = Api(server.url)
        self.apis.append(api)
        return await api.login(username, PASSWORD)

    async def socket(self, server: ServerProc, api: Api) -> QuizSocket:
        sock = QuizSocket(server.url, api.cookie)
        self.sockets.append(sock)
        return await sock.connect()

    async def close(self) -> None:
        for sock in self.sockets:
            await sock.close()
        for api in self.apis:
            await api.close()
        for server in self.servers:
            await asyncio.to_thread(server.stop)


@pytest.fixture
async def harness(settings: Settings, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(settings, tmp_path / "logs")
    try:
        yield h
    finally:
        await h.close()


def http_saver(api: Api, attempt_id: int, lease: str) -> Save:
    async def save(question_id: int, option_id: int) -> bool:
        status, body = await api.call(
            "PUT",
            f"/api/attempts/{attempt_id}/answers/{question_id}",
            json={"option_id": option_id, "lease": lease},
        )
        return status == 200 and body.get("saved") is True

    return save


def socket_saver(sock: QuizSocket, attempt_id: int, lease: str) -> Save:
    async def save(question_id: int, option_id: int) -> bool:
        ack = await sock.call(
            "save",
            {
                "attempt_id": attempt_id,
                "question_id": question_id,
                "option_id": option_id,
                "lease": lease,
            },
            within=3,
        )
        return isinstance(ack, dict) and ack.get("saved") is True

    return save


async def stored_items(settings: Settings, attempt_id: int) -> dict[int, int | None]:
    async with database(settings) as sessions, sessions() as db:
        rows = await db.execute(
            select(AttemptItem.question_id, AttemptItem.chosen_option_id).where(
                AttemptItem.attempt_id == attempt_id
            )
        )
        return {q: o for q, o in rows}


async def test_sigkill_mid_burst_keeps_every_acknowledged_answer(
    settings: Settings, harness: Harness
) -> None:
    seed = await seed_database(settings)
    server = await harness.serve()
    api = await harness.learner(server)
    status, attempt = await api.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert status == 201, attempt
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    sock = await harness.socket(server, api)
    assert (await sock.call("join", {"attempt_id": attempt_id, "lease": lease}))["holder"]

    questions = attempt["questions"]
    assert len(questions) == 6
    # Three lanes, each the only writer of its questions and sequential, so the last
    # acknowledged save of a question is well defined: two over HTTP, one over socket.io.
    lanes: list[tuple[list[dict[str, Any]], Save]] = [
        (questions[0:2], http_saver(api, attempt_id, lease)),
        (questions[2:4], http_saver(api, attempt_id, lease)),
        (questions[4:6], socket_saver(sock, attempt_id, lease)),
    ]
    acked: list[tuple[int, int]] = []
    last: dict[int, int] = {}
    in_flight: dict[int, tuple[int, int]] = {}
    enough = asyncio.Event()

    async def lane(index: int, own: list[dict[str, Any]], save: Save) -> None:
        for n in range(10_000):
            question = own[n % len(own)]
            # Each save of a question picks another option than its previous one.
            option_id = question["options"][(n // len(own)) % 3]["id"]
            in_flight[index] = (question["id"], option_id)
            try:
                ok = await save(question["id"], option_id)
            except Exception:  # the server died under this save: not acknowledged
                return
            if not ok:
                return
            del in_flight[index]
            acked.append((question["id"], option_id))
            last[question["id"]] = option_id
            if len(acked) >= 60:
                enough.set()

    tasks = [asyncio.create_task(lane(i, own, save)) for i, (own, save) in enumerate(lanes)]
    try:
        await asyncio.wait_for(enough.wait(), 20)
        server.kill()  # SIGKILL in the middle of the burst
        await asyncio.wait_for(asyncio.gather(*tasks), 15)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*tasks, return_exceptions=True)
    assert not server.alive()
    assert len(acked) >= 60 and len(last) == 6
    died_under = dict(in_flight.values())  # saves sent but never acknowledged

    # Straight from the database, before any server touches it again.
    items = await stored_items(settings, attempt_id)
    for question_id, option_id in last.items():
        stored = items[question_id]
        assert stored == option_id or stored == died_under.get(question_id), (
            f"question {question_id}: acknowledged {option_id}, stored {stored}"
        )
    async with database(settings) as sessions, sessions() as db:
        events = Counter(
            (q, o)
            for q, o in await db.execute(
                select(AnswerEvent.question_id, AnswerEvent.option_id).where(
                    AnswerEvent.attempt_id == attempt_id
                )
            )
        )
    for pair, times in Counter(acked).items():
        assert events[pair] >= times, f"acknowledged save {pair} has no journal event"

    await sock.close()
    restarted = await harness.serve()
    api.url = restarted.url  # the session lives in the database: the same cookie works
    status, body = await api.call("GET", f"/api/attempts/{attempt_id}")
    assert status == 200, body
    assert body["status"] == "active"
    assert {q["id"]: q["option_id"] for q in body["questions"]} == items
    assert body["deadline"] == attempt["deadline"]
    assert body["seconds_left"] < attempt["seconds_left"]

    status, resumed = await api.call(
        "POST", f"/api/tests/{seed.test_id}/attempts", json={"lease": lease}
    )
    assert status == 200, resumed
    assert resumed["attempt_id"] == attempt_id and resumed["lease"] == lease
    assert resumed["deadline"] == attempt["deadline"]  # the remaining time was not reset
    assert 0 < resumed["seconds_left"] < attempt["seconds_left"]

    # The page reconnects and goes on answering.
    sock2 = await harness.socket(restarted, api)
    assert (await sock2.call("join", {"attempt_id": attempt_id, "lease": lease}))["holder"]
    question = questions[0]
    right = next(o["id"] for o in question["options"] if o["text"].startswith("верно"))
    assert await socket_saver(sock2, attempt_id, lease)(question["id"], right)
    assert (await stored_items(settings, attempt_id))[question["id"]] == right


async def test_deadline_passed_while_down_is_submitted_after_restart(
    settings: Settings, harness: Harness
) -> None:
    seed = await seed_database(settings)
    server = await harness.serve()
    api = await harness.learner(server)
    status, attempt = await api.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert status == 201, attempt
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    first, second = attempt["questions"][0], attempt["questions"][1]
    right = next(o["id"] for o in first["options"] if o["text"].startswith("верно"))
    wrong = next(o["id"] for o in second["options"] if not o["text"].startswith("верно"))
    save = http_saver(api, attempt_id, lease)
    assert await save(first["id"], right)
    assert await save(second["id"], wrong)
    server.kill()

    # Time passes while the server is down: the deadline is now two minutes ago.
    async with database(settings) as sessions, sessions() as db:
        await db.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id)
            .values(deadline=Clock().now() - timedelta(minutes=2))
        )
        await db.commit()

    restarted = await harness.serve()
    # The sweeper, not a request, submits it: poll the database without calling the API.
    async with database(settings) as sessions:
        until = time.monotonic() + 15
        while True:
            async with sessions() as db:
                row = await db.get(Attempt, attempt_id)
            assert row is not None
            if row.status == "submitted" or time.monotonic() > until:
                break
            await asyncio.sleep(0.1)
    assert row.status == "submitted", "the sweeper did not submit the overdue attempt"
    assert row.submitted_by == "deadline"
    assert row.correct == 1 and row.total == len(attempt["questions"])
    assert row.submitted_at is not None and row.submitted_at > row.deadline

    api.url = restarted.url
    status, body = await api.call("GET", f"/api/attempts/{attempt_id}")
    assert status == 200 and body["status"] == "submitted", body
    assert body["result"]["correct"] == 1 and body["result"]["submitted_by"] == "deadline"
    status, refused = await api.call(
        "PUT",
        f"/api/attempts/{attempt_id}/answers/{first['id']}",
        json={"option_id": right, "lease": lease},
    )
    assert status == 409 and refused["error"] == "deadline_passed", refused
    assert datetime.fromisoformat(body["deadline"]) < datetime.fromisoformat(body["server_time"])
