"""Table tests for quiz.grading: B 6.1 form scales, B 6.2/6.3 bands, half-up rounding."""

from __future__ import annotations

import pytest

from quiz.grading import (
    MARK_TITLES_EN,
    MARK_TITLES_RU,
    Form,
    Grade,
    Mark,
    Scale,
    grade,
    is_positive,
    mark_for_percent,
    raw_percent,
    scale_for_form,
    whole_percent,
)

# --- B 6.1: form of assessment -> scale -------------------------------------------


@pytest.mark.rule("B6.1-form-scale")
@pytest.mark.parametrize(
    ("form", "scale"),
    [
        (Form.EXAM, Scale.FOUR),
        (Form.REFERAT, Scale.FOUR),
        (Form.TESTING, Scale.FOUR),
        (Form.CREDIT, Scale.TWO),
        (Form.INTERVIEW, Scale.TWO),
        (Form.SURVEY, Scale.TWO),
    ],
)
def test_scale_for_form(form: Form, scale: Scale) -> None:
    assert scale_for_form(form) is scale


@pytest.mark.rule("B6.1-form-scale")
def test_every_form_has_a_scale() -> None:
    # Guards against a Form member added later without a B 6.1 mapping.
    assert {scale_for_form(f) for f in Form} == set(Scale)


@pytest.mark.rule("B6.1-form-scale")
def test_scale_for_form_accepts_stored_string() -> None:
    assert scale_for_form("credit") is Scale.TWO  # type: ignore[arg-type]


def test_scale_for_unknown_form() -> None:
    with pytest.raises(ValueError, match="oral"):
        scale_for_form("oral")  # type: ignore[arg-type]


# --- B 6.2: 4-point bands, every edge ---------------------------------------------


@pytest.mark.rule("B6.2-bands-4")
@pytest.mark.parametrize(
    ("percent", "mark"),
    [
        (0, Mark.UNSATISFACTORY),
        (40, Mark.UNSATISFACTORY),
        (41, Mark.SATISFACTORY),
        (55, Mark.SATISFACTORY),
        (56, Mark.GOOD),
        (70, Mark.GOOD),
        (71, Mark.EXCELLENT),
        (100, Mark.EXCELLENT),
    ],
)
def test_four_point_bands(percent: int, mark: Mark) -> None:
    assert mark_for_percent(percent, Scale.FOUR) is mark


@pytest.mark.rule("B6.2-bands-4")
def test_four_point_bands_cover_every_percent() -> None:
    # Each whole percent lands in exactly the band B 6.2 lists; no gaps, no overlaps.
    expected = (
        [Mark.UNSATISFACTORY] * 41
        + [Mark.SATISFACTORY] * 15
        + [Mark.GOOD] * 15
        + [Mark.EXCELLENT] * 30
    )
    assert [mark_for_percent(p, Scale.FOUR) for p in range(101)] == expected


# --- B 6.3: 2-point bands, every edge ---------------------------------------------


@pytest.mark.rule("B6.3-bands-2")
@pytest.mark.parametrize(
    ("percent", "mark"),
    [
        (0, Mark.FAILED),
        (40, Mark.FAILED),
        (41, Mark.PASSED),
        (55, Mark.PASSED),
        (56, Mark.PASSED),
        (70, Mark.PASSED),
        (71, Mark.PASSED),
        (100, Mark.PASSED),
    ],
)
def test_two_point_bands(percent: int, mark: Mark) -> None:
    assert mark_for_percent(percent, Scale.TWO) is mark


@pytest.mark.rule("B6.3-bands-2")
def test_two_point_bands_cover_every_percent() -> None:
    expected = [Mark.FAILED] * 41 + [Mark.PASSED] * 60
    assert [mark_for_percent(p, Scale.TWO) for p in range(101)] == expected


@pytest.mark.parametrize("percent", [-1, 101, 1000])
@pytest.mark.parametrize("scale", list(Scale))
def test_mark_for_percent_out_of_range(percent: int, scale: Scale) -> None:
    with pytest.raises(ValueError, match=str(percent)):
        mark_for_percent(percent, scale)


@pytest.mark.parametrize("percent", [70.5, True, "71"])
def test_mark_for_percent_needs_whole_number(percent: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        mark_for_percent(percent, Scale.FOUR)  # type: ignore[arg-type]


# --- rounding: half-up, exact ------------------------------------------------------


@pytest.mark.parametrize(
    ("correct", "total", "percent"),
    [
        (0, 0, 0),
        (0, 7, 0),
        (7, 7, 100),
        (141, 200, 71),  # 70.5 -> 71: a half goes up
        (1409, 2000, 70),  # 70.45 -> 70
        (7049, 10000, 70),  # 70.49 -> 70
        (81, 200, 41),  # 40.5 -> 41
        (4049, 10000, 40),  # 40.49 -> 40
        (111, 200, 56),  # 55.5 -> 56
        (1, 3, 33),  # 33.33... -> 33
        (2, 3, 67),  # 66.66... -> 67
        (1, 8, 13),  # 12.5 -> 13, not 12 as banker's rounding would give
        (5, 8, 63),  # 62.5 -> 63
        (1, 200, 1),  # 0.5 -> 1
        (199, 200, 100),  # 99.5 -> 100, never above 100
    ],
)
def test_whole_percent_half_up(correct: int, total: int, percent: int) -> None:
    assert whole_percent(correct, total) == percent


def test_whole_percent_matches_exact_fraction_everywhere() -> None:
    # Cross-check the integer formula against exact rational half-up rounding for
    # every count up to 300 questions, where float arithmetic would misround.
    from fractions import Fraction
    from math import floor

    for total in range(1, 301):
        for correct in range(total + 1):
            exact = floor(Fraction(100 * correct, total) + Fraction(1, 2))
            assert whole_percent(correct, total) == exact, (correct, total)


@pytest.mark.parametrize(
    ("correct", "total", "expected"),
    [(0, 0, 0.0), (141, 200, 70.5), (1, 3, 100 / 3), (5, 5, 100.0)],
)
def test_raw_percent(correct: int, total: int, expected: float) -> None:
    assert raw_percent(correct, total) == pytest.approx(expected)


# --- grade(): rounding then banding -------------------------------------------------


@pytest.mark.rule("B6.2-bands-4")
@pytest.mark.parametrize(
    ("correct", "total", "percent", "mark"),
    [
        (141, 200, 71, Mark.EXCELLENT),  # 70.5 % rounds into отлично
        (7049, 10000, 70, Mark.GOOD),
        (111, 200, 56, Mark.GOOD),  # 55.5 %
        (109, 200, 55, Mark.SATISFACTORY),  # 54.5 % -> 55
        (81, 200, 41, Mark.SATISFACTORY),  # 40.5 %
        (4049, 10000, 40, Mark.UNSATISFACTORY),
        (1, 3, 33, Mark.UNSATISFACTORY),
        (2, 3, 67, Mark.GOOD),
        (0, 0, 0, Mark.UNSATISFACTORY),
        (10, 10, 100, Mark.EXCELLENT),
    ],
)
def test_grade_four_point(correct: int, total: int, percent: int, mark: Mark) -> None:
    g = grade(correct, total, Scale.FOUR)
    assert (g.percent, g.mark, g.scale) == (percent, mark, Scale.FOUR)
    assert g.passed is (mark is not Mark.UNSATISFACTORY)


@pytest.mark.rule("B6.3-bands-2")
@pytest.mark.parametrize(
    ("correct", "total", "percent", "mark"),
    [
        (81, 200, 41, Mark.PASSED),  # 40.5 %
        (4049, 10000, 40, Mark.FAILED),
        (2, 5, 40, Mark.FAILED),
        (0, 0, 0, Mark.FAILED),
        (1, 1, 100, Mark.PASSED),
    ],
)
def test_grade_two_point(correct: int, total: int, percent: int, mark: Mark) -> None:
    g = grade(correct, total, Scale.TWO)
    assert (g.percent, g.mark, g.scale) == (percent, mark, Scale.TWO)
    assert g.passed is (mark is Mark.PASSED)


def test_grade_keeps_raw_percent() -> None:
    assert grade(141, 200, Scale.FOUR) == Grade(
        correct=141,
        total=200,
        raw_percent=70.5,
        percent=71,
        mark=Mark.EXCELLENT,
        scale=Scale.FOUR,
        passed=True,
    )


def test_grade_is_frozen() -> None:
    import dataclasses

    g = grade(1, 2, Scale.TWO)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.mark = Mark.FAILED  # type: ignore[misc]


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "func",
    [raw_percent, whole_percent, lambda c, t: grade(c, t, Scale.FOUR)],
    ids=["raw_percent", "whole_percent", "grade"],
)
@pytest.mark.parametrize(
    ("correct", "total", "message"),
    [
        (-1, 5, r"negative: correct=-1, total=5"),
        (1, -5, r"negative: correct=1, total=-5"),
        (-1, -1, r"negative: correct=-1, total=-1"),
        (6, 5, r"exceed total: correct=6, total=5"),
        (1, 0, r"exceed total: correct=1, total=0"),
    ],
)
def test_bad_counts(func: object, correct: int, total: int, message: str) -> None:
    assert callable(func)
    with pytest.raises(ValueError, match=message):
        func(correct, total)


# --- marks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mark", "positive"),
    [
        (Mark.EXCELLENT, True),
        (Mark.GOOD, True),
        (Mark.SATISFACTORY, True),
        (Mark.UNSATISFACTORY, False),
        (Mark.PASSED, True),
        (Mark.FAILED, False),
    ],
)
def test_is_positive(mark: Mark, positive: bool) -> None:
    assert is_positive(mark) is positive


def test_titles() -> None:
    assert set(MARK_TITLES_RU) == set(Mark) == set(MARK_TITLES_EN)
    assert [MARK_TITLES_RU[m] for m in Mark] == [
        "отлично",
        "хорошо",
        "удовлетворительно",
        "неудовлетворительно",
        "зачтено",
        "не зачтено",
    ]
    assert MARK_TITLES_EN[Mark.FAILED] == "failed"


def test_enum_values_are_stable() -> None:
    # These strings are stored and sent over the wire; renaming one breaks old rows.
    assert [s.value for s in Scale] == ["4", "2"]
    assert [f.value for f in Form] == [
        "exam",
        "credit",
        "testing",
        "referat",
        "interview",
        "survey",
    ]
    assert [m.value for m in Mark] == [
        "excellent",
        "good",
        "satisfactory",
        "unsatisfactory",
        "passed",
        "failed",
    ]
