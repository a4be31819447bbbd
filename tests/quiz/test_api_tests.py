"""Creating tests through the real server: draw plans, forms and scales, availability windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from server.appkeys import CLOCK
from tests.conftest import Session
from tests.seed import Seed, quiz_body

FORM_SCALES = [
    ("exam", "4"),
    ("referat", "4"),
    ("testing", "4"),
    ("credit", "2"),
    ("interview", "2"),
    ("survey", "2"),
]


@pytest.mark.rule("B6.1-form-scale")
async def test_the_form_decides_the_scale(seed: Seed, login: Any) -> None:
    instructor = await login("instructor")
    learner = await login("learner1")
    for form, scale in FORM_SCALES:
        status, body = await instructor.call(
            "POST", "/api/tests", json=quiz_body(seed, form=form, title=form)
        )
        assert status == 201, body
        assert (body["form"], body["scale"]) == (form, scale)
    status, body = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, form="testing", scale="2")
    )
    assert status == 201 and body["scale"] == "4", "the scale follows the form, not the caller"
    status, body = await instructor.call("POST", "/api/tests", json=quiz_body(seed, form="essay"))
    assert (status, body["error"]) == (422, "invalid"), body
    status, listed = await learner.call("GET", "/api/tests")
    assert status == 200
    scales = {t["title"]: (t["form"], t["scale"]) for t in listed}
    for form, scale in FORM_SCALES:
        assert scales[form] == (form, scale)
    # A credit test is marked зачтено / не зачтено.
    credit = next(t["id"] for t in listed if t["form"] == "credit")
    status, attempt = await learner.call("POST", f"/api/tests/{credit}/attempts", json={})
    assert status == 201, attempt
    status, result = await learner.call(
        "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={"lease": attempt["lease"]}
    )
    assert status == 200 and (result["scale"], result["mark"]) == ("2", "failed"), result


@pytest.mark.rule("B5.6-sections")
async def test_a_plan_must_draw_from_at_least_two_sections(seed: Seed, login: Any) -> None:
    instructor = await login("instructor")
    one, two, three = (str(s) for s in seed.section_ids)
    for plan in ({one: 4}, {one: 2, two: 0, three: 0}, {}):
        status, body = await instructor.call(
            "POST", "/api/tests", json=quiz_body(seed, sections=plan)
        )
        assert (status, body["error"]) == (422, "sections_required"), (plan, body)
    for plan, error in [
        ({one: 2, two: -1}, "invalid"),
        ({one: 2, "999999": 1}, "invalid"),
        ({one: 5, two: 1}, "not_enough_questions"),
    ]:
        status, body = await instructor.call(
            "POST", "/api/tests", json=quiz_body(seed, sections=plan)
        )
        assert (status, body["error"]) == (422, error), (plan, body)
    status, body = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, sections={one: 1, two: 1, three: 0})
    )
    assert status == 201, body
    status, listed = await instructor.call("GET", "/api/tests")
    assert next(t for t in listed if t["id"] == body["id"])["questions"] == 2


async def test_other_test_fields_are_checked(seed: Seed, login: Any) -> None:
    instructor = await login("instructor")
    now = datetime.now().astimezone()
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"time_limit_minutes": 0}, (422, "invalid")),
        ({"time_limit_minutes": 24 * 60 + 1}, (422, "invalid")),
        ({"title": "  "}, (422, "invalid")),
        ({"program_id": 999_999}, (404, "not_found")),
        ({"group_id": 999_999}, (422, "invalid")),
        (
            {"opens_at": now.isoformat(), "closes_at": (now - timedelta(hours=1)).isoformat()},
            (422, "invalid"),
        ),
        ({"closes_at": "tomorrow"}, (422, "invalid")),
    ]
    for changes, status_error in cases:
        status, body = await instructor.call("POST", "/api/tests", json=quiz_body(seed, **changes))
        assert (status, body["error"]) == status_error, (changes, body)
    status, body = await instructor.call(
        "POST", "/api/tests", json=quiz_body(seed, time_limit_minutes=24 * 60)
    )
    assert status == 201, body


async def _window_test(
    instructor: Session, seed: Seed, opens: datetime | None, closes: datetime | None, title: str
) -> int:
    body = quiz_body(seed, title=title, time_limit_minutes=60)
    if opens is not None:
        body["opens_at"] = opens.isoformat()
    if closes is not None:
        body["closes_at"] = closes.isoformat()
    status, created = await instructor.call("POST", "/api/tests", json=body)
    assert status == 201, created
    return int(created["id"])


async def test_the_availability_window_opens_closes_and_caps_the_deadline(
    app: web.Application, seed: Seed, login: Any
) -> None:
    clock = app[CLOCK]
    now = clock.now()
    instructor = await login("instructor")
    upcoming = await _window_test(instructor, seed, now + timedelta(hours=1), None, "upcoming")
    closed = await _window_test(
        instructor, seed, now - timedelta(hours=2), now - timedelta(hours=1), "closed"
    )
    closing = await _window_test(instructor, seed, None, now + timedelta(minutes=5), "closing")
    learner = await login("learner1")
    status, listed = await learner.call("GET", "/api/tests")
    windows = {t["title"]: t["window"] for t in listed}
    assert windows == {
        "Тест 1": "open",
        "upcoming": "upcoming",
        "closed": "closed",
        "closing": "open",
    }

    status, body = await learner.call("POST", f"/api/tests/{upcoming}/attempts", json={})
    assert (status, body["error"]) == (409, "not_open"), body
    status, body = await learner.call("POST", f"/api/tests/{closed}/attempts", json={})
    assert (status, body["error"]) == (409, "closed"), body

    # A 60-minute test five minutes before the window closes ends when the window does.
    status, attempt = await learner.call("POST", f"/api/tests/{closing}/attempts", json={})
    assert status == 201, attempt
    closes_at = next(t["closes_at"] for t in listed if t["id"] == closing)
    assert datetime.fromisoformat(attempt["deadline"]) == datetime.fromisoformat(closes_at)
    assert 0 < attempt["seconds_left"] <= 300
    status, _ = await learner.call(
        "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={"lease": attempt["lease"]}
    )
    assert status == 200

    # An hour later the upcoming test is open; at its closing the closing one is closed.
    clock.offset = timedelta(hours=1)
    status, body = await learner.call("POST", f"/api/tests/{upcoming}/attempts", json={})
    assert status == 201, body
    other = await login("learner2")
    clock.offset = datetime.fromisoformat(closes_at) - now
    status, body = await other.call("POST", f"/api/tests/{closing}/attempts", json={})
    assert (status, body["error"]) == (409, "closed"), "the window end is exclusive"
