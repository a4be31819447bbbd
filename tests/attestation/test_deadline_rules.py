"""Calendar-day deadlines before and on the day of an attestation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from attestation.rules import deadlines, timing

EVENT = date(2026, 12, 10)
MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.rule("B2.7-notice-3d")
@pytest.mark.rule("B4.6-invitation")
@pytest.mark.parametrize(
    ("notified", "ok"),
    [
        (date(2026, 12, 1), True),
        (date(2026, 12, 7), True),  # exactly three days ahead
        (date(2026, 12, 8), False),
        (date(2026, 12, 10), False),
        (date(2026, 12, 11), False),
    ],
)
def test_notice_at_least_three_days_ahead(notified: date, ok: bool) -> None:
    assert deadlines.notice_in_time(notified, EVENT) is ok


@pytest.mark.rule("B4.2-remote-application")
@pytest.mark.parametrize(
    ("filed", "ok"),
    [
        (date(2026, 12, 7), True),
        (date(2026, 12, 8), True),  # exactly two calendar days (a weekend counts too)
        (date(2026, 12, 9), False),
        (date(2026, 12, 10), False),
    ],
)
def test_remote_application_two_calendar_days_before(filed: date, ok: bool) -> None:
    assert deadlines.remote_application_in_time(filed, EVENT) is ok


@pytest.mark.rule("B5.7-questionnaire")
@pytest.mark.parametrize(
    ("released", "ok"),
    [(date(2026, 12, 6), True), (date(2026, 12, 7), True), (date(2026, 12, 8), False)],
)
def test_questionnaire_released_three_days_before(released: date, ok: bool) -> None:
    assert deadlines.questionnaire_in_time(released, EVENT) is ok


def test_local_dates_follow_the_institution_not_utc() -> None:
    # 22:30 UTC on 6 December is already 7 December in Moscow: the notice is in time.
    at = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
    assert deadlines.local_date(at, MSK) == date(2026, 12, 7)
    assert deadlines.notice_in_time(deadlines.local_date(at, MSK), EVENT)
    with pytest.raises(ValueError):
        deadlines.local_date(datetime(2026, 12, 6, 12, 0), MSK)


@pytest.mark.rule("B6.5-same-day")
@pytest.mark.rule("B3.9-announce")
@pytest.mark.parametrize(
    ("announced", "ok"),
    [(date(2026, 12, 10), True), (date(2026, 12, 11), False), (date(2026, 12, 9), False)],
)
def test_decision_announced_on_the_day(announced: date, ok: bool) -> None:
    assert deadlines.announced_same_day(announced, EVENT) is ok


@pytest.mark.rule("B5.10-timing")
@pytest.mark.parametrize(("minutes", "ok"), [(19, False), (19.99, False), (20, True), (45, True)])
def test_preparation_at_least_20_minutes(minutes: float, ok: bool) -> None:
    assert timing.preparation_ok(timedelta(minutes=minutes)) is ok


@pytest.mark.rule("B5.10-timing")
@pytest.mark.parametrize(
    ("minutes", "ok"), [(0, False), (1, True), (15, True), (15.01, False), (20, False)]
)
def test_answer_at_most_15_minutes(minutes: float, ok: bool) -> None:
    assert timing.answer_ok(timedelta(minutes=minutes)) is ok


@pytest.mark.rule("B5.10-timing")
def test_answer_time_left_never_exceeds_15_minutes_nor_goes_negative() -> None:
    assert timing.answer_time_left(timedelta(0), timedelta(minutes=30)) == timedelta(minutes=15)
    assert timing.answer_time_left(timedelta(minutes=10)) == timedelta(minutes=5)
    assert timing.answer_time_left(timedelta(minutes=16)) == timedelta(0)


@pytest.mark.rule("B5.9-referat")
@pytest.mark.parametrize(("minutes", "ok"), [(0, False), (10, True), (15, True), (16, False)])
def test_referat_defence_up_to_15_minutes(minutes: int, ok: bool) -> None:
    assert timing.defence_ok(timedelta(minutes=minutes)) is ok
