"""A first pass through the API on both backends: login, start, save, submit, results."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.rule("A2.2-login")
async def test_learner_takes_a_test(seed: Any, login: Any) -> None:
    learner = await login("learner1")
    status, attempt = await learner.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert status == 201, attempt
    assert len(attempt["questions"]) == 6
    for q in attempt["questions"]:
        right = next(o for o in q["options"] if o["text"].startswith("верно"))
        status, body = await learner.call(
            "PUT",
            f"/api/attempts/{attempt['attempt_id']}/answers/{q['id']}",
            json={"option_id": right["id"], "lease": attempt["lease"]},
        )
        assert status == 200, body
    status, result = await learner.call(
        "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={"lease": attempt["lease"]}
    )
    assert status == 200, result
    assert result["percent"] == 100 and result["mark"] == "excellent"
    status, results = await learner.call("GET", "/api/results")
    assert status == 200 and results[0]["attempt_id"] == attempt["attempt_id"]
