"""The production calendar's API: staff see the loaded years and are warned in time
about a year appeal deadlines will need that has no calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.attestation.conftest import World


async def test_staff_see_loaded_years_and_learners_do_not(world: World) -> None:
    status, info = await world.s("head").call("GET", "/api/attestation/calendar")
    assert status == 200
    assert info["today"] == "2026-06-16"
    assert info["years"] == [{"year": 2026, "working_days": 247}]
    assert info["missing"] == []
    status, _ = await world.s("learner1").call("GET", "/api/attestation/calendar")
    assert status == 403


async def test_the_next_year_is_reported_missing_from_november(world: World) -> None:
    world.shift(datetime(2026, 11, 20, 9, 0, tzinfo=UTC) - world.now())
    await world.relogin("secretary")
    status, info = await world.s("secretary").call("GET", "/api/attestation/calendar")
    assert status == 200
    assert info["today"] == "2026-11-20"
    assert info["missing"] == [2027]
