"""Forms of assessment (B 5.2), their scales (B 6.1) and the marks of each scale (B 3.9).

The form-to-scale table itself lives with grading (``quiz.grading``); this module adds
what the workflow needs around it: the Russian titles and the marks a commission may
vote on each scale.
"""

from __future__ import annotations

from quiz.grading import MARK_TITLES_RU, Form, Mark, Scale, is_positive, scale_for_form

FORM_TITLES_RU: dict[Form, str] = {
    Form.EXAM: "экзамен",
    Form.CREDIT: "зачёт",
    Form.TESTING: "тестирование",
    Form.REFERAT: "защита реферата",
    Form.INTERVIEW: "собеседование",
    Form.SURVEY: "устный опрос",
}
SCALE_TITLES_RU: dict[Scale, str] = {
    Scale.FOUR: "четырёхбалльная система",
    Scale.TWO: "двухбалльная система",
}
_SCALE_MARKS: dict[Scale, tuple[Mark, ...]] = {
    Scale.FOUR: (Mark.EXCELLENT, Mark.GOOD, Mark.SATISFACTORY, Mark.UNSATISFACTORY),
    Scale.TWO: (Mark.PASSED, Mark.FAILED),
}


def marks_of(scale: Scale) -> tuple[Mark, ...]:
    """The marks of a scale, best first (B 3.9)."""
    return _SCALE_MARKS[Scale(scale)]


def mark_on_scale(mark: str, scale: Scale) -> bool:
    """True when ``mark`` is a mark of ``scale``."""
    return mark in {m.value for m in marks_of(scale)}


def form_scale(form: str) -> Scale:
    """The scale of a form (B 6.1); ValueError for an unknown form."""
    return scale_for_form(Form(form))


def mark_title(mark: str | None) -> str:
    """The Russian word of a mark, "" when there is none."""
    return MARK_TITLES_RU[Mark(mark)] if mark else ""


__all__ = [
    "FORM_TITLES_RU",
    "SCALE_TITLES_RU",
    "Form",
    "Mark",
    "Scale",
    "form_scale",
    "is_positive",
    "mark_on_scale",
    "mark_title",
    "marks_of",
]
