"""Question importers: GIFT, Aiken and Moodle XML files into an :class:`ImportReport`.

Only single-answer multiple choice is imported; every other entry of a file is reported as
a line-numbered :class:`Skip`, so a file is never half-imported without saying why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Final

from quiz.imports.aiken import parse_aiken
from quiz.imports.errors import ImportFormatError
from quiz.imports.gift import parse_gift
from quiz.imports.moodlexml import parse_moodle_xml
from quiz.imports.parsed import ImportReport, ParsedOption, ParsedQuestion, Skip
from quiz.imports.text import decode_text

__all__ = [
    "FORMATS",
    "ImportFormatError",
    "ImportReport",
    "ParsedOption",
    "ParsedQuestion",
    "Skip",
    "detect_format",
    "parse_questions",
]

FORMATS: Final = ("gift", "aiken", "moodlexml")

_PARSERS: Final[dict[str, Callable[[str], ImportReport]]] = {
    "gift": parse_gift,
    "aiken": parse_aiken,
    "moodlexml": parse_moodle_xml,
}
_SUFFIXES: Final = {".gift": "gift", ".aiken": "aiken", ".xml": "moodlexml"}
_AIKEN_ANSWER: Final = re.compile(r"^[ \t]*ANSWER\s*:", re.MULTILINE)
_GIFT_MARK: Final = re.compile(r"^[ \t]*(?://|::|\$CATEGORY:)|[{}]", re.MULTILINE)


def detect_format(data: bytes, filename: str = "") -> str:
    """Tell which of :data:`FORMATS` a file is in, by its name first and its content next."""
    return _detect(decode_text(data), filename)


def parse_questions(data: bytes, fmt: str | None = None, filename: str = "") -> ImportReport:
    """Decode an uploaded file and parse it with the importer for its format."""
    text = decode_text(data)
    if not text.strip():
        raise ImportFormatError("the file is empty")
    if fmt is None:
        fmt = _detect(text, filename)
    parser = _PARSERS.get(fmt.strip().lower())
    if parser is None:
        raise ImportFormatError(
            f'unknown question file format "{fmt}"; expected one of {", ".join(FORMATS)}'
        )
    return parser(text)


def _detect(text: str, filename: str) -> str:
    suffixes = [suffix.lower() for suffix in PurePath(filename).suffixes]
    # Moodle's own fixtures are named "questions.gift.txt": the inner suffix is the format.
    for suffix in reversed(suffixes[-2:]):
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    head = text.lstrip()
    if head.startswith(("<?xml", "<quiz")):
        return "moodlexml"
    aiken = len(_AIKEN_ANSWER.findall(text))
    gift = len(_GIFT_MARK.findall(text))
    if aiken > gift:
        return "aiken"
    if gift > aiken:
        return "gift"
    raise ImportFormatError(
        "cannot tell the question file format from its name or content; "
        f"choose one of {', '.join(FORMATS)}"
    )
