"""GIFT importer: supported multiple choice, every other entry skipped with its line."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pytest

from quiz.imports import (
    FORMATS,
    ImportFormatError,
    ParsedOption,
    ParsedQuestion,
    Skip,
    detect_format,
    parse_questions,
)
from quiz.imports.gift import parse_gift

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
ONLY_MC = "only single-answer multiple choice is imported"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _options(correct: str, *wrong: str) -> tuple[ParsedOption, ...]:
    return (ParsedOption(correct, True), *(ParsedOption(text, False) for text in wrong))


def test_english_file_imports_every_multiple_choice_question() -> None:
    report = parse_questions(_fixture("gift_en.gift"), filename="gift_en.gift")

    assert report.skipped == []
    assert report.questions == [
        ParsedQuestion(
            line=4,
            text="What is the capital of France?",
            options=_options("Paris", "Lyon", "Marseille"),
            section="Geography",
            explanation="Paris has been the capital since the 10th century.",
            name="Capital of France",
        ),
        ParsedQuestion(
            line=12,
            text="The _____ Ocean is the largest on Earth.",
            options=_options("Pacific", "Atlantic", "Indian"),
            section="Geography",
            name="Largest ocean",
        ),
        ParsedQuestion(
            line=14,
            text="Which character escapes {, }, ~, =, # and : in GIFT?",
            options=_options("\\ (backslash)", "/ (slash)", "| (pipe)"),
            section="Geography",
            name="Escapes",
        ),
        ParsedQuestion(
            line=22,
            text="Which river is the longest?",
            options=_options(
                "The Nile", "The Amazon & its tributaries", "The Yangtze", "The Mississippi"
            ),
            section="Rivers",
            name="Longest river",
        ),
        ParsedQuestion(
            line=29,
            text="Is the Earth round?\nChoose one.",
            options=_options("Yes", "No"),
            section="Rivers",
            name="Round",
        ),
    ]


@pytest.mark.rule("B5.8-three-options")
def test_two_or_four_options_are_imported_with_a_warning() -> None:
    report = parse_questions(_fixture("gift_en.gift"), filename="gift_en.gift")

    assert report.warnings == [
        Skip(22, "4 options; the standard form is 3"),
        Skip(29, "2 options; the standard form is 3"),
    ]


BROKEN = [
    (2, f"true/false question ({{TRUE}}); {ONLY_MC}"),
    (4, f"numerical question ({{#...}}); {ONLY_MC}"),
    (6, f"short answer question (only = answers, no ~ options); {ONLY_MC}"),
    (8, f"matching question (=... -> ...); {ONLY_MC}"),
    (10, f"essay question (empty answer block {{}}); {ONLY_MC}"),
    (12, f"description question (text without an answer block); {ONLY_MC}"),
    (14, f"multiple response question (weighted option %50%); {ONLY_MC}"),
    (16, "no correct option"),
    (18, "2 correct options; single-answer questions only"),
    (20, "unterminated { on line 20: the closing } is missing"),
    (24, 'options 2 and 3 are the same: "baltic"'),
    (26, "1 option; at least 2 are required"),
    (28, "option 2 is empty"),
    (30, "a second answer block on line 30; only one {...} per question is supported"),
    (32, "the question name opened with :: is never closed"),
    (34, "} on line 34 has no matching {"),
    (36, 'text "oops" before the first = or ~ option'),
    (38, "empty question text"),
]


@pytest.mark.parametrize(("line", "reason"), BROKEN)
def test_broken_entry_is_skipped_with_its_line_and_reason(line: int, reason: str) -> None:
    report = parse_questions(_fixture("gift_broken.gift"), filename="gift_broken.gift")

    assert Skip(line, reason) in report.skipped


def test_broken_file_imports_nothing_and_skips_every_entry_once() -> None:
    report = parse_questions(_fixture("gift_broken.gift"), filename="gift_broken.gift")

    assert report.questions == []
    assert report.warnings == []
    assert [skip.line for skip in report.skipped] == [line for line, _ in BROKEN]


def test_russian_file_with_bom_and_crlf() -> None:
    data = _fixture("gift_ru_bom_crlf.gift")
    assert data.startswith(codecs.BOM_UTF8)
    assert b"\r\n" in data

    report = parse_questions(data, filename="gift_ru_bom_crlf.gift")

    assert report.questions == [
        ParsedQuestion(
            line=4,
            text="Какой город — столица России?",
            options=_options("Москва", "Санкт-Петербург", "Казань"),
            section="Раздел А",
            explanation="Москва — столица с 1918 года.",
            name="Столица",
        ),
        ParsedQuestion(
            line=11,
            text="Какая река самая длинная в Европе?",
            options=_options("Волга", "Дунай", "Урал"),
            section="Раздел А",
            name="Реки",
        ),
        ParsedQuestion(
            line=22,
            text="Чему равна половина от 1/2?",
            options=_options("1/4", "1", "2", "1/8"),
            section="Раздел Б",
            name="Дробь",
        ),
    ]
    assert report.skipped == [Skip(18, f"true/false question ({{T}}); {ONLY_MC}")]
    assert report.warnings == [Skip(22, "4 options; the standard form is 3")]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode(), id="lf"),
        pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda text: text.replace("\n", "\r").encode(), id="cr"),
        pytest.param(lambda text: codecs.BOM_UTF8 + text.encode(), id="bom"),
    ],
)
def test_line_endings_and_bom_do_not_change_the_result(encode: Callable[[str], bytes]) -> None:
    text = _fixture("gift_en.gift").decode()

    report = parse_questions(encode(text), "gift")

    assert report == parse_gift(text)


def test_large_mixed_file_accounts_for_every_entry() -> None:
    report = parse_questions(_fixture("mixed_large.gift"), filename="mixed_large.gift")

    # 36 entries of six lines each, cycling through nine kinds; four kinds are importable.
    entries = [(k, 6 * k + 3) for k in range(36)]
    imported = [line for k, line in entries if k % 9 in (0, 2, 5, 7)]
    assert [question.line for question in report.questions] == imported
    assert [skip.line for skip in report.skipped] == [
        line for _, line in entries if line not in imported
    ]
    assert [question.section for question in report.questions[::4]] == [
        "Part 1",
        "Часть 2",
        "Part 3",
        "Часть 4",
    ]
    assert report.questions[2].text == "Вопрос 5: _____ ответ побеждает."
    assert report.questions[4].text == "Вопрос 9: выберите первый."
    assert report.questions[6].text == "Question 14: the _____ answer wins."
    assert [warning.line for warning in report.warnings] == [
        line for k, line in entries if k % 9 in (2, 7)
    ]


@pytest.mark.parametrize(
    ("source", "text", "options"),
    [
        pytest.param("Q?{=a ~b ~c}", "Q?", _options("a", "b", "c"), id="one-line"),
        pytest.param(
            "Q?{~b =a ~c}",
            "Q?",
            (ParsedOption("b", False), ParsedOption("a", True), ParsedOption("c", False)),
            id="correct-in-the-middle",
        ),
        pytest.param("Q?{\n=a\n~b\n~c\n}", "Q?", _options("a", "b", "c"), id="multi-line"),
        pytest.param("Q?{~%100%a ~b ~c}", "Q?", _options("a", "b", "c"), id="weight-100"),
        pytest.param("Q?{=%100%a ~b ~c}", "Q?", _options("a", "b", "c"), id="equals-100"),
        pytest.param(
            "Q?{=a # yes ~b # no ~c}", "Q?", _options("a", "b", "c"), id="option-feedback"
        ),
        pytest.param(
            "2 \\= 2?{=yes \\~ sure ~no ~a \\{b\\}}",
            "2 = 2?",
            _options("yes ~ sure", "no", "a {b}"),
            id="escapes",
        ),
        pytest.param(
            "[plain]Is <b> bold?{=yes ~no ~maybe}",
            "Is <b> bold?",
            _options("yes", "no", "maybe"),
            id="plain-keeps-markup",
        ),
        pytest.param(
            "[markdown]Is *this* markdown?{=yes ~no ~maybe}",
            "Is *this* markdown?",
            _options("yes", "no", "maybe"),
            id="markdown-kept-as-source",
        ),
        pytest.param(
            "[html]<p>One</p><p>Two &amp; three</p>{=[plain]<a> ~b ~c}",
            "One\nTwo & three",
            _options("<a>", "b", "c"),
            id="html",
        ),
        pytest.param(
            "Line one\nline <i>two</i>{=a ~b ~c}",
            "Line one\nline two",
            _options("a", "b", "c"),
            id="moodle-default",
        ),
        pytest.param(
            "Moodle costs {~lots =nothing ~a little} to download.",
            "Moodle costs _____ to download.",
            (
                ParsedOption("lots", False),
                ParsedOption("nothing", True),
                ParsedOption("a little", False),
            ),
            id="fill-in-the-blank",
        ),
    ],
)
def test_multiple_choice_text_and_options(
    source: str, text: str, options: tuple[ParsedOption, ...]
) -> None:
    report = parse_gift(source)

    assert report.skipped == []
    assert [(q.line, q.text, q.options) for q in report.questions] == [(1, text, options)]


@pytest.mark.parametrize(
    ("source", "line", "reason"),
    [
        ("Q?{T}", 1, "true/false question ({T})"),
        ("Q?{FALSE#no#yes}", 1, "true/false question ({FALSE})"),
        ("Q?{\nTRUE\n####Because.\n}", 1, "true/false question ({TRUE})"),
        ("Q?{=yes}", 1, "short answer question"),
        ("Q?{#3:2}", 1, "numerical question"),
        ("Q?{=a -> 1 =b -> 2 =c -> 3}", 1, "matching question"),
        ("Q?{~%50%a ~%50%b ~c}", 1, "multiple response question (weighted option %50%)"),
        ("Q?{=a ~%0%b ~c}", 1, "multiple response question (weighted option %0%)"),
        ("Q?{}", 1, "essay question"),
        ("Just a note.", 1, "description question"),
        ("// comment\n\n// another\nQ?{=a ~b", 4, "unterminated { on line 4"),
        ("Q?\n{\n=a\n~b\n~c", 1, "unterminated { on line 2"),
        ("Q?{=a ~b ~c}\nand }", 1, "} on line 2 has no matching {"),
        ("Q?{=a ~b ~c ~a}", 1, 'options 1 and 4 are the same: "a"'),
        ("Q?{~a ~b ~c}", 1, "no correct option"),
        ("Q?{=a =b =c}", 1, "short answer question"),
        ("Q?{=a =b ~c}", 1, "2 correct options; single-answer questions only"),
        ("Q?{=a}", 1, "short answer question"),
        ("Q?{~a}", 1, "1 option; at least 2 are required"),
        ("Q?{=a ~}", 1, "option 2 is empty"),
        ("::Q:: {=a ~b ~c}", 1, "empty question text"),
    ],
)
def test_unsupported_or_broken_question_is_skipped(source: str, line: int, reason: str) -> None:
    report = parse_gift(source)

    assert report.questions == []
    assert len(report.skipped) == 1
    assert report.skipped[0].line == line
    assert report.skipped[0].reason.startswith(reason)


@pytest.mark.rule("B5.8-three-options")
@pytest.mark.parametrize(
    ("answers", "warning"),
    [
        ("=a ~b", "2 options; the standard form is 3"),
        ("=a ~b ~c", None),
        ("=a ~b ~c ~d", "4 options; the standard form is 3"),
        ("=a ~b ~c ~d ~e", "5 options; the standard form is 3"),
    ],
)
def test_option_count_policy(answers: str, warning: str | None) -> None:
    report = parse_gift(f"\n// comment\n\nQ?{{{answers}}}")

    assert [q.line for q in report.questions] == [4]
    assert report.warnings == ([Skip(4, warning)] if warning else [])


@pytest.mark.rule("B5.8-three-options")
def test_one_option_is_not_imported() -> None:
    report = parse_gift("Q?{~a}\n\nR?{~only}")

    assert report.questions == []
    assert report.skipped == [
        Skip(1, "1 option; at least 2 are required"),
        Skip(3, "1 option; at least 2 are required"),
    ]


@pytest.mark.parametrize(
    ("category", "section"),
    [
        ("$course$/top/Section A", "Section A"),
        ("$course$/top/Geography/Rivers", "Rivers"),
        ("top/Algebra", "Algebra"),
        ("Plain name", "Plain name"),
        ("$course$/top", None),
        ("$course$/top/Either//or", "Either/or"),
    ],
)
def test_category_sets_the_section_of_the_following_questions(
    category: str, section: str | None
) -> None:
    report = parse_gift(f"::before::Q?{{=a ~b ~c}}\n\n$CATEGORY: {category}\n\nQ?{{=a ~b ~c}}")

    assert [q.section for q in report.questions] == [None, section]


def test_category_line_directly_above_a_question() -> None:
    report = parse_gift("$CATEGORY: $course$/top/Part\nQ?{=a ~b ~c}")

    assert [(q.line, q.section) for q in report.questions] == [(2, "Part")]


def test_comment_lines_inside_an_answer_block_are_ignored() -> None:
    report = parse_gift("Q?{\n// the right one\n=a\n// wrong ones\n~b\n~c\n}")

    assert [q.options for q in report.questions] == [_options("a", "b", "c")]


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("bank.gift", "anything", "gift"),
        ("BANK.GIFT", "anything", "gift"),
        ("questions.gift.txt", "Q?\nA) a\nANSWER: A", "gift"),
        ("questions.aiken.txt", "Q?{=a ~b ~c}", "aiken"),
        ("bank.txt", "// c\n::Q::Q?{=a ~b ~c}", "gift"),
        ("", "Q?{=a ~b ~c}", "gift"),
        ("bank.txt", "Q?\nA) a\nB) b\nANSWER: A", "aiken"),
        ("", '<?xml version="1.0"?><quiz/>', "moodlexml"),
    ],
)
def test_detect_format(filename: str, content: str, expected: str) -> None:
    assert expected in FORMATS
    assert detect_format(content.encode(), filename) == expected


def test_detect_format_refuses_to_guess() -> None:
    with pytest.raises(ImportFormatError, match="cannot tell the question file format"):
        detect_format(b"Just some prose.\nNothing else.", "notes.txt")


def test_format_given_explicitly_wins_over_the_name() -> None:
    report = parse_questions(b"Q?{=a ~b ~c}", fmt="GIFT", filename="bank.aiken.txt")

    assert len(report.questions) == 1


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ImportFormatError, match='unknown question file format "qti"'):
        parse_questions(b"Q?{=a ~b ~c}", fmt="qti")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Q?{=a ~b ~c}\r\n\r\nQ\xe9?{=a ~b ~c}", "byte 0xe9 on line 3 cannot be decoded"),
        ("Q?{=a ~b ~c}".encode("cp1251") + "\nВопрос".encode("cp1251"), "on line 2"),
        (codecs.BOM_UTF16_LE + "Q?{=a ~b ~c}".encode("utf-16-le"), "UTF-16"),
        (b"  \n\r\n", "the file is empty"),
    ],
)
def test_unreadable_file_is_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message.replace("?", r"\?")):
        parse_questions(data, "gift")


def test_import_format_error_is_a_value_error() -> None:
    assert issubclass(ImportFormatError, ValueError)
