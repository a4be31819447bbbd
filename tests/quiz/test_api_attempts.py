"""Attempts through the real server: start, resume, one tab, saves, submit, group, deadlines."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from quiz.models import AnswerEvent, Attempt, AttemptItem, Question
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from server.settings import Settings
from tests.conftest import Session
from tests.seed import Seed, add_learners, eventually, quiz_body


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test changes (parametrize ``overrides`` to change them)."""
    return {}


@pytest.fixture
def settings(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """The shared settings with this test's overrides."""
    return settings.replace(**overrides)


async def _start(session: Session, test_id: int, **body: Any) -> tuple[int, Any]:
    return await session.call("POST", f"/api/tests/{test_id}/attempts", json=body)


async def _save(
    session: Session, attempt: dict[str, Any], question_id: int, option_id: int | None, **extra: Any
) -> tuple[int, Any]:
    body = {"option_id": option_id, "lease": attempt["lease"], **extra}
    return await session.call(
        "PUT", f"/api/attempts/{attempt['attempt_id']}/answers/{question_id}", json=body
    )


def _right(question: dict[str, Any]) -> int:
    return int(next(o["id"] for o in question["options"] if o["text"].startswith("верно")))


def _wrong(question: dict[str, Any]) -> int:
    return int(next(o["id"] for o in question["options"] if o["text"].startswith("неверно")))


def _ticket(attempt: dict[str, Any]) -> list[tuple[int, list[int]]]:
    return [(q["id"], [o["id"] for o in q["options"]]) for q in attempt["questions"]]


async def _sections_of_attempts(app: web.Application) -> dict[int, Counter[int]]:
    """Section id → count of questions, per attempt, from the database."""
    async with app[SESSIONS]() as db:
        rows = await db.execute(
            select(AttemptItem.attempt_id, Question.section_id).join(
                Question, Question.id == AttemptItem.question_id
            )
        )
        out: dict[int, Counter[int]] = {}
        for attempt_id, section_id in rows:
            out.setdefault(attempt_id, Counter())[section_id] += 1
        return out


@pytest.mark.rule("B5.6-sections")
@pytest.mark.rule("B5.8-three-options")
async def test_start_then_resume_gives_the_same_ticket_and_answers(
    client: TestClient[Any, Any], seed: Seed, login: Any, app: web.Application
) -> None:
    learner = await login("learner1")
    before = app[CLOCK].now()
    status, attempt = await _start(learner, seed.test_id)
    assert status == 201, attempt
    deadline = datetime.fromisoformat(attempt["deadline"])
    server_time = datetime.fromisoformat(attempt["server_time"])
    started = datetime.fromisoformat(attempt["started_at"])
    assert before <= started <= server_time
    assert deadline == started + timedelta(seconds=600)
    assert 590 < attempt["seconds_left"] <= 600
    assert attempt["status"] == "active" and attempt["result"] is None and attempt["lease"]
    assert [q["position"] for q in attempt["questions"]] == [1, 2, 3, 4, 5, 6]
    for question in attempt["questions"]:
        assert len(question["options"]) == 3, question
        assert question["option_id"] is None and "correct_option_id" not in question
        assert sum(o["text"].startswith("верно") for o in question["options"]) == 1
    sections = (await _sections_of_attempts(app))[attempt["attempt_id"]]
    assert sections == Counter({s: 2 for s in seed.section_ids})

    first, second = attempt["questions"][0], attempt["questions"][3]
    for question, option in ((first, _wrong(first)), (second, _right(second))):
        status, body = await _save(learner, attempt, question["id"], option)
        assert status == 200, body
        assert body["saved"] is True and body["option_id"] == option
        assert body["deadline"] == attempt["deadline"] and "server_time" in body

    status, resumed = await _start(learner, seed.test_id, lease=attempt["lease"])
    assert status == 200, resumed
    assert resumed["attempt_id"] == attempt["attempt_id"]
    assert resumed["lease"] == attempt["lease"] and resumed["deadline"] == attempt["deadline"]
    assert _ticket(resumed) == _ticket(attempt), "questions and options keep their order"
    chosen = {q["id"]: q["option_id"] for q in resumed["questions"]}
    assert chosen == {
        q["id"]: {first["id"]: _wrong(first), second["id"]: _right(second)}.get(q["id"])
        for q in attempt["questions"]
    }
    assert resumed["answered"] == 2
    status, read = await learner.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert status == 200 and _ticket(read) == _ticket(attempt) and "lease" not in read
    assert {q["id"]: q["option_id"] for q in read["questions"]} == chosen


@pytest.mark.rule("B5.12-one-per-place")
async def test_one_tab_holds_the_attempt_until_another_takes_it_over(
    seed: Seed, login: Any
) -> None:
    first_tab = await login("learner1")
    second_tab = await login("learner1")
    status, attempt = await _start(first_tab, seed.test_id)
    assert status == 201
    question = attempt["questions"][0]
    assert (await _save(first_tab, attempt, question["id"], _right(question)))[0] == 200

    for body in ({}, {"lease": "stale-or-made-up"}, {"takeover": False}):
        status, refused = await _start(second_tab, seed.test_id, **body)
        assert (status, refused["error"]) == (409, "attempt_in_use"), refused
        assert refused["attempt_id"] == attempt["attempt_id"]
    status, taken = await _start(second_tab, seed.test_id, takeover=True)
    assert status == 200, taken
    assert taken["attempt_id"] == attempt["attempt_id"] and taken["lease"] != attempt["lease"]
    assert _ticket(taken) == _ticket(attempt) and taken["deadline"] == attempt["deadline"]
    assert taken["questions"][0]["option_id"] == _right(question), "answers survive a takeover"

    # The old tab is cut off: it can neither save nor submit nor resume with its lease.
    other = attempt["questions"][1]
    status, body = await _save(first_tab, attempt, other["id"], _right(other))
    assert (status, body["error"]) == (409, "attempt_in_use"), body
    status, body = await first_tab.call(
        "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={"lease": attempt["lease"]}
    )
    assert (status, body["error"]) == (409, "attempt_in_use"), body
    status, body = await _start(first_tab, seed.test_id, lease=attempt["lease"])
    assert (status, body["error"]) == (409, "attempt_in_use"), body
    for tab in (first_tab, second_tab):  # no tab submits without the lease
        status, body = await tab.call(
            "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={}
        )
        assert (status, body["error"], body.get("field")) == (422, "invalid", "lease"), body
    # The new tab carries on.
    assert (await _save(second_tab, taken, other["id"], _right(other)))[0] == 200
    status, read = await second_tab.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert status == 200 and read["status"] == "active" and read["answered"] == 2


@pytest.mark.rule("B5.12-one-per-place")
async def test_a_second_test_waits_until_the_active_attempt_is_submitted(
    seed: Seed, login: Any
) -> None:
    instructor = await login("instructor")
    status, second_test = await instructor.call("POST", "/api/tests", json=quiz_body(seed))
    assert status == 201, second_test
    learner = await login("learner1")
    status, attempt = await _start(learner, seed.test_id)
    assert status == 201
    status, body = await _start(learner, second_test["id"])
    assert (status, body["error"]) == (409, "other_attempt_active"), body
    assert body["attempt_id"] == attempt["attempt_id"]
    status, _ = await learner.call(
        "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={"lease": attempt["lease"]}
    )
    assert status == 200
    status, body = await _start(learner, second_test["id"])
    assert status == 201, body


@pytest.mark.rule("B5.12-one-per-place")
async def test_two_tabs_starting_at_the_same_moment_get_one_attempt(
    app: web.Application, seed: Seed, login: Any
) -> None:
    tabs = [await login("learner1") for _ in range(4)]
    replies = await asyncio.gather(*(_start(tab, seed.test_id) for tab in tabs))
    statuses = sorted(status for status, _ in replies)
    assert statuses == [201, 409, 409, 409], replies
    assert all(body["error"] == "attempt_in_use" for status, body in replies if status == 409)
    async with app[SESSIONS]() as db:
        assert await db.scalar(select(func.count()).select_from(Attempt)) == 1


@pytest.mark.rule("B5.12-one-per-place")
async def test_two_tests_started_at_the_same_moment_give_one_active_attempt(
    app: web.Application, seed: Seed, login: Any
) -> None:
    instructor = await login("instructor")
    test_ids = [seed.test_id]
    for _ in range(3):
        status, test = await instructor.call("POST", "/api/tests", json=quiz_body(seed))
        assert status == 201, test
        test_ids.append(test["id"])
    tabs = [await login("learner1") for _ in test_ids]
    replies = await asyncio.gather(
        *(_start(tab, test_id) for tab, test_id in zip(tabs, test_ids, strict=True))
    )
    assert sorted(status for status, _ in replies) == [201, 409, 409, 409], replies
    assert {body["error"] for status, body in replies if status == 409} == {"other_attempt_active"}
    async with app[SESSIONS]() as db:
        assert await db.scalar(select(func.count()).select_from(Attempt)) == 1


async def test_saves_are_idempotent_validated_and_clearable(
    app: web.Application, seed: Seed, login: Any
) -> None:
    learner = await login("learner1")
    status, attempt = await _start(learner, seed.test_id)
    assert status == 201
    question, other = attempt["questions"][0], attempt["questions"][1]
    right = _right(question)

    async def events() -> list[int | None]:
        async with app[SESSIONS]() as db:
            rows = await db.scalars(
                select(AnswerEvent.option_id)
                .where(
                    AnswerEvent.attempt_id == attempt["attempt_id"],
                    AnswerEvent.question_id == question["id"],
                )
                .order_by(AnswerEvent.id)
            )
            return list(rows)

    for _ in range(2):
        status, body = await _save(learner, attempt, question["id"], right)
        assert status == 200 and body["option_id"] == right, body
    assert await events() == [right], "the same answer twice is one event"
    for _ in range(2):
        status, body = await _save(learner, attempt, question["id"], None)
        assert status == 200 and body["option_id"] is None, body
    assert await events() == [right, None]
    status, read = await learner.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert read["questions"][0]["option_id"] is None and read["answered"] == 0

    status, body = await _save(learner, attempt, question["id"], other["options"][0]["id"])
    assert (status, body["error"]) == (422, "invalid"), "an option of another question"
    async with app[SESSIONS]() as db:
        outside = await db.scalar(
            select(Question.id)
            .where(Question.id.not_in([q["id"] for q in attempt["questions"]]))
            .limit(1)
        )
    status, body = await _save(learner, attempt, int(outside or 0), None)
    assert (status, body["error"]) == (404, "not_found"), "a question not in the attempt"
    status, body = await _save(learner, attempt, question["id"], right, lease="not-the-lease")
    assert (status, body["error"]) == (409, "attempt_in_use"), body
    status, body = await learner.call(
        "PUT",
        f"/api/attempts/{attempt['attempt_id']}/answers/{question['id']}",
        json={"option_id": right},
    )
    assert (status, body["error"], body.get("field")) == (422, "invalid", "lease"), body
    assert await events() == [right, None], "refused saves leave no trace"


@pytest.mark.rule("B5.8-three-options")
async def test_submit_grades_once_and_closes_the_attempt(
    app: web.Application, seed: Seed, login: Any
) -> None:
    learner = await login("learner1")
    status, attempt = await _start(learner, seed.test_id)
    assert status == 201
    questions = attempt["questions"]
    for i, question in enumerate(questions[:5]):
        option = _right(question) if i < 3 else _wrong(question)
        assert (await _save(learner, attempt, question["id"], option))[0] == 200
    submit = f"/api/attempts/{attempt['attempt_id']}/submit"
    status, result = await learner.call("POST", submit, json={"lease": attempt["lease"]})
    assert status == 200, result
    # 3 of 6 = 50 %: удовлетворительно on the 4-point scale of testing (41–55 %).
    assert (result["correct"], result["total"], result["percent"]) == (3, 6, 50)
    assert (result["mark"], result["scale"], result["passed"]) == ("satisfactory", "4", True)
    status, again = await learner.call("POST", submit, json={"lease": attempt["lease"]})
    assert status == 200 and {**again, "server_time": None} == {**result, "server_time": None}
    status, body = await _save(learner, attempt, questions[5]["id"], _right(questions[5]))
    assert (status, body["error"]) == (409, "attempt_submitted"), body
    status, body = await _start(learner, seed.test_id, lease=attempt["lease"])
    assert status == 200 and body["status"] == "submitted" and "lease" not in body
    assert body["result"]["percent"] == 50 and body["result"]["submitted_by"] == "learner"
    for question in body["questions"]:
        assert question["correct_option_id"] == _right(question)
    status, results = await learner.call("GET", "/api/results")
    assert status == 200 and [r["attempt_id"] for r in results] == [attempt["attempt_id"]]
    async with app[SESSIONS]() as db:
        stored = await db.get(Attempt, attempt["attempt_id"])
        assert stored is not None and stored.correct == 3 and stored.raw_percent == 50.0


@pytest.mark.rule("B5.11-group")
@pytest.mark.rule("B5.6-sections")
@pytest.mark.rule("B5.8-three-options")
async def test_the_whole_group_starts_at_once(
    client: TestClient[Any, Any], seed: Seed, login: Any, app: web.Application
) -> None:
    async with app[SESSIONS]() as db:
        extra = await add_learners(db, seed.group_id, [f"extra{i}" for i in range(1, 13)])
    names = [f"learner{i}" for i in (1, 2, 3)] + sorted(extra)
    learners = await asyncio.gather(*(login(name) for name in names))
    replies = await asyncio.gather(*(_start(learner, seed.test_id) for learner in learners))
    assert [status for status, _ in replies] == [201] * len(names), replies
    attempts = [body for _, body in replies]
    assert len({a["attempt_id"] for a in attempts}) == len(names)
    sections = await _sections_of_attempts(app)
    for attempt in attempts:
        assert sections[attempt["attempt_id"]] == Counter({s: 2 for s in seed.section_ids})
        assert len(sections[attempt["attempt_id"]]) >= 2
        assert all(len(q["options"]) == 3 for q in attempt["questions"])
    # Everyone answers their first question at the same moment; every answer is kept.
    saves = await asyncio.gather(
        *(
            _save(learner, attempt, attempt["questions"][0]["id"], _right(attempt["questions"][0]))
            for learner, attempt in zip(learners, attempts, strict=True)
        )
    )
    assert [status for status, _ in saves] == [200] * len(names), saves
    async with app[SESSIONS]() as db:
        answered = await db.scalar(
            select(func.count())
            .select_from(AttemptItem)
            .where(AttemptItem.chosen_option_id.is_not(None))
        )
    assert answered == len(names)


async def _one_minute_attempt(seed: Seed, login: Any) -> tuple[Session, dict[str, Any]]:
    instructor = await login("instructor")
    status, test = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, time_limit_minutes=1)
    )
    assert status == 201, test
    learner = await login("learner1")
    status, attempt = await _start(learner, test["id"])
    assert status == 201, attempt
    started = datetime.fromisoformat(attempt["started_at"])
    assert datetime.fromisoformat(attempt["deadline"]) == started + timedelta(minutes=1)
    return learner, attempt


def _move_clock(app: web.Application, to: datetime) -> None:
    clock = app[CLOCK]
    clock.offset += to - clock.now()


async def test_late_answers_are_refused_after_the_grace_and_the_sweeper_submits(
    client: TestClient[Any, Any], seed: Seed, login: Any, app: web.Application
) -> None:
    learner, attempt = await _one_minute_attempt(seed, login)
    deadline = datetime.fromisoformat(attempt["deadline"])
    grace = timedelta(seconds=app[SETTINGS].answer_grace_seconds)
    first, second = attempt["questions"][0], attempt["questions"][1]

    _move_clock(app, deadline + grace / 2)  # an in-flight save, within the grace
    status, body = await _save(learner, attempt, first["id"], _right(first))
    assert status == 200, body
    status, read = await learner.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert read["status"] == "active" and read["seconds_left"] == 0.0

    _move_clock(app, deadline + grace + timedelta(seconds=1))
    status, body = await _save(learner, attempt, second["id"], _right(second))
    assert (status, body["error"]) == (409, "deadline_passed"), body
    assert body["deadline"] == attempt["deadline"]
    assert datetime.fromisoformat(body["server_time"]) > deadline + grace

    async def submitted_by_sweeper() -> Attempt | None:
        async with app[SESSIONS]() as db:
            row = await db.get(Attempt, attempt["attempt_id"])
            return row if row is not None and row.status == "submitted" else None

    swept = await eventually(submitted_by_sweeper, within=5.0)
    assert swept.submitted_by == "deadline" and swept.correct == 1, "the in-grace save counts"
    status, read = await learner.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert status == 200 and read["status"] == "submitted"
    assert read["result"]["submitted_by"] == "deadline" and read["result"]["correct"] == 1
    status, body = await _save(learner, attempt, second["id"], _right(second))
    assert (status, body["error"]) == (409, "deadline_passed"), body


@pytest.mark.parametrize("overrides", [{"sweep_seconds": 3600.0}])
async def test_reading_an_overdue_attempt_submits_it_without_the_sweeper(
    client: TestClient[Any, Any], seed: Seed, login: Any, app: web.Application
) -> None:
    learner, attempt = await _one_minute_attempt(seed, login)
    deadline = datetime.fromisoformat(attempt["deadline"])
    _move_clock(app, deadline + timedelta(minutes=5))
    async with app[SESSIONS]() as db:
        row = await db.get(Attempt, attempt["attempt_id"])
        assert row is not None and row.status == "active", "the sweeper is asleep"
    status, read = await learner.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert status == 200, read
    assert read["status"] == "submitted" and read["seconds_left"] == 0.0
    assert read["result"]["submitted_by"] == "deadline" and read["result"]["percent"] == 0
    # Resuming an overdue attempt also finds it submitted.
    status, body = await _start(learner, read["test_id"], lease=attempt["lease"])
    assert status == 200 and body["status"] == "submitted"
