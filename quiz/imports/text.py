"""Turning uploaded bytes and marked-up strings into the plain text a question shows."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from typing import Final

from quiz.imports.errors import ImportFormatError

TEXT_FORMATS: Final = ("html", "moodle", "plain", "markdown")

_FORMAT_PREFIX: Final = re.compile(r"\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_SPACES: Final = re.compile(r"[ \t\n\r\f]+")
_BLANK_RUNS: Final = re.compile(r"\n{3,}")

# Tags whose content is never shown to a reader, so it must not leak into question text.
_HIDDEN_TAGS: Final = frozenset({"script", "style", "head", "title", "template"})
_BLOCK_TAGS: Final = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 bytes (with or without a BOM) and normalise line endings to ``\\n``."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFormatError("the file is UTF-16 text; save it as UTF-8 and upload it again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = normalise_newlines(data[: exc.start].decode("utf-8", "replace")).count("\n") + 1
        raise ImportFormatError(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} "
            "cannot be decoded; save the file as UTF-8 and upload it again"
        ) from None
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    """Replace CRLF and lone CR line endings with ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_format_prefix(text: str, default: str) -> tuple[str, str]:
    """Split a Moodle ``[html]``/``[moodle]``/``[plain]``/``[markdown]`` prefix off the text."""
    stripped = text.lstrip()
    match = _FORMAT_PREFIX.match(stripped)
    if match is None:
        return default, text
    return match.group(1).lower(), stripped[match.end() :]


def to_plain_text(text: str, text_format: str) -> str:
    """Reduce text written in one of :data:`TEXT_FORMATS` to plain text."""
    if text_format == "html":
        return html_to_text(text)
    if text_format == "moodle":
        # Moodle's own format renders HTML and turns every source newline into a line break.
        return html_to_text(normalise_newlines(text).replace("\n", "<br>"))
    # Markdown source is already readable as plain text; rendering it would only lose marks.
    return tidy_text(text)


def html_to_text(html: str) -> str:
    """Strip tags, turn ``<br>``/``<p>`` into newlines, unescape entities, keep image alt text."""
    builder = _PlainTextBuilder()
    builder.feed(html)
    builder.close()
    return tidy_text(builder.text())


def tidy_text(text: str) -> str:
    """Collapse whitespace inside lines, keep at most one blank line, strip the ends."""
    lines = (" ".join(line.split()) for line in normalise_newlines(text).split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


class _PlainTextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden_depth = 0
        self._at_line_start = True

    def text(self) -> str:
        return "".join(self._parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif self._hidden_depth:
            return
        elif tag == "br":
            self._hard_break()
        elif tag == "img":
            alt = " ".join((dict(attrs).get("alt") or "").split())
            if alt:
                self._append(f"[{alt}]")
        elif tag in _BLOCK_TAGS:
            self._soft_break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif not self._hidden_depth and tag in _BLOCK_TAGS:
            self._soft_break()

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            # Source newlines in HTML are ordinary spaces; only tags break lines.
            self._append(_SPACES.sub(" ", data))

    def _append(self, chunk: str) -> None:
        self._parts.append(chunk)
        if chunk.strip():
            self._at_line_start = False

    def _hard_break(self) -> None:
        self._parts.append("\n")
        self._at_line_start = True

    def _soft_break(self) -> None:
        # Adjacent block boundaries (</p><p>) make one line break, not an empty line.
        if not self._at_line_start:
            self._hard_break()
