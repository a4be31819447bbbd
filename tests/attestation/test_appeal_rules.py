"""Appeal deadlines on working days and the outcomes of an appeal (B VII)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from attestation.appeals import appeal_deadlines
from attestation.config import AttestationConfig
from attestation.models import Appeal
from attestation.rules import appeals
from attestation.rules.appeals import AppealKind, AppealResult
from attestation.rules.calendar import ProductionCalendar, load_calendars

RU = load_calendars("ru")


@pytest.mark.rule("B7.2-appeal-same-day")
@pytest.mark.parametrize(
    ("filed", "ok"),
    [(date(2026, 11, 23), True), (date(2026, 11, 24), False), (date(2026, 11, 22), False)],
)
def test_appeal_filed_on_the_announcement_day(filed: date, ok: bool) -> None:
    assert appeals.filed_in_time(filed, date(2026, 11, 23)) is ok


@pytest.mark.rule("B7.4-hearing-2wd")
@pytest.mark.parametrize(
    ("filed", "last_day"),
    [
        (date(2026, 11, 23), date(2026, 11, 25)),  # Monday → Wednesday
        (date(2026, 11, 26), date(2026, 11, 30)),  # Thursday → Monday
        (date(2026, 11, 27), date(2026, 12, 1)),  # Friday → Tuesday
        (date(2026, 11, 2), date(2026, 11, 5)),  # Monday, Unity Day on Wednesday
        (date(2026, 12, 28), date(2026, 12, 30)),
        (date(2026, 5, 8), date(2026, 5, 13)),  # 9–11 May off
    ],
)
def test_hearing_within_two_working_days(filed: date, last_day: date) -> None:
    assert appeals.hearing_deadline(filed, RU) == last_day


@pytest.mark.rule("B7.7-disagreement-docs")
@pytest.mark.parametrize(
    ("filed", "by"),
    [
        (date(2026, 11, 23), date(2026, 11, 24)),
        (date(2026, 11, 27), date(2026, 11, 30)),  # Friday → Monday
        (date(2026, 11, 3), date(2026, 11, 5)),  # Tuesday → Thursday over Unity Day
        (date(2026, 2, 20), date(2026, 2, 24)),  # Friday → Tuesday over 23 February
    ],
)
def test_disagreement_documents_by_the_next_working_day(filed: date, by: date) -> None:
    assert appeals.documents_deadline(filed, RU) == by


@pytest.mark.rule("B7.9-appeal-vote")
@pytest.mark.parametrize(
    ("heard", "by"),
    [
        (date(2026, 11, 23), date(2026, 11, 26)),
        (date(2026, 11, 25), date(2026, 11, 30)),  # Wednesday → Monday
        (date(2026, 11, 2), date(2026, 11, 6)),  # over Unity Day
        (date(2026, 3, 5), date(2026, 3, 11)),  # over the moved 9 March
    ],
)
def test_learner_informed_within_three_working_days(heard: date, by: date) -> None:
    assert appeals.inform_deadline(heard, RU) == by


@pytest.mark.rule("B7.8-new-mark")
@pytest.mark.parametrize(
    ("heard", "by"),
    [(date(2026, 11, 27), date(2026, 11, 30)), (date(2026, 6, 11), date(2026, 6, 15))],
)
def test_decision_reaches_the_commission_by_the_next_working_day(heard: date, by: date) -> None:
    assert appeals.transfer_deadline(heard, RU) == by


@pytest.mark.rule("B7.6-violation")
@pytest.mark.rule("B7.8-new-mark")
@pytest.mark.parametrize(
    ("kind", "result", "effect"),
    [
        (AppealKind.VIOLATION, AppealResult.UPHELD, "annul_retake"),
        (AppealKind.VIOLATION, AppealResult.REJECTED, "keep"),
        (AppealKind.DISAGREEMENT, AppealResult.UPHELD, "new_mark"),
        (AppealKind.DISAGREEMENT, AppealResult.REJECTED, "keep"),
    ],
)
def test_what_a_decision_does(kind: AppealKind, result: AppealResult, effect: str) -> None:
    assert appeals.consequence(kind, result) == effect


def test_an_appeal_shows_no_deadline_rather_than_failing_without_a_calendar() -> None:
    appeal = Appeal(kind="disagreement", filed_at=datetime(2030, 6, 3, 9, tzinfo=UTC))
    empty = AttestationConfig(ZoneInfo("Europe/Moscow"), ProductionCalendar(frozenset()))
    assert appeal_deadlines(appeal, empty) == {
        "hearing_by": None,
        "documents_by": None,
        "transfer_by": None,
        "inform_by": None,
    }
    loaded = AttestationConfig(ZoneInfo("Europe/Moscow"), RU)
    appeal.filed_at = datetime(2026, 11, 27, 9, tzinfo=UTC)
    shown = appeal_deadlines(appeal, loaded)
    assert (shown["hearing_by"], shown["documents_by"]) == ("2026-12-01", "2026-11-30")
