"""Every visible string of the browser UI has a Russian translation.

Templates mark strings with ``_("English id")``, scripts with ``t("English id")`` and server
code with ``translator.gettext(lang, "English id")``; the catalogue ``web/locale/ru.json``
must translate every id that is used, keep the ``{name}`` placeholders, and hold nothing
that is no longer used.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.i18n import Translator

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = WEB / "templates"
SCRIPTS = WEB / "static" / "js"

_LITERAL = r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')"""
TEMPLATE_CALL = re.compile(r"(?<![\w.])_\(\s*" + _LITERAL + r"\s*\)")
TEMPLATE_ANY_CALL = re.compile(r"(?<![\w.])_\(")
SCRIPT_CALL = re.compile(r"(?<![\w.$])t\(\s*" + _LITERAL + r"\s*[,)]")
SCRIPT_ANY_CALL = re.compile(r"(?<![\w.$])t\(")
PYTHON_CALL = re.compile(r"\.gettext\(\s*\w+\s*,\s*" + _LITERAL + r"\s*\)")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


def _ids(pattern: re.Pattern[str], text: str) -> set[str]:
    return {_unescape(double or single) for double, single in pattern.findall(text)}


def template_ids() -> dict[str, set[str]]:
    """Message ids per template file."""
    return {p.name: _ids(TEMPLATE_CALL, p.read_text("utf-8")) for p in TEMPLATES.glob("*.html")}


def script_ids() -> dict[str, set[str]]:
    """Message ids per script file (the vendored socket.io client is not ours)."""
    return {p.name: _ids(SCRIPT_CALL, p.read_text("utf-8")) for p in SCRIPTS.glob("*.js")}


def python_ids() -> dict[str, set[str]]:
    """Message ids translated by server code: ``translator.gettext(lang, "…")``."""
    root = WEB.parent
    return {
        str(p.relative_to(root)): _ids(PYTHON_CALL, p.read_text("utf-8"))
        for package in ("server", "quiz")
        for p in (root / package).rglob("*.py")
    }


def used_ids() -> set[str]:
    """Every message id the UI uses."""
    found: set[str] = set()
    for group in (template_ids(), script_ids(), python_ids()):
        for ids in group.values():
            found |= ids
    return found


def russian() -> dict[str, str]:
    """The Russian catalogue."""
    data = json.loads((WEB / "locale" / "ru.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_scan_finds_the_ui_strings() -> None:
    assert "Log in" in template_ids()["login.html"]
    assert "Answer saved" in script_ids()["test.js"]
    assert len(used_ids()) > 100


def test_every_used_id_has_a_russian_translation() -> None:
    catalogue = russian()
    missing = sorted(
        message for message in used_ids() if not str(catalogue.get(message, "")).strip()
    )
    assert not missing, "no Russian translation in web/locale/ru.json for:\n" + "\n".join(missing)


def test_the_catalogue_holds_only_used_ids() -> None:
    unused = sorted(set(russian()) - used_ids())
    assert not unused, "ru.json has ids that no template or script uses:\n" + "\n".join(unused)


def test_translations_keep_the_placeholders() -> None:
    wrong = [
        f"{message!r} -> {text!r}"
        for message, text in russian().items()
        if set(PLACEHOLDER.findall(message)) != set(PLACEHOLDER.findall(text))
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_russian_translations_are_russian() -> None:
    # A translation that is only Latin letters was most likely left untranslated.
    latin_only = [
        message
        for message, text in russian().items()
        if re.search(r"[A-Za-z]", text) and not re.search(r"[А-Яа-яЁё]", text)
    ]
    assert not latin_only, "not translated:\n" + "\n".join(latin_only)


@pytest.mark.parametrize(
    ("files", "any_call"),
    [(sorted(TEMPLATES.glob("*.html")), TEMPLATE_ANY_CALL), (sorted(SCRIPTS.glob("*.js")), None)],
    ids=["templates", "scripts"],
)
def test_ids_are_literal_strings(files: list[Path], any_call: re.Pattern[str] | None) -> None:
    """A computed id (``t(name)``) would escape this check, so none are allowed."""
    problems = []
    for path in files:
        text = path.read_text("utf-8")
        literal = TEMPLATE_CALL if any_call is not None else SCRIPT_CALL
        every = any_call if any_call is not None else SCRIPT_ANY_CALL
        for match in every.finditer(text):
            if text[: match.start()].endswith("function "):
                continue  # the definition of t() itself
            if not literal.match(text, match.start()):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.name}:{line}")
    assert not problems, "translation calls without a literal id:\n" + "\n".join(problems)


def test_english_is_the_message_id() -> None:
    translator = Translator(WEB / "locale")
    assert translator.gettext("en", "Log in") == "Log in"
    assert translator.gettext("ru", "Log in") == russian()["Log in"]
    assert translator.gettext("ru", "no such id") == "no such id"
