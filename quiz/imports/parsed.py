"""What an importer makes of a file: parsed questions and line-numbered skips.

Every importer (GIFT, Aiken, Moodle XML) returns an :class:`ImportReport`. Nothing here
touches the database; :mod:`quiz.banks` turns a report into stored draft questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParsedOption:
    """One answer option as written in the file (plain text, HTML already reduced)."""

    text: str
    correct: bool


@dataclass(frozen=True)
class ParsedQuestion:
    """A single-answer multiple-choice question found in a file.

    ``line`` is the 1-based line where the question starts; ``section`` is the category
    (GIFT ``$CATEGORY``, Moodle XML category) or ``None`` when the file names none.
    """

    line: int
    text: str
    options: tuple[ParsedOption, ...]
    section: str | None = None
    explanation: str = ""
    name: str = ""


@dataclass(frozen=True)
class Skip:
    """An entry that was not imported, with the line it starts on and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """The result of parsing one file: questions to import, skips and warnings."""

    questions: list[ParsedQuestion] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[Skip] = field(default_factory=list)
