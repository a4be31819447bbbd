"""Moodle GIFT: the single-answer multiple-choice subset, everything else skipped with a reason.

Follows Moodle's own reader (question/format/gift/format.php): questions are separated by
blank lines, whole-line ``//`` comments are dropped, the first ``{...}`` is the answer block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from quiz.imports.parsed import ImportReport, ParsedOption, Skip
from quiz.imports.policy import admit, unsupported
from quiz.imports.sections import section_from_category
from quiz.imports.text import split_format_prefix, to_plain_text

BLANK: Final = "_____"
DEFAULT_TEXT_FORMAT: Final = "moodle"
FULL_WEIGHT: Final = 100

# Escaped characters are swapped for private-use code points so that the structural
# characters (~ = # { } :) can be searched for without tripping over literal ones.
_ESCAPABLE: Final = "\\:#={}~n"
_PLACEHOLDER: Final = {ch: chr(0xE000 + i) for i, ch in enumerate(_ESCAPABLE)}
_RESTORED: Final = {
    ord(placeholder): ("\n" if ch == "n" else ch) for ch, placeholder in _PLACEHOLDER.items()
}
_ESCAPE: Final = re.compile(r"\\([\\:#={}~n])")
_WEIGHT: Final = re.compile(r"%(-?\d+(?:[.,]\d+)?)%")
_TRUE_FALSE: Final = frozenset({"T", "TRUE", "F", "FALSE"})
_CATEGORY: Final = "$CATEGORY:"


@dataclass(frozen=True)
class _Block:
    """Non-comment lines of one blank-line-separated entry, each with its file line number."""

    lines: tuple[str, ...]
    numbers: tuple[int, ...]


def parse_gift(text: str) -> ImportReport:
    """Parse decoded GIFT text into single-answer multiple-choice questions and skips."""
    report = ImportReport()
    section: str | None = None
    for block in _blocks(text):
        lines, numbers = block.lines, block.numbers
        if lines[0].startswith(_CATEGORY):
            section = section_from_category(lines[0][len(_CATEGORY) :])
            lines, numbers = lines[1:], numbers[1:]
            if not lines:
                continue
        _read_question(_Block(lines, numbers), section, report)
    return report


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    lines: list[str] = []
    numbers: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line.startswith("//"):
            continue
        if line:
            lines.append(line)
            numbers.append(number)
        elif lines:
            blocks.append(_Block(tuple(lines), tuple(numbers)))
            lines, numbers = [], []
    if lines:
        blocks.append(_Block(tuple(lines), tuple(numbers)))
    return blocks


def _protect(text: str) -> str:
    return _ESCAPE.sub(lambda match: _PLACEHOLDER[match.group(1)], text)


def _restore(text: str) -> str:
    return text.translate(_RESTORED)


def _read_question(block: _Block, section: str | None, report: ImportReport) -> None:
    start = block.numbers[0]
    source = _protect("\n".join(block.lines))

    def line_at(offset: int) -> int:
        return block.numbers[source.count("\n", 0, offset)]

    def skip(reason: str) -> None:
        report.skipped.append(Skip(start, reason))

    name = ""
    body_start = 0
    if source.startswith("::"):
        name_end = source.find("::", 2)
        if name_end == -1:
            skip("the question name opened with :: is never closed")
            return
        name = " ".join(_restore(source[2:name_end]).split())
        body_start = name_end + 2

    opening = source.find("{", body_start)
    closing = source.find("}", body_start)
    if opening == -1 and closing == -1:
        skip(unsupported("description", "text without an answer block"))
        return
    if closing == -1:
        skip(f"unterminated {{ on line {line_at(opening)}: the closing }} is missing")
        return
    if opening == -1 or closing < opening:
        skip(f"}} on line {line_at(closing)} has no matching {{")
        return
    extra = re.search(r"[{}]", source[closing + 1 :])
    if extra is not None:
        extra_line = line_at(closing + 1 + extra.start())
        if extra.group() == "}":
            skip(f"}} on line {extra_line} has no matching {{")
        else:
            skip(
                f"a second answer block on line {extra_line}; "
                "only one {...} per question is supported"
            )
        return

    answers = source[opening + 1 : closing]
    before, after = source[body_start:opening], source[closing + 1 :]
    # An answer block followed by more text is a fill-in-the-blank: the gap stays visible.
    question_source = f"{before}{BLANK}{after}" if after.strip() else before
    explanation_source = ""
    feedback_at = answers.rfind("####")
    if feedback_at != -1:
        explanation_source = answers[feedback_at + 4 :]
        answers = answers[:feedback_at]
    answers = answers.replace("\n", " ").strip()

    kind = _unsupported_kind(answers)
    if kind is not None:
        skip(unsupported(*kind))
        return

    text_format, question_body = split_format_prefix(_restore(question_source), DEFAULT_TEXT_FORMAT)
    options = _read_options(answers, text_format)
    if isinstance(options, str):
        skip(options)
        return
    explanation_format, explanation = split_format_prefix(_restore(explanation_source), text_format)
    admit(
        report,
        start,
        to_plain_text(question_body, text_format),
        options,
        section=section,
        explanation=to_plain_text(explanation, explanation_format),
        name=name,
    )


def _unsupported_kind(answers: str) -> tuple[str, str] | None:
    """Classify the answer block the way Moodle does; ``None`` means multiple choice."""
    if not answers:
        return "essay", "empty answer block {}"
    if answers.startswith("#"):
        return "numerical", "{#...}"
    if "~" in answers:
        return None
    if "=" in answers and "->" in answers:
        return "matching", "=... -> ..."
    verdict = answers.split("#", 1)[0].strip()
    if verdict.upper() in _TRUE_FALSE:
        return "true/false", f"{{{verdict}}}"
    if "=" in answers:
        return "short answer", "only = answers, no ~ options"
    return "short answer", "no = or ~ options"


def _read_options(answers: str, text_format: str) -> list[ParsedOption] | str:
    """Read ``=right ~wrong`` options, or return the reason they cannot be imported."""
    pieces = answers.replace("=", "~=").split("~")
    leading = pieces.pop(0).strip()
    if leading:
        return f'text "{_restore(leading)}" before the first = or ~ option'
    options: list[ParsedOption] = []
    for piece in pieces:
        answer = piece.strip()
        correct = answer.startswith("=")
        if correct:
            answer = answer[1:].lstrip()
        weight = _WEIGHT.match(answer)
        if weight is not None:
            if float(weight.group(1).replace(",", ".")) != FULL_WEIGHT:
                return unsupported("multiple response", f"weighted option %{weight.group(1)}%")
            correct = True
            answer = answer[weight.end() :]
        # Per-option feedback after "#" is shown only in Moodle; the text before it is the option.
        answer = answer.split("#", 1)[0]
        option_format, option_text = split_format_prefix(_restore(answer), text_format)
        options.append(ParsedOption(to_plain_text(option_text, option_format), correct))
    return options
