"""Tests for quiz.analysis against small hand-computed examples."""

from __future__ import annotations

import dataclasses
import statistics

import pytest

from quiz.analysis import (
    ItemStats,
    Response,
    TestStats,
    analyse,
    responses_from_answers,
)

# A 5-attempt x 3-item test. Options and the correct one per question:
#   q1: 11* 12 13      q2: 21* 22 23 24      q3: 31 32*
OPTIONS = {1: [11, 12, 13], 2: [21, 22, 23, 24], 3: [31, 32]}
CORRECT = {1: 11, 2: 21, 3: 32}
ANSWERS: dict[int, dict[int, int | None]] = {
    # attempt: {question: chosen option}     # scores q1 q2 q3, total
    101: {1: 11, 2: 21, 3: 32},  # 1 1 1, 3
    102: {1: 11, 2: 21, 3: 31},  # 1 1 0, 2
    103: {1: 11, 2: 22, 3: 32},  # 1 0 1, 2
    104: {1: 11, 2: None, 3: None},  # 1 0 0, 1
    105: {1: 12, 2: 23, 3: None},  # 0 0 0, 0
}
MATRIX = [[1, 1, 1], [1, 1, 0], [1, 0, 1], [1, 0, 0], [0, 0, 0]]


@pytest.fixture
def stats() -> TestStats:
    return analyse(responses_from_answers(ANSWERS, CORRECT), OPTIONS)


def item(stats: TestStats, question_id: int) -> ItemStats:
    (found,) = [i for i in stats.items if i.question_id == question_id]
    return found


def test_matrix_comment_matches_answers(stats: TestStats) -> None:
    # The hand computations below read MATRIX; make sure it is what ANSWERS says.
    responses = responses_from_answers(ANSWERS, CORRECT)
    got = [[int(r.correct) for r in responses if r.attempt_id == a] for a in sorted(ANSWERS)]
    assert got == MATRIX


def test_totals(stats: TestStats) -> None:
    # Totals 3, 2, 2, 1, 0: mean 8/5 = 1.6; population variance
    # (9+4+4+1+0)/5 - 1.6^2 = 3.6 - 2.56 = 1.04.
    assert stats.attempts == 5
    assert stats.mean_score == pytest.approx(1.6)
    assert stats.score_variance == pytest.approx(1.04)
    assert [i.question_id for i in stats.items] == [1, 2, 3]


def test_facility(stats: TestStats) -> None:
    # Column sums 4, 2, 2 out of 5.
    assert [i.facility for i in stats.items] == pytest.approx([0.8, 0.4, 0.4])
    assert [i.presented for i in stats.items] == [5, 5, 5]
    # q2 unanswered by 104; q3 by 104 and 105.
    assert [i.answered for i in stats.items] == [5, 4, 3]


def test_kr20(stats: TestStats) -> None:
    # p = .8 .4 .4, q = .2 .6 .6, sum(pq) = .16 + .24 + .24 = .64, var = 1.04:
    # KR-20 = 3/2 * (1 - .64/1.04) = 1.5 * .40/1.04 = 15/26 = 0.576923...
    assert stats.kr20_items == 3
    assert stats.kr20 == pytest.approx(15 / 26)


def test_discrimination(stats: TestStats) -> None:
    # Corrected point-biserial: item vs. rest score (total minus the item).
    # q1: x = 1 1 1 1 0, rest = 2 1 1 0 0. n=5, Sx=4, Sy=4, Sxy=4, Sxx=4, Syy=6:
    #     r = (5*4 - 4*4) / sqrt((5*4 - 16) * (5*6 - 16)) = 4 / sqrt(4*14) = 0.5345
    # q2: x = 1 1 0 0 0, rest = 2 1 2 1 0. Sx=2, Sy=6, Sxy=3, Sxx=2, Syy=10:
    #     r = (15 - 12) / sqrt((10 - 4) * (50 - 36)) = 3 / sqrt(84) = 0.3273
    # q3: x = 1 0 1 0 0, rest = 2 2 1 1 0: same sums as q2, r = 3 / sqrt(84).
    got = [i.discrimination for i in stats.items]
    assert got == pytest.approx([4 / 56**0.5, 3 / 84**0.5, 3 / 84**0.5])


def test_discrimination_agrees_with_statistics_correlation(stats: TestStats) -> None:
    # Independent check with the stdlib's Pearson r on the same vectors.
    for col, got in enumerate(stats.items):
        x = [row[col] for row in MATRIX]
        rest = [sum(row) - row[col] for row in MATRIX]
        assert got.discrimination == pytest.approx(statistics.correlation(x, rest))


def test_kr20_agrees_with_pvariance(stats: TestStats) -> None:
    # Independent check straight from the textbook formula with floats.
    k = 3
    ps = [sum(row[i] for row in MATRIX) / 5 for i in range(k)]
    var = statistics.pvariance([sum(row) for row in MATRIX])
    expected = k / (k - 1) * (1 - sum(p * (1 - p) for p in ps) / var)
    assert stats.kr20 == pytest.approx(expected)


def test_option_shares(stats: TestStats) -> None:
    # Every option listed, zeros included, plus None for unanswered; sums to 1.
    assert item(stats, 1).option_shares == pytest.approx({11: 0.8, 12: 0.2, 13: 0.0, None: 0.0})
    assert item(stats, 2).option_shares == pytest.approx(
        {21: 0.4, 22: 0.2, 23: 0.2, 24: 0.0, None: 0.2}
    )
    assert item(stats, 3).option_shares == pytest.approx({31: 0.2, 32: 0.4, None: 0.4})
    assert list(item(stats, 2).option_shares) == [21, 22, 23, 24, None]
    for i in stats.items:
        assert sum(i.option_shares.values()) == pytest.approx(1.0)


def test_response_order_does_not_matter(stats: TestStats) -> None:
    responses = responses_from_answers(ANSWERS, CORRECT)
    assert analyse(reversed(responses), OPTIONS) == stats


def test_accepts_a_generator(stats: TestStats) -> None:
    responses = responses_from_answers(ANSWERS, CORRECT)
    assert analyse((r for r in responses), OPTIONS) == stats


# --- attempts drawing different questions from a bank ---------------------------------

# Everyone gets q1 and q2; q3 or q4 is drawn.   scores       total  common (q1,q2)
BANK = [
    Response(1, 1, 11, True),  # 1: q1=1 q2=1 q3=1   3      2
    Response(1, 2, 21, True),
    Response(1, 3, 32, True),
    Response(2, 1, 11, True),  # 2: q1=1 q2=0 q4=1   2      1
    Response(2, 2, 22, False),
    Response(2, 4, 41, True),
    Response(3, 1, 12, False),  # 3: q1=0 q2=0 q3=0   0      0
    Response(3, 2, None, False),
    Response(3, 3, 31, False),
    Response(4, 1, 11, True),  # 4: q1=1 q2=1 q4=0   2      2
    Response(4, 2, 21, True),
    Response(4, 4, 42, False),
]
BANK_OPTIONS = {1: [11, 12], 2: [21, 22], 3: [31, 32], 4: [41, 42]}


def test_bank_per_item_denominators() -> None:
    stats = analyse(BANK, BANK_OPTIONS)
    assert stats.attempts == 4
    assert [i.presented for i in stats.items] == [4, 4, 2, 2]
    # q1 3/4, q2 2/4, q3 1/2 (attempts 1, 3), q4 1/2 (attempts 2, 4).
    assert [i.facility for i in stats.items] == pytest.approx([0.75, 0.5, 0.5, 0.5])
    assert item(stats, 3).option_shares == pytest.approx({31: 0.5, 32: 0.5, None: 0})
    assert item(stats, 2).option_shares == pytest.approx({21: 0.5, 22: 0.25, None: 0.25})


def test_bank_totals_use_all_presented_items() -> None:
    # Totals 3, 2, 0, 2: mean 7/4 = 1.75, variance 17/4 - 1.75^2 = 4.25 - 3.0625.
    stats = analyse(BANK, BANK_OPTIONS)
    assert stats.mean_score == pytest.approx(1.75)
    assert stats.score_variance == pytest.approx(1.1875)


def test_bank_kr20_over_common_items() -> None:
    # Common items q1, q2 (k = 2). c = 3, 2 of n = 4; sum(c(n-c)) = 3 + 4 = 7.
    # Common totals 2, 1, 0, 2: n*sum(T^2) - sum(T)^2 = 4*9 - 25 = 11.
    # KR-20 = 2/1 * (1 - 7/11) = 8/11 = 0.7273.
    stats = analyse(BANK, BANK_OPTIONS)
    assert stats.kr20_items == 2
    assert stats.kr20 == pytest.approx(8 / 11)


def test_bank_discrimination() -> None:
    # q3 over attempts 1, 3: x = 1 0, rest = 2 0 -> r = +1.
    # q4 over attempts 2, 4: x = 1 0, rest = 1 2 -> r = -1.
    # q1 over all: x = 1 1 0 1, rest = 2 1 0 1. Sx=3, Sy=4, Sxy=4, Sxx=3, Syy=6:
    #     r = (16 - 12) / sqrt((12 - 9) * (24 - 16)) = 4 / sqrt(24) = 0.8165.
    stats = analyse(BANK, BANK_OPTIONS)
    assert item(stats, 3).discrimination == pytest.approx(1.0)
    assert item(stats, 4).discrimination == pytest.approx(-1.0)
    assert item(stats, 1).discrimination == pytest.approx(4 / 24**0.5)


def test_bank_one_common_item_has_no_kr20() -> None:
    responses = [r for r in BANK if r.question_id != 2]
    stats = analyse(responses, BANK_OPTIONS)
    assert stats.kr20_items == 1
    assert stats.kr20 is None


def test_bank_no_common_items() -> None:
    responses = [
        Response(1, 1, 11, True),
        Response(1, 2, 22, False),
        Response(2, 3, 32, True),
        Response(2, 4, 41, True),
    ]
    stats = analyse(responses, BANK_OPTIONS)
    assert stats.kr20_items == 0
    assert stats.kr20 is None
    # One attempt per item: no correlation.
    assert [i.discrimination for i in stats.items] == [None] * 4


def test_questions_nobody_was_presented_are_left_out() -> None:
    stats = analyse(BANK[:3], BANK_OPTIONS)
    assert [i.question_id for i in stats.items] == [1, 2, 3]


# --- degenerate cases ------------------------------------------------------------------


def test_no_responses() -> None:
    stats = analyse([], OPTIONS)
    assert stats == TestStats(
        attempts=0,
        items=[],
        kr20=None,
        kr20_items=0,
        mean_score=0.0,
        score_variance=0.0,
    )


def test_one_attempt() -> None:
    stats = analyse(responses_from_answers({101: ANSWERS[101]}, CORRECT), OPTIONS)
    assert stats.attempts == 1
    assert [i.facility for i in stats.items] == [1.0, 1.0, 1.0]
    assert [i.discrimination for i in stats.items] == [None, None, None]
    assert stats.kr20 is None  # variance of a single score is 0
    assert (stats.mean_score, stats.score_variance) == (3.0, 0.0)


def test_all_correct() -> None:
    answers = {a: dict(CORRECT) for a in range(1, 6)}
    stats = analyse(responses_from_answers(answers, CORRECT), OPTIONS)
    assert [i.facility for i in stats.items] == [1.0, 1.0, 1.0]
    # Zero item variance: point-biserial undefined; zero total variance: no KR-20.
    assert [i.discrimination for i in stats.items] == [None, None, None]
    assert stats.kr20 is None
    assert (stats.mean_score, stats.score_variance) == (3.0, 0.0)
    assert item(stats, 1).option_shares == {11: 1.0, 12: 0.0, 13: 0.0, None: 0.0}


def test_all_unanswered() -> None:
    answers: dict[int, dict[int, int | None]] = {a: {1: None, 2: None} for a in range(3)}
    stats = analyse(responses_from_answers(answers, CORRECT), OPTIONS)
    assert [i.answered for i in stats.items] == [0, 0]
    assert [i.facility for i in stats.items] == [0.0, 0.0]
    assert item(stats, 1).option_shares == {11: 0.0, 12: 0.0, 13: 0.0, None: 1.0}
    assert stats.kr20 is None


def test_zero_rest_variance_gives_no_discrimination() -> None:
    # A one-item test: the item varies (1 0) but the rest score is 0 for everyone,
    # so the correlation is undefined.
    responses = [
        Response(1, 1, 11, True),
        Response(2, 1, 12, False),
    ]
    stats = analyse(responses, OPTIONS)
    assert stats.items[0].facility == 0.5
    assert stats.items[0].discrimination is None


def test_perfectly_opposed_items() -> None:
    responses = [
        Response(1, 1, 11, True),
        Response(1, 3, 31, False),
        Response(2, 1, 12, False),
        Response(2, 3, 32, True),
    ]
    stats = analyse(responses, OPTIONS)
    assert [i.discrimination for i in stats.items] == [-1.0, -1.0]
    # Totals 1, 1: zero variance, no KR-20 although k = 2.
    assert stats.kr20_items == 2
    assert stats.kr20 is None


def test_negative_kr20_is_reported_as_is() -> None:
    # Items that disagree give KR-20 below zero; that is a finding about the test, not
    # an error, so it is not clipped. Scores (q1, q3): 1 0, 1 0, 0 1, 1 1.
    # c = 3, 2 of n = 4: sum(c(n-c)) = 3 + 4 = 7. Totals 1 1 1 2:
    # n*sum(T^2) - sum(T)^2 = 4*7 - 25 = 3. KR-20 = 2/1 * (1 - 7/3) = -8/3.
    responses = [
        Response(1, 1, 11, True),
        Response(1, 3, 31, False),
        Response(2, 1, 11, True),
        Response(2, 3, 31, False),
        Response(3, 1, 12, False),
        Response(3, 3, 32, True),
        Response(4, 1, 11, True),
        Response(4, 3, 32, True),
    ]
    stats = analyse(responses, OPTIONS)
    assert stats.kr20 == pytest.approx(-8 / 3)


# --- input checking ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ([Response(1, 9, 91, True)], "question 9 .* no options"),
        ([Response(1, 1, 21, False)], "option 21 is not an option of question 1"),
        ([Response(1, 1, None, True)], "unanswered question 1 marked correct"),
        (
            [Response(1, 1, 11, True), Response(1, 1, 12, False)],
            "attempt 1 has two responses to question 1",
        ),
    ],
)
def test_bad_input(responses: list[Response], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyse(responses, OPTIONS)


def test_responses_from_answers_needs_correct_option() -> None:
    with pytest.raises(ValueError, match="no correct option known for question 7"):
        responses_from_answers({1: {7: 70}}, CORRECT)


def test_responses_from_answers() -> None:
    assert responses_from_answers({5: {1: 11, 2: None, 3: 31}}, CORRECT) == [
        Response(5, 1, 11, True),
        Response(5, 2, None, False),
        Response(5, 3, 31, False),
    ]


def test_results_are_frozen(stats: TestStats) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.kr20 = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.items[0].facility = 0.0  # type: ignore[misc]
