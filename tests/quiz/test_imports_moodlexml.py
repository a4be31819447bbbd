"""Moodle XML importer, and the HTML-to-text reduction its question texts go through."""

from __future__ import annotations

import codecs
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
from quiz.imports.moodlexml import parse_moodle_xml
from quiz.imports.text import html_to_text, split_format_prefix, to_plain_text

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
ONLY_MC = "only single-answer multiple choice is imported"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _options(*texts: str, correct: int) -> tuple[ParsedOption, ...]:
    return tuple(ParsedOption(text, index == correct) for index, text in enumerate(texts))


def _quiz(*questions: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>"


def _multichoice(*answers: tuple[str, str], single: str | None = "true") -> str:
    single_element = f"<single>{single}</single>" if single is not None else ""
    answer_elements = "".join(
        f'<answer fraction="{fraction}"><text>{text}</text></answer>' for fraction, text in answers
    )
    return (
        '<question type="multichoice"><questiontext format="html"><text>Q?</text></questiontext>'
        f"{single_element}{answer_elements}</question>"
    )


def test_english_file_imports_single_answer_multichoice() -> None:
    report = parse_questions(_fixture("moodle_en.xml"), filename="moodle_en.xml")

    assert report.questions == [
        ParsedQuestion(
            line=10,
            text="Which planet is the largest?\n[Jupiter from Voyager]",
            options=_options("Jupiter", "Saturn", "Earth", correct=0),
            section="Section A",
            explanation="Jupiter is more than twice as massive as all the other planets combined.",
            name="Planets",
        ),
        ParsedQuestion(
            line=33,
            text="Which gas do plants take in?\nPick one.",
            options=_options("Oxygen", "Carbon dioxide", "Helium & neon", "Nitrogen", correct=1),
            section="Section A",
            name="No single element",
        ),
        ParsedQuestion(
            line=51,
            text="Is <b> a tag?",
            options=_options("Yes, in HTML", "No", correct=0),
            section="Section B",
            name="Plain text",
        ),
    ]


SKIPPED = [
    (61, f'true/false question (type="truefalse"); {ONLY_MC}'),
    (68, f'short answer question (type="shortanswer"); {ONLY_MC}'),
    (74, f"essay question; {ONLY_MC}"),
    (79, f"matching question; {ONLY_MC}"),
    (84, f"numerical question; {ONLY_MC}"),
    (90, f'embedded answers (Cloze) question (type="multianswer"); {ONLY_MC}'),
    (95, f"multiple response question (multichoice with <single>false</single>); {ONLY_MC}"),
    (104, "2 correct options; single-answer questions only"),
    (112, f"partial-credit question (answer on line 117 has fraction 50); {ONLY_MC}"),
    (121, "no correct option"),
]


@pytest.mark.parametrize(("line", "reason"), SKIPPED)
def test_other_types_are_skipped_with_the_line_of_their_question_tag(
    line: int, reason: str
) -> None:
    report = parse_questions(_fixture("moodle_en.xml"), filename="moodle_en.xml")

    assert Skip(line, reason) in report.skipped


def test_english_file_accounts_for_every_question_once() -> None:
    report = parse_questions(_fixture("moodle_en.xml"), filename="moodle_en.xml")

    assert report.skipped == [Skip(line, reason) for line, reason in SKIPPED]


@pytest.mark.rule("B5.8-three-options")
def test_two_or_four_options_are_imported_with_a_warning() -> None:
    report = parse_questions(_fixture("moodle_en.xml"), filename="moodle_en.xml")

    assert report.warnings == [
        Skip(33, "4 options; the standard form is 3"),
        Skip(51, "2 options; the standard form is 3"),
    ]


def test_russian_file_with_escaped_html() -> None:
    report = parse_questions(_fixture("moodle_ru.xml"), filename="moodle_ru.xml")

    assert report.questions == [
        ParsedQuestion(
            line=7,
            text="Какова формула воды?\nВыберите один ответ.",
            options=_options("H2O", "CO2", "NaCl", correct=0),
            section="Раздел «Химия»",
            name="Вода",
        )
    ]
    assert report.skipped == [
        Skip(18, "option 2 is empty"),
        Skip(26, f'drag and drop into text question (type="ddwtos"); {ONLY_MC}'),
    ]


def test_bom_and_crlf_keep_line_numbers() -> None:
    text = _fixture("moodle_en.xml").decode()
    data = codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode()

    assert parse_questions(data, filename="bank.xml") == parse_moodle_xml(text)


def test_not_well_formed_xml_is_refused_with_its_line() -> None:
    with pytest.raises(ImportFormatError, match="not well-formed XML: mismatched tag on line 5"):
        parse_questions(_fixture("moodle_broken.xml"), filename="moodle_broken.xml")


def test_dtd_is_refused_before_any_entity_is_expanded() -> None:
    with pytest.raises(ImportFormatError, match="<!DOCTYPE> on line 2 is not allowed"):
        parse_questions(_fixture("moodle_doctype.xml"), filename="moodle_doctype.xml")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<quiz>\n<question type='essay'>\n</quiz>", "mismatched tag on line 3"),
        ("<quiz>&nbsp;</quiz>", "undefined entity on line 1"),
        ("<quiz>", "no element found on line 1"),
        ('<!DOCTYPE quiz SYSTEM "http://example.com/quiz.dtd"><quiz/>', "<!DOCTYPE> on line 1"),
        ("<questions><question/></questions>", "the root element is <questions>"),
    ],
)
def test_unusable_xml_is_refused(source: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        parse_moodle_xml(source)


@pytest.mark.parametrize(
    ("answers", "single", "outcome"),
    [
        pytest.param((("100", "a"), ("0", "b"), ("0", "c")), "true", 1, id="single-true"),
        pytest.param((("100", "a"), ("0", "b"), ("0", "c")), None, 1, id="single-absent"),
        pytest.param((("100", "a"), ("-50", "b"), ("0", "c")), "true", 1, id="penalty"),
        pytest.param((("100.0", "a"), ("0.0", "b"), ("0", "c")), "1", 1, id="decimal"),
        pytest.param(
            (("100", "a"), ("100", "b"), ("0", "c")),
            None,
            "2 correct options; single-answer questions only",
            id="absent-two-at-100",
        ),
        pytest.param(
            (("0", "a"), ("0", "b"), ("0", "c")), None, "no correct option", id="absent-none"
        ),
        pytest.param(
            (("50", "a"), ("50", "b"), ("0", "c")),
            None,
            f"multiple response question (answer on line 3 has fraction 50); {ONLY_MC}",
            id="absent-partial",
        ),
        pytest.param(
            (("100", "a"), ("0", "b"), ("0", "c")),
            "false",
            f"multiple response question (multichoice with <single>false</single>); {ONLY_MC}",
            id="single-false",
        ),
        pytest.param(
            (("100", "a"), ("0", "b")),
            "maybe",
            '<single> must be true or false, not "maybe"',
            id="single-odd",
        ),
        pytest.param(
            (("full", "a"), ("0", "b")),
            "true",
            'answer on line 3 has fraction "full", which is not a number',
            id="fraction-odd",
        ),
        pytest.param(
            (("150", "a"), ("0", "b")),
            "true",
            "answer on line 3 has fraction 150, above 100",
            id="fraction-high",
        ),
        pytest.param(
            (("100", "a"), ("0", "<![CDATA[<p>A</p>]]>")),
            "true",
            'options 1 and 2 are the same: "A"',
            id="duplicate-after-html",
        ),
    ],
)
def test_single_and_fraction_rules(
    answers: tuple[tuple[str, str], ...], single: str | None, outcome: int | str
) -> None:
    report = parse_moodle_xml(_quiz(_multichoice(*answers, single=single)))

    if isinstance(outcome, int):
        assert [(q.line, sum(o.correct for o in q.options)) for q in report.questions] == [
            (3, outcome)
        ]
        assert report.skipped == []
    else:
        assert report.questions == []
        assert report.skipped == [Skip(3, outcome)]


@pytest.mark.rule("B5.8-three-options")
@pytest.mark.parametrize(
    ("count", "warnings"),
    [
        (1, None),
        (2, [Skip(3, "2 options; the standard form is 3")]),
        (3, []),
        (4, [Skip(3, "4 options; the standard form is 3")]),
    ],
)
def test_option_count_policy(count: int, warnings: list[Skip] | None) -> None:
    answers = [("100", "right"), *(("0", f"wrong {n}") for n in range(1, count))]

    report = parse_moodle_xml(_quiz(_multichoice(*answers)))

    if warnings is None:
        assert report.skipped == [Skip(3, "1 option; at least 2 are required")]
    else:
        assert [len(q.options) for q in report.questions] == [count]
        assert report.warnings == warnings


def test_cdata_and_formats_of_question_parts() -> None:
    question = """<question type="multichoice">
  <name><text>  Spaced   name </text></name>
  <questiontext format="markdown"><text><![CDATA[Is **2 < 3**?]]></text></questiontext>
  <generalfeedback format="moodle_auto_format"><text>Yes.
It is.</text></generalfeedback>
  <answer fraction="100" format="plain_text"><text><![CDATA[<yes>]]></text></answer>
  <answer fraction="0" format="html"><text><![CDATA[<p>no &amp; never</p>]]></text></answer>
  <answer fraction="0"><text>maybe</text></answer>
</question>"""

    report = parse_moodle_xml(_quiz(question))

    assert report.questions == [
        ParsedQuestion(
            line=3,
            text="Is **2 < 3**?",
            options=_options("<yes>", "no & never", "maybe", correct=0),
            explanation="Yes.\nIt is.",
            name="Spaced name",
        )
    ]


def test_category_without_a_name_below_top_clears_the_section() -> None:
    source = _quiz(
        '<question type="category"><category><text>$course$/top/Part</text></category></question>',
        _multichoice(("100", "a"), ("0", "b"), ("0", "c")),
        '<question type="category"><category><text>$course$/top</text></category></question>',
        _multichoice(("100", "a"), ("0", "b"), ("0", "c")),
    )

    report = parse_moodle_xml(source)

    assert [(q.line, q.section) for q in report.questions] == [(4, "Part"), (6, None)]


def test_stray_elements_and_untyped_questions_are_reported() -> None:
    report = parse_moodle_xml(_quiz("<note>hi</note>", "<question><name/></question>"))

    assert report.skipped == [
        Skip(3, "unexpected <note> element; expected <question>"),
        Skip(4, "<question> without a type attribute"),
    ]


def test_detected_as_xml_by_name_and_by_content() -> None:
    data = _fixture("moodle_ru.xml")

    assert detect_format(data, "export.XML") == "moodlexml"
    assert detect_format(data, "export.txt") == "moodlexml"
    assert detect_format(b"<quiz></quiz>", "") == "moodlexml"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("One<br>Two<br/>Three", "One\nTwo\nThree"),
        ("One<br><br>Two", "One\n\nTwo"),
        ("<p>a</p>\n\n<br><br><br><br><p>b</p>", "a\n\nb"),
        ("  Lots \n of\t <b>space</b>  ", "Lots of space"),
        ("&lt;tag&gt; &amp; &quot;quotes&quot; &#8212; &nbsp;x", '<tag> & "quotes" — x'),
        ('<img src="a.png" alt="A  red   circle">', "[A red circle]"),
        ('See <img src="a.png"> here', "See here"),
        ("<script>alert(1)</script><style>p{}</style>Visible", "Visible"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("x < 3 and y > 2", "x < 3 and y > 2"),
        ("H<sub>2</sub>O", "H2O"),
    ],
)
def test_html_is_reduced_to_plain_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("source", "text_format", "body"),
    [
        ("[html]<b>x</b>", "html", "<b>x</b>"),
        ("  [moodle]x", "moodle", "x"),
        ("[plain]x", "plain", "x"),
        ("[markdown]*x*", "markdown", "*x*"),
        ("[other]x", "moodle", "[other]x"),
        ("x [html]", "moodle", "x [html]"),
    ],
)
def test_format_prefix(source: str, text_format: str, body: str) -> None:
    assert split_format_prefix(source, "moodle") == (text_format, body)


@pytest.mark.parametrize(
    ("source", "text_format", "text"),
    [
        ("a <b>b</b>\nc", "html", "a b c"),
        ("a <b>b</b>\nc", "moodle", "a b\nc"),
        ("a <b>b</b>\n\n\n\nc", "plain", "a <b>b</b>\n\nc"),
        ("a   **b**  \r\nc", "markdown", "a **b**\nc"),
    ],
)
def test_text_formats(source: str, text_format: str, text: str) -> None:
    assert to_plain_text(source, text_format) == text
