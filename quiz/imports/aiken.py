"""Aiken: question text, lettered options ``A)``/``A.``, then ``ANSWER: X``.

Aiken text is plain: ``<b>`` in a question is shown as written, never read as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from quiz.imports.parsed import ImportReport, ParsedOption, Skip
from quiz.imports.policy import admit

_OPTION: Final = re.compile(r"([A-Z])[.)]\s*(.*)")
_ANSWER: Final = re.compile(r"ANSWER\s*:\s*(.*)")
# A Cyrillic keyboard types look-alike letters; say so instead of a puzzling "no options".
_CYRILLIC_OPTION: Final = re.compile(r"[А-ЯЁ][.)]")


@dataclass
class _Entry:
    line: int
    text: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    broken: str | None = None


def parse_aiken(text: str) -> ImportReport:
    """Parse decoded Aiken text into single-answer multiple-choice questions and skips."""
    report = ImportReport()
    entry: _Entry | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        answer = _ANSWER.fullmatch(line)
        option = _OPTION.fullmatch(line)
        if answer is not None:
            if entry is None:
                report.skipped.append(Skip(number, "ANSWER line without a question before it"))
            else:
                _finish(entry, answer.group(1).strip(), report)
                entry = None
        elif option is not None:
            letter, option_text = option.groups()
            if entry is None:
                entry = _Entry(number, broken=f'option "{letter})" comes before any question text')
            elif entry.broken is None:
                if any(letter == seen for seen, _ in entry.options):
                    entry.broken = f"option letter {letter} is used twice (line {number})"
                else:
                    entry.options.append((letter, option_text))
        elif entry is None:
            entry = _Entry(number, [line])
        elif entry.options or entry.broken is not None:
            _abandon(entry, f"before the next question on line {number}", report)
            entry = _Entry(number, [line])
        else:
            entry.text.append(line)
    if entry is not None:
        _abandon(entry, "before the end of the file", report)
    return report


def _abandon(entry: _Entry, where: str, report: ImportReport) -> None:
    reason = entry.broken or f"unfinished question: no ANSWER line {where}"
    report.skipped.append(Skip(entry.line, reason))


def _finish(entry: _Entry, answer: str, report: ImportReport) -> None:
    def skip(reason: str) -> None:
        report.skipped.append(Skip(entry.line, reason))

    if entry.broken is not None:
        skip(entry.broken)
        return
    if not entry.options and any(_CYRILLIC_OPTION.match(line) for line in entry.text):
        skip("no options: option letters must be Latin A-Z, these look Cyrillic")
        return
    if not answer:
        skip("the ANSWER line names no option letter")
        return
    if len(answer) != 1 or not answer.isascii() or not answer.isalpha():
        skip(f'ANSWER must be one option letter, not "{answer}"')
        return
    letter = answer.upper()
    letters = [seen for seen, _ in entry.options]
    if letters and letter not in letters:
        skip(f"ANSWER {letter} is not among the options {', '.join(letters)}")
        return
    admit(
        report,
        entry.line,
        "\n".join(entry.text),
        [ParsedOption(option_text, seen == letter) for seen, option_text in entry.options],
    )
