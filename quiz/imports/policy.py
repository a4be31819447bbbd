"""The option-count policy every importer applies before a question is accepted.

Examroom tests are single-answer multiple choice with three options as the standard form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from quiz.imports.parsed import ImportReport, ParsedOption, ParsedQuestion, Skip

STANDARD_OPTION_COUNT: Final = 3
MIN_OPTION_COUNT: Final = 2


def admit(
    report: ImportReport,
    line: int,
    text: str,
    options: Sequence[ParsedOption],
    *,
    section: str | None = None,
    explanation: str = "",
    name: str = "",
) -> None:
    """Add the question to the report, or a skip saying why it cannot be imported."""
    reason = rejection(text, options)
    if reason is not None:
        report.skipped.append(Skip(line, reason))
        return
    report.questions.append(
        ParsedQuestion(
            line=line,
            text=text,
            options=tuple(options),
            section=section,
            explanation=explanation,
            name=name,
        )
    )
    if len(options) != STANDARD_OPTION_COUNT:
        report.warnings.append(
            Skip(line, f"{len(options)} options; the standard form is {STANDARD_OPTION_COUNT}")
        )


def rejection(text: str, options: Sequence[ParsedOption]) -> str | None:
    """Say why a question breaks the policy, or return ``None`` when it may be imported."""
    if not text.strip():
        return "empty question text"
    if not options:
        return "no options"
    if len(options) < MIN_OPTION_COUNT:
        return f"1 option; at least {MIN_OPTION_COUNT} are required"
    seen: dict[str, int] = {}
    for number, option in enumerate(options, start=1):
        if not option.text.strip():
            return f"option {number} is empty"
        # Options differing only in case or spacing look identical to a candidate.
        key = " ".join(option.text.casefold().split())
        if key in seen:
            return f'options {seen[key]} and {number} are the same: "{option.text}"'
        seen[key] = number
    correct = sum(option.correct for option in options)
    if correct == 0:
        return "no correct option"
    if correct > 1:
        return f"{correct} correct options; single-answer questions only"
    return None


def unsupported(kind: str, detail: str = "") -> str:
    """The skip reason for a question of a type the importer does not take."""
    shown = f"{kind} question ({detail})" if detail else f"{kind} question"
    return f"{shown}; only single-answer multiple choice is imported"
