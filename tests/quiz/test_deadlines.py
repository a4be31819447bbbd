"""Deadline arithmetic (no database): the window cap, time left, the grace, window edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from quiz.deadlines import (
    accepts_answer,
    attempt_deadline,
    is_overdue,
    seconds_left,
    window_state,
)

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("limit", "closes_at", "expected"),
    [
        (30 * MINUTE, None, T0 + 30 * MINUTE),
        (30 * MINUTE, T0 + 60 * MINUTE, T0 + 30 * MINUTE),
        (30 * MINUTE, T0 + 30 * MINUTE, T0 + 30 * MINUTE),
        (30 * MINUTE, T0 + 30 * MINUTE - TICK, T0 + 30 * MINUTE - TICK),
        (30 * MINUTE, T0 + 10 * MINUTE, T0 + 10 * MINUTE),
        (MINUTE, T0 + SECOND, T0 + SECOND),
    ],
    ids=["no-window", "window-later", "window-equal", "window-a-tick-earlier", "capped", "tiny"],
)
def test_the_deadline_is_start_plus_limit_capped_by_the_window(
    limit: timedelta, closes_at: datetime | None, expected: datetime
) -> None:
    assert attempt_deadline(T0, limit, closes_at) == expected


def test_the_deadline_cap_works_across_time_zones() -> None:
    moscow = timezone(timedelta(hours=3))
    closes_at = datetime(2030, 3, 1, 12, 10, tzinfo=moscow)  # 09:10 UTC
    deadline = attempt_deadline(T0, 30 * MINUTE, closes_at)
    assert deadline == T0 + 10 * MINUTE


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (T0 - 90 * SECOND, 90.0),
        (T0 - TICK, 0.000001),
        (T0, 0.0),
        (T0 + TICK, 0.0),
        (T0 + 3600 * SECOND, 0.0),
    ],
)
def test_seconds_left_is_never_negative(now: datetime, expected: float) -> None:
    assert seconds_left(T0, now) == pytest.approx(expected)
    assert seconds_left(T0, now) >= 0.0


GRACE = timedelta(seconds=5)


@pytest.mark.parametrize(
    ("now", "accepted", "overdue"),
    [
        (T0 - MINUTE, True, False),
        (T0, True, False),
        (T0 + 4 * SECOND, True, False),
        (T0 + GRACE - TICK, True, False),
        (T0 + GRACE, True, False),
        (T0 + GRACE + TICK, False, True),
        (T0 + MINUTE, False, True),
    ],
    ids=[
        "before",
        "at-deadline",
        "in-grace",
        "grace-minus-tick",
        "at-grace-end",
        "tick-after",
        "late",
    ],
)
def test_answers_are_accepted_up_to_and_including_deadline_plus_grace(
    now: datetime, accepted: bool, overdue: bool
) -> None:
    assert accepts_answer(T0, now, GRACE) is accepted
    assert is_overdue(T0, now, GRACE) is overdue
    assert accepted is not overdue, "an answer is accepted exactly while the sweeper waits"


def test_no_grace_means_the_deadline_itself_is_the_last_moment() -> None:
    assert accepts_answer(T0, T0, timedelta(0))
    assert not accepts_answer(T0, T0 + TICK, timedelta(0))


OPENS = T0
CLOSES = T0 + 60 * MINUTE


@pytest.mark.parametrize(
    ("opens_at", "closes_at", "now", "state"),
    [
        (None, None, T0, "open"),
        (OPENS, CLOSES, OPENS - TICK, "upcoming"),
        (OPENS, CLOSES, OPENS, "open"),
        (OPENS, CLOSES, CLOSES - TICK, "open"),
        (OPENS, CLOSES, CLOSES, "closed"),
        (OPENS, CLOSES, CLOSES + TICK, "closed"),
        (OPENS, None, OPENS - TICK, "upcoming"),
        (OPENS, None, OPENS + 1000 * MINUTE, "open"),
        (None, CLOSES, CLOSES - TICK, "open"),
        (None, CLOSES, CLOSES, "closed"),
    ],
)
def test_window_states_at_the_exact_edges(
    opens_at: datetime | None, closes_at: datetime | None, now: datetime, state: str
) -> None:
    assert window_state(opens_at, closes_at, now) == state
