"""Aiken importer: lettered options and an ANSWER line; broken entries skipped by line."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pytest

from quiz.imports import (
    ImportFormatError,
    ParsedOption,
    ParsedQuestion,
    Skip,
    detect_format,
    parse_questions,
)
from quiz.imports.aiken import parse_aiken

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _options(*texts: str, correct: int) -> tuple[ParsedOption, ...]:
    return tuple(ParsedOption(text, index == correct) for index, text in enumerate(texts))


def test_english_file() -> None:
    report = parse_questions(_fixture("aiken_en.txt"), filename="aiken_en.txt")

    assert report.skipped == []
    assert report.questions == [
        ParsedQuestion(
            1,
            "Which planet is known as the Red Planet?",
            _options("Venus", "Mars", "Jupiter", correct=1),
        ),
        ParsedQuestion(
            7,
            "Read the statement below.\n"
            '"Water boils at 100 degrees Celsius at sea level."\n'
            "Which unit is used in the statement?",
            _options("Kelvin", "Fahrenheit", "Celsius", correct=2),
        ),
        ParsedQuestion(
            15, "Which of these is a prime number?", _options("4", "6", "7", "9", correct=2)
        ),
        ParsedQuestion(
            22,
            "Aiken is plain text: what does <br> & co do here?",
            _options("Nothing, it is shown as written", "It breaks the line", correct=0),
        ),
    ]


@pytest.mark.rule("B5.8-three-options")
def test_two_or_four_options_are_imported_with_a_warning() -> None:
    report = parse_questions(_fixture("aiken_en.txt"), filename="aiken_en.txt")

    assert report.warnings == [
        Skip(15, "4 options; the standard form is 3"),
        Skip(22, "2 options; the standard form is 3"),
    ]


def test_russian_file() -> None:
    report = parse_questions(_fixture("aiken_ru.txt"), filename="aiken_ru.txt")

    assert report.questions == [
        ParsedQuestion(
            1,
            "Кто написал роман «Война и мир»?",
            _options("Фёдор Достоевский", "Лев Толстой", "Антон Чехов", correct=1),
        ),
        ParsedQuestion(
            7,
            "Сколько будет 7 × 8?\nВыберите один ответ.",
            _options("54", "56", "58", correct=1),
        ),
    ]
    assert report.skipped == [
        Skip(14, "no options: option letters must be Latin A-Z, these look Cyrillic")
    ]
    assert report.warnings == []


ERRORS = [
    (1, "1 option; at least 2 are required"),
    (5, 'option "B)" comes before any question text'),
    (9, "ANSWER D is not among the options A, B, C"),
    (15, 'ANSWER must be one option letter, not "Green"'),
    (21, "option letter B is used twice (line 24)"),
    (27, "ANSWER line without a question before it"),
    (35, "option 1 is empty"),
    (41, 'options 1 and 2 are the same: "paris"'),
    (47, "no options"),
    (50, "the ANSWER line names no option letter"),
    (56, "unfinished question: no ANSWER line before the next question on line 60"),
    (66, "unfinished question: no ANSWER line before the end of the file"),
]


@pytest.mark.parametrize(("line", "reason"), ERRORS)
def test_error_is_skipped_with_its_line(line: int, reason: str) -> None:
    report = parse_questions(_fixture("aiken_errors.txt"), filename="aiken_errors.txt")

    assert Skip(line, reason) in report.skipped


def test_errors_file_keeps_the_good_questions_and_skips_the_rest() -> None:
    report = parse_questions(_fixture("aiken_errors.txt"), filename="aiken_errors.txt")

    assert report.skipped == [Skip(line, reason) for line, reason in ERRORS]
    assert report.questions == [
        ParsedQuestion(
            29,
            "A good question in the middle",
            _options("Right", "Wrong", "Also wrong", correct=0),
        ),
        ParsedQuestion(
            60,
            "Another question starts without a blank line",
            _options("One", "Two", "Three", correct=0),
        ),
    ]
    assert report.warnings == []


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda text: text.replace("\n", "\r").encode(), id="cr"),
        pytest.param(
            lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode(), id="bom-crlf"
        ),
    ],
)
def test_line_endings_and_bom_do_not_change_the_result(encode: Callable[[str], bytes]) -> None:
    text = _fixture("aiken_errors.txt").decode()

    assert parse_questions(encode(text), "aiken") == parse_aiken(text)


@pytest.mark.parametrize(
    ("source", "text", "options"),
    [
        pytest.param(
            "Q?\nA) a\nB) b\nC) c\nANSWER: A", "Q?", _options("a", "b", "c", correct=0), id="paren"
        ),
        pytest.param(
            "Q?\nA. a\nB. b\nC. c\nANSWER: C", "Q?", _options("a", "b", "c", correct=2), id="dot"
        ),
        pytest.param(
            "Q?\nA)a\nB)b\nC)c\nANSWER: B", "Q?", _options("a", "b", "c", correct=1), id="no-space"
        ),
        pytest.param(
            "Q?\nA.\ta\nB.\tb\nC.\tc\nANSWER:B", "Q?", _options("a", "b", "c", correct=1), id="tab"
        ),
        pytest.param(
            "  Q?  \n  A) a  \n  B) b\n  C) c\n  ANSWER : b  ",
            "Q?",
            _options("a", "b", "c", correct=1),
            id="indented-lowercase-answer",
        ),
        pytest.param(
            "First line\n\nsecond line\nA) a\nB) b\nC) c\nANSWER: A",
            "First line\nsecond line",
            _options("a", "b", "c", correct=0),
            id="multi-line-question",
        ),
        pytest.param(
            "Is 1 < 2 && 3 > 2?\nA) <yes>\nB) &amp;\nC) no\nANSWER: A",
            "Is 1 < 2 && 3 > 2?",
            _options("<yes>", "&amp;", "no", correct=0),
            id="plain-text-literal",
        ),
    ],
)
def test_question_forms(source: str, text: str, options: tuple[ParsedOption, ...]) -> None:
    report = parse_aiken(source)

    assert report.skipped == []
    assert [(q.line, q.text, q.options) for q in report.questions] == [(1, text, options)]


@pytest.mark.parametrize(
    ("source", "skips"),
    [
        ("Q?\nA) a\nB) b\nC) c\nANSWER: E", [Skip(1, "ANSWER E is not among the options A, B, C")]),
        ("Q?\nA) a\nB) b\nC) c\nANSWER: 1", [Skip(1, 'ANSWER must be one option letter, not "1"')]),
        (
            "Q?\nA) a\nB) b\nC) c\nANSWER: AB",
            [Skip(1, 'ANSWER must be one option letter, not "AB"')],
        ),
        ("\n\nA) a\nB) b\nANSWER: A", [Skip(3, 'option "A)" comes before any question text')]),
        (
            "Q?\nA) a\nB) b",
            [Skip(1, "unfinished question: no ANSWER line before the end of the file")],
        ),
        (
            "Q?\nA) a\nB) b\n\nR?\nA) a\nB) b\nANSWER: B",
            [Skip(1, "unfinished question: no ANSWER line before the next question on line 5")],
        ),
        (
            "ANSWER: A\n\nQ?\nA) a\nANSWER: A",
            [
                Skip(1, "ANSWER line without a question before it"),
                Skip(3, "1 option; at least 2 are required"),
            ],
        ),
        ("Q?\nA) a\nB) b\nC) a\nANSWER: A", [Skip(1, 'options 1 and 3 are the same: "a"')]),
    ],
)
def test_broken_entries(source: str, skips: list[Skip]) -> None:
    report = parse_aiken(source)

    assert report.skipped == skips


@pytest.mark.rule("B5.8-three-options")
@pytest.mark.parametrize(
    ("letters", "warning"),
    [
        ("AB", "2 options; the standard form is 3"),
        ("ABC", None),
        ("ABCD", "4 options; the standard form is 3"),
        ("ABCDEF", "6 options; the standard form is 3"),
    ],
)
def test_option_count_policy(letters: str, warning: str | None) -> None:
    lines = ["Pick A.", *(f"{letter}) option {letter}" for letter in letters), "ANSWER: A"]

    report = parse_aiken("\n".join(lines))

    assert [len(q.options) for q in report.questions] == [len(letters)]
    assert report.warnings == ([Skip(1, warning)] if warning else [])


@pytest.mark.rule("B5.8-three-options")
def test_one_option_is_not_imported() -> None:
    report = parse_aiken("Pick A.\nA) option A\nANSWER: A")

    assert report.questions == []
    assert report.skipped == [Skip(1, "1 option; at least 2 are required")]


def test_detected_as_aiken_by_content() -> None:
    assert detect_format(_fixture("aiken_errors.txt"), "aiken_errors.txt") == "aiken"
    assert detect_format(_fixture("aiken_ru.txt"), "") == "aiken"


def test_non_utf8_aiken_file_is_refused() -> None:
    data = "Вопрос?\nA) да\nB) нет\nANSWER: A".encode("cp1251")

    with pytest.raises(ImportFormatError, match="not UTF-8 text: byte 0xc2 on line 1"):
        parse_questions(data, filename="bank.txt")
