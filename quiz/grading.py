"""Marks for the final attestation of civil-defence courses (regulation B 6.1-6.3).

The regulation fixes the form-to-scale mapping and the bands:

* B 6.1 - exam, referat defence and testing are marked on the 4-point scale; credit
  (зачёт), interview and oral survey on the 2-point scale.
* B 6.2 - 4-point scale: отлично 71-100 %, хорошо 56-70 %, удовлетворительно 41-55 %,
  неудовлетворительно 0-40 %.
* B 6.3 - 2-point scale: зачтено 41-100 %, не зачтено 0-40 %.

The bands are written in whole percents and leave gaps (70 % to 71 %, 40 % to 41 %), so
the regulation does not say what 70.5 % earns. Our rule, applied everywhere a mark is
computed:

* the raw share ``100 * correct / total`` is kept as it is (:attr:`Grade.raw_percent`)
  for the record only;
* the mark is picked by the *whole percent*: the share rounded half-up (a half goes up,
  never to even) to an integer;
* the rounding is exact integer arithmetic, ``(200 * correct + total) // (2 * total)``,
  so no float error can move an answer across a band edge.

So 70.5 % -> 71 -> отлично, 70.49 % -> 70 -> хорошо, 40.5 % -> 41 -> удовлетворительно /
зачтено, 40.49 % -> 40 -> неудовлетворительно / не зачтено. No answers (``total == 0``)
count as 0 %.

Everything here is a pure function; nothing touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scale(StrEnum):
    """A marking scale: the 4-point (отлично ... неудовлетворительно) or 2-point one."""

    FOUR = "4"
    TWO = "2"


class Form(StrEnum):
    """A form of assessment named in B 6.1."""

    EXAM = "exam"
    CREDIT = "credit"
    TESTING = "testing"
    REFERAT = "referat"
    INTERVIEW = "interview"
    SURVEY = "survey"


class Mark(StrEnum):
    """A mark on either scale; the first four belong to the 4-point scale."""

    EXCELLENT = "excellent"
    GOOD = "good"
    SATISFACTORY = "satisfactory"
    UNSATISFACTORY = "unsatisfactory"
    PASSED = "passed"
    FAILED = "failed"


MARK_TITLES_RU: dict[Mark, str] = {
    Mark.EXCELLENT: "отлично",
    Mark.GOOD: "хорошо",
    Mark.SATISFACTORY: "удовлетворительно",
    Mark.UNSATISFACTORY: "неудовлетворительно",
    Mark.PASSED: "зачтено",
    Mark.FAILED: "не зачтено",
}

MARK_TITLES_EN: dict[Mark, str] = {
    Mark.EXCELLENT: "excellent",
    Mark.GOOD: "good",
    Mark.SATISFACTORY: "satisfactory",
    Mark.UNSATISFACTORY: "unsatisfactory",
    Mark.PASSED: "passed",
    Mark.FAILED: "failed",
}

# B 6.1: which scale each form of assessment uses.
_FORM_SCALES: dict[Form, Scale] = {
    Form.EXAM: Scale.FOUR,
    Form.REFERAT: Scale.FOUR,
    Form.TESTING: Scale.FOUR,
    Form.CREDIT: Scale.TWO,
    Form.INTERVIEW: Scale.TWO,
    Form.SURVEY: Scale.TWO,
}

# B 6.2 / B 6.3: (lowest whole percent, mark), highest band first.
_BANDS: dict[Scale, tuple[tuple[int, Mark], ...]] = {
    Scale.FOUR: (
        (71, Mark.EXCELLENT),
        (56, Mark.GOOD),
        (41, Mark.SATISFACTORY),
        (0, Mark.UNSATISFACTORY),
    ),
    Scale.TWO: (
        (41, Mark.PASSED),
        (0, Mark.FAILED),
    ),
}

_NEGATIVE_MARKS = frozenset({Mark.UNSATISFACTORY, Mark.FAILED})


@dataclass(frozen=True)
class Grade:
    """The outcome of one attempt: counts, raw and whole percent, mark and pass flag."""

    correct: int
    total: int
    raw_percent: float
    percent: int
    mark: Mark
    scale: Scale
    passed: bool


def scale_for_form(form: Form) -> Scale:
    """Return the scale B 6.1 prescribes for a form of assessment."""
    return _FORM_SCALES[Form(form)]


def _check_counts(correct: int, total: int) -> None:
    # One message format for every entry point, naming both values, so a bad call is
    # easy to trace from a log line.
    if correct < 0 or total < 0:
        raise ValueError(f"counts must not be negative: correct={correct}, total={total}")
    if correct > total:
        raise ValueError(f"correct must not exceed total: correct={correct}, total={total}")


def raw_percent(correct: int, total: int) -> float:
    """Return the unrounded share of correct answers in percent (0.0 when total is 0)."""
    _check_counts(correct, total)
    if total == 0:
        return 0.0
    return 100 * correct / total


def whole_percent(correct: int, total: int) -> int:
    """Return the share of correct answers rounded half-up to a whole percent, exactly."""
    _check_counts(correct, total)
    if total == 0:
        return 0
    # 100*c/t + 1/2 = (200*c + t) / (2*t); floor of that is half-up rounding, and it
    # stays in integers so 70.5 % cannot turn into 70.4999... and lose a band.
    return (200 * correct + total) // (2 * total)


def mark_for_percent(percent: int, scale: Scale) -> Mark:
    """Return the mark a whole percent (0..100) earns on a scale (B 6.2, B 6.3)."""
    # bool is an int subclass; True would silently mean 1 %.
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise ValueError(f"percent must be a whole number, got {percent!r}")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be within 0..100, got {percent}")
    for lowest, mark in _BANDS[Scale(scale)]:
        if percent >= lowest:
            return mark
    raise AssertionError("unreachable: every scale has a band starting at 0")


def grade(correct: int, total: int, scale: Scale) -> Grade:
    """Grade an attempt with ``correct`` right answers out of ``total`` on a scale."""
    percent = whole_percent(correct, total)
    mark = mark_for_percent(percent, scale)
    return Grade(
        correct=correct,
        total=total,
        raw_percent=raw_percent(correct, total),
        percent=percent,
        mark=mark,
        scale=Scale(scale),
        passed=is_positive(mark),
    )


def is_positive(mark: Mark) -> bool:
    """Return True for every mark but неудовлетворительно and не зачтено."""
    return Mark(mark) not in _NEGATIVE_MARKS
