"""Classical item analysis of submitted attempts: facility, discrimination, KR-20.

Input is one :class:`Response` per (attempt, question) the attempt was *presented*,
answered or not, and the option ids of every question. Attempts may draw different
questions from a bank, so every per-item figure is computed over the attempts that were
presented that item, never over all attempts.

Definitions used (all scores dichotomous: 1 for a correct answer, 0 otherwise, an
unanswered question scores 0):

* **total score** of an attempt - its number of correct answers over all items it was
  presented. ``mean_score`` and ``score_variance`` describe that total; the variance is
  the population variance (divide by n), matching KR-20.
* **facility** (difficulty index *p*) - share of the attempts presented the item that
  answered it correctly.
* **discrimination** - the *corrected* item-total point-biserial correlation: Pearson's
  r between the item score and the attempt's total score minus this item (the "rest
  score"), over the attempts presented the item. The item is removed from the total
  because otherwise it correlates with itself, which inflates r, badly so on short
  tests. ``None`` when undefined: fewer than 2 such attempts, or zero variance of the
  item score (everyone right or everyone wrong) or of the rest score.
* **KR-20** - ``k/(k-1) * (1 - sum(p*q) / var)``, where *p* is the item facility,
  ``q = 1 - p`` and *var* the population variance of the total score. The formula
  assumes every attempt took the same *k* items, so it is computed over the items that
  were presented to **every** attempt (``TestStats.kr20_items`` says how many), with the
  total re-summed over just those items. When all attempts had the same questions this
  is the whole test. ``None`` when fewer than 2 common items or that variance is 0.
* **option_shares** - for each option of the question (all of them, zeros included, in
  the order given) and ``None`` for "unanswered": the share of the attempts presented
  the item that chose it. The shares of an item sum to 1.

Sums are kept in integers and the ratios taken at the end, so zero variances are
detected exactly rather than as a float that is almost zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Response:
    """One attempt's answer to one presented question; ``option_id`` None = unanswered."""

    attempt_id: int
    question_id: int
    option_id: int | None
    correct: bool


@dataclass(frozen=True)
class ItemStats:
    """Figures for one question over the attempts that were presented it."""

    question_id: int
    presented: int
    answered: int
    facility: float
    discrimination: float | None
    option_shares: dict[int | None, float]


@dataclass(frozen=True)
class TestStats:
    """Figures for a set of attempts; ``items`` is sorted by question id."""

    # Not a test case, whatever the name suggests to pytest's collector.
    __test__ = False

    attempts: int
    items: list[ItemStats]
    kr20: float | None
    kr20_items: int
    mean_score: float
    score_variance: float


def responses_from_answers(
    answers: Mapping[int, Mapping[int, int | None]],
    correct_options: Mapping[int, int],
) -> list[Response]:
    """Turn ``{attempt: {question: chosen option or None}}`` into responses."""
    responses: list[Response] = []
    for attempt_id, chosen in answers.items():
        for question_id, option_id in chosen.items():
            if question_id not in correct_options:
                raise ValueError(
                    f"no correct option known for question {question_id} (attempt {attempt_id})"
                )
            responses.append(
                Response(
                    attempt_id=attempt_id,
                    question_id=question_id,
                    option_id=option_id,
                    correct=option_id is not None and option_id == correct_options[question_id],
                )
            )
    return responses


def _collect(
    responses: Iterable[Response], options: Mapping[int, Sequence[int]]
) -> dict[int, dict[int, Response]]:
    # attempt id -> question id -> response, rejecting input that would make the
    # figures silently wrong (double-counted or unknown answers).
    by_attempt: dict[int, dict[int, Response]] = {}
    for r in responses:
        if r.question_id not in options:
            raise ValueError(f"question {r.question_id} (attempt {r.attempt_id}) has no options")
        if r.option_id is None:
            if r.correct:
                raise ValueError(
                    f"unanswered question {r.question_id} marked correct (attempt {r.attempt_id})"
                )
        elif r.option_id not in options[r.question_id]:
            raise ValueError(
                f"option {r.option_id} is not an option of question "
                f"{r.question_id} (attempt {r.attempt_id})"
            )
        answered = by_attempt.setdefault(r.attempt_id, {})
        if r.question_id in answered:
            raise ValueError(
                f"attempt {r.attempt_id} has two responses to question {r.question_id}"
            )
        answered[r.question_id] = r
    return by_attempt


def _pearson(xs: Sequence[int], ys: Sequence[int]) -> float | None:
    # Pearson's r from integer sums: n*Sxy - Sx*Sy over sqrt of the two
    # n*Sxx - Sx^2 terms. Both of those are exact integers, so "no variance" is an
    # exact zero test.
    n = len(xs)
    if n < 2:
        return None
    sx, sy = sum(xs), sum(ys)
    dx = n * sum(x * x for x in xs) - sx * sx
    dy = n * sum(y * y for y in ys) - sy * sy
    if dx == 0 or dy == 0:
        return None
    num = n * sum(x * y for x, y in zip(xs, ys, strict=True)) - sx * sy
    r = num / math.sqrt(dx * dy)
    # Rounding can push |r| a hair past 1.
    return max(-1.0, min(1.0, r))


def _kr20(scores: Sequence[Sequence[int]]) -> float | None:
    # scores[a][i]: attempt a, common item i. With c_i correct answers out of n,
    # sum(p*q) = sum(c_i*(n - c_i)) / n^2 and var = (n*sum(T^2) - sum(T)^2) / n^2; the
    # n^2 cancel, leaving a ratio of integers.
    n = len(scores)
    k = len(scores[0]) if scores else 0
    if k < 2:
        return None
    totals = [sum(row) for row in scores]
    var_n2 = n * sum(t * t for t in totals) - sum(totals) ** 2
    if var_n2 == 0:
        return None
    pq_n2 = 0
    for i in range(k):
        c = sum(row[i] for row in scores)
        pq_n2 += c * (n - c)
    return float(Fraction(k, k - 1) * (1 - Fraction(pq_n2, var_n2)))


def analyse(responses: Iterable[Response], options: Mapping[int, Sequence[int]]) -> TestStats:
    """Compute item and test statistics for the attempts the responses belong to."""
    by_attempt = _collect(responses, options)
    n = len(by_attempt)
    totals = {a: sum(r.correct for r in rs.values()) for a, rs in by_attempt.items()}

    presented_to: dict[int, list[int]] = {}
    for attempt_id, rs in by_attempt.items():
        for question_id in rs:
            presented_to.setdefault(question_id, []).append(attempt_id)

    items: list[ItemStats] = []
    for question_id in sorted(presented_to):
        attempt_ids = presented_to[question_id]
        given = [by_attempt[a][question_id] for a in attempt_ids]
        item = [int(r.correct) for r in given]
        rest = [totals[a] - x for a, x in zip(attempt_ids, item, strict=True)]
        m = len(given)
        chosen = [r.option_id for r in given]
        shares: dict[int | None, float] = {
            option_id: chosen.count(option_id) / m for option_id in options[question_id]
        }
        shares[None] = chosen.count(None) / m
        items.append(
            ItemStats(
                question_id=question_id,
                presented=m,
                answered=m - chosen.count(None),
                facility=sum(item) / m,
                discrimination=_pearson(item, rest),
                option_shares=shares,
            )
        )

    question_sets = [set(rs) for rs in by_attempt.values()]
    common = sorted(set.intersection(*question_sets)) if question_sets else []
    common_scores = [[int(rs[q].correct) for q in common] for rs in by_attempt.values()]

    score_list = list(totals.values())
    if n:
        mean = Fraction(sum(score_list), n)
        variance = Fraction(sum(t * t for t in score_list), n) - mean * mean
    else:
        mean = variance = Fraction(0)

    return TestStats(
        attempts=n,
        items=items,
        kr20=_kr20(common_scores),
        kr20_items=len(common),
        mean_score=float(mean),
        score_variance=float(variance),
    )
