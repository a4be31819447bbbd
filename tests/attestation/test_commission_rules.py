"""Composition, term, quorum of commissions (B 3.8, 3.11, 3.9) and of appeal ones (B 7.3, 7.6)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from attestation.rules.commission import (
    MemberRole,
    Seat,
    appeal_composition_problems,
    composition_problems,
    in_term,
    quorum,
    retake_presence_ok,
    term_end,
    term_ok,
)

C, S, M = MemberRole.CHAIR, MemberRole.SECRETARY, MemberRole.MEMBER
MSK = ZoneInfo("Europe/Moscow")


def seats(*roles: MemberRole) -> list[Seat]:
    return [Seat(i + 1, role) for i, role in enumerate(roles)]


@pytest.mark.rule("B3.8-composition")
@pytest.mark.parametrize(
    ("composition", "valid"),
    [
        (seats(C, S, M), True),
        (seats(C, S, M, M, M), True),
        (seats(C, S), False),  # two people
        (seats(C, M, M), False),  # no secretary
        (seats(S, M, M), False),  # no chair
        (seats(C, C, S), False),  # two chairs
        (seats(C, S, S), False),  # two secretaries
        ([Seat(1, C), Seat(2, S), Seat(2, M)], False),  # one person, two seats
        ([], False),
    ],
)
def test_composition(composition: list[Seat], valid: bool) -> None:
    assert (composition_problems(composition) == []) is valid


@pytest.mark.rule("B3.11-term")
@pytest.mark.parametrize(
    ("starts", "ends", "ok"),
    [
        (date(2026, 1, 1), date(2026, 12, 31), True),
        (date(2026, 3, 15), date(2027, 3, 14), True),
        (date(2026, 3, 15), date(2027, 3, 15), False),  # a year and a day
        (date(2026, 3, 15), date(2026, 3, 15), True),
        (date(2026, 3, 15), date(2026, 3, 14), False),
        (date(2028, 2, 29), date(2029, 2, 28), True),
    ],
)
def test_term_is_at_most_one_year(starts: date, ends: date, ok: bool) -> None:
    assert term_ok(starts, ends) is ok


@pytest.mark.rule("B3.11-term")
def test_term_end_of_a_leap_day_start() -> None:
    assert term_end(date(2028, 2, 29)) == date(2029, 2, 28)
    assert term_end(date(2026, 1, 1)) == date(2026, 12, 31)


@pytest.mark.rule("B3.11-term")
@pytest.mark.parametrize(
    ("at", "sits"),
    [
        # The term ends on 31 December 2026: Moscow midnight is 21:00 UTC.
        (datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 31, 21, 0, 0, tzinfo=UTC), False),
        (datetime(2026, 1, 1, 0, 0, tzinfo=MSK), True),
        (datetime(2025, 12, 31, 23, 59, tzinfo=MSK), False),
    ],
)
def test_a_commission_expires_at_local_midnight(at: datetime, sits: bool) -> None:
    assert in_term(date(2026, 1, 1), date(2026, 12, 31), at, MSK) is sits


@pytest.mark.rule("B3.9-majority")
@pytest.mark.parametrize(
    ("size", "present", "ok"),
    [
        (3, {1, 2, 3}, True),
        (3, {1, 2}, False),  # below three
        (5, {1, 2, 3}, True),
        (5, {2, 3, 4, 5}, False),  # no chair
        (6, {1, 2, 3}, False),  # three of six is not more than half
        (6, {1, 2, 3, 4}, True),
        (3, {1, 2, 3, 99}, True),  # outsiders do not count
    ],
)
def test_quorum(size: int, present: set[int], ok: bool) -> None:
    composition = seats(C, S, *[M] * (size - 2))
    assert quorum(composition, present) is ok


@pytest.mark.rule("B7.3-appeal-commission")
@pytest.mark.parametrize(
    ("composition", "deputy", "valid"),
    [
        (seats(C, S, M), True, True),
        (seats(C, S, M), False, False),
        (seats(C, S), True, False),
    ],
)
def test_appeal_commission(composition: list[Seat], deputy: bool, valid: bool) -> None:
    assert (appeal_composition_problems(composition, deputy) == []) is valid


@pytest.mark.rule("B7.6-violation")
@pytest.mark.parametrize(
    ("size", "present", "appeal_members", "ok"),
    [
        (3, 2, 1, True),  # 2/3 exactly
        (3, 2, 0, False),  # nobody from the appeal commission
        (3, 1, 1, False),
        (6, 4, 1, True),
        (6, 3, 1, False),
        (5, 4, 2, True),
        (5, 3, 1, False),  # 3/5 < 2/3
    ],
)
def test_retake_after_upheld_violation(
    size: int, present: int, appeal_members: int, ok: bool
) -> None:
    commission = list(range(1, size + 1))
    assert retake_presence_ok(commission, commission[:present], appeal_members) is ok
