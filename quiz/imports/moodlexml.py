"""Moodle XML: ``<quiz>`` of ``<question>`` elements; single-answer multichoice is imported.

Parsed with expat so every question keeps the line its ``<question>`` tag starts on. DTDs are
refused outright: entity declarations are the only way XML can expand itself (billion laughs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from xml.parsers import expat

from quiz.imports.errors import ImportFormatError
from quiz.imports.parsed import ImportReport, ParsedOption, Skip
from quiz.imports.policy import admit, unsupported
from quiz.imports.sections import section_from_category
from quiz.imports.text import to_plain_text

FULL_FRACTION: Final = 100.0

_TEXT_FORMATS: Final = {
    "html": "html",
    "moodle_auto_format": "moodle",
    "plain_text": "plain",
    "markdown": "markdown",
}
_TYPE_NAMES: Final = {
    "truefalse": "true/false",
    "shortanswer": "short answer",
    "essay": "essay",
    "matching": "matching",
    "numerical": "numerical",
    "multianswer": "embedded answers (Cloze)",
    "description": "description",
    "calculated": "calculated",
    "calculatedsimple": "simple calculated",
    "calculatedmulti": "calculated multichoice",
    "randomsamatch": "random short-answer matching",
    "ddwtos": "drag and drop into text",
    "ddimageortext": "drag and drop onto image",
    "ddmarker": "drag and drop markers",
    "gapselect": "select missing words",
    "ordering": "ordering",
    "random": "random",
}
_TRUE_WORDS: Final = frozenset({"true", "1"})
_FALSE_WORDS: Final = frozenset({"false", "0"})


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)

    def child(self, tag: str) -> _Element | None:
        return next((child for child in self.children if child.tag == tag), None)

    def text(self) -> str:
        return "".join(self.chunks)


def parse_moodle_xml(text: str) -> ImportReport:
    """Parse decoded Moodle XML into single-answer multiple-choice questions and skips."""
    root = _read_tree(text)
    if root.tag != "quiz":
        raise ImportFormatError(
            f"not a Moodle XML question file: the root element is <{root.tag}>, expected <quiz>"
        )
    report = ImportReport()
    section: str | None = None
    for element in root.children:
        if element.tag != "question":
            report.skipped.append(
                Skip(element.line, f"unexpected <{element.tag}> element; expected <question>")
            )
            continue
        kind = element.attrs.get("type", "")
        if kind == "category":
            section = section_from_category(_plain(element.child("category")))
        elif kind == "multichoice":
            _read_multichoice(element, section, report)
        elif not kind:
            report.skipped.append(Skip(element.line, "<question> without a type attribute"))
        else:
            name = _TYPE_NAMES.get(kind, kind)
            detail = f'type="{kind}"' if name != kind else ""
            report.skipped.append(Skip(element.line, unsupported(name, detail)))
    return report


def _read_tree(text: str) -> _Element:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    roots: list[_Element] = []
    open_elements: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        (open_elements[-1].children if open_elements else roots).append(element)
        open_elements.append(element)

    def end(tag: str) -> None:
        open_elements.pop()

    def characters(data: str) -> None:
        if open_elements:
            open_elements[-1].chunks.append(data)

    def refuse_doctype(
        name: str, system_id: str | None, public_id: str | None, has_internal_subset: bool
    ) -> None:
        raise ImportFormatError(
            f"<!DOCTYPE> on line {parser.CurrentLineNumber} is not allowed in a question file; "
            "remove the DTD and its entity declarations"
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse_doctype
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise ImportFormatError(
            f"not well-formed XML: {expat.ErrorString(exc.code)} on line {exc.lineno}, "
            f"column {exc.offset + 1}"
        ) from None
    return roots[0]


def _plain(holder: _Element | None) -> str:
    """The ``<text>`` child of an element as plain text, ignoring any format attribute."""
    text = holder.child("text") if holder is not None else None
    return to_plain_text(text.text(), "plain") if text is not None else ""


def _formatted(holder: _Element | None) -> str:
    """The ``<text>`` child of a formatted element, reduced according to its format."""
    text = holder.child("text") if holder is not None else None
    if holder is None or text is None:
        return ""
    text_format = _TEXT_FORMATS.get(holder.attrs.get("format", "html"), "html")
    return to_plain_text(text.text(), text_format)


def _read_multichoice(question: _Element, section: str | None, report: ImportReport) -> None:
    def skip(reason: str) -> None:
        report.skipped.append(Skip(question.line, reason))

    single_element = question.child("single")
    single: bool | None = None
    if single_element is not None:
        word = single_element.text().strip().lower()
        if word in _FALSE_WORDS:
            skip(unsupported("multiple response", "multichoice with <single>false</single>"))
            return
        if word not in _TRUE_WORDS:
            skip(f'<single> must be true or false, not "{single_element.text().strip()}"')
            return
        single = True

    options: list[ParsedOption] = []
    for answer in (child for child in question.children if child.tag == "answer"):
        raw = answer.attrs.get("fraction", "0").strip()
        try:
            fraction = float(raw)
        except ValueError:
            skip(f'answer on line {answer.line} has fraction "{raw}", which is not a number')
            return
        if fraction > FULL_FRACTION:
            skip(f"answer on line {answer.line} has fraction {raw}, above 100")
            return
        if 0 < fraction < FULL_FRACTION:
            # Partial credit only exists in multiple response or partially-right options.
            kind = "partial-credit" if single else "multiple response"
            skip(unsupported(kind, f"answer on line {answer.line} has fraction {raw}"))
            return
        # A negative fraction is a penalty on a wrong option; the option itself is still wrong.
        options.append(ParsedOption(_formatted(answer), fraction == FULL_FRACTION))

    admit(
        report,
        question.line,
        _formatted(question.child("questiontext")),
        options,
        section=section,
        explanation=_formatted(question.child("generalfeedback")),
        name=_plain(question.child("name")),
    )
