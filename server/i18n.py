"""The one translation mechanism: English message ids, catalogues in ``web/locale/*.json``.

Templates call ``_("…")``; the browser's scripts get the same catalogue as JSON and call
``t("…")``. Russian is the default language; English is the message id itself.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aiohttp import web

from server.appkeys import SETTINGS

log = logging.getLogger(__name__)

LANGUAGES = ("ru", "en")
LANG_COOKIE = "examroom_lang"


class Translator:
    """Looks message ids up in the catalogue of a language."""

    def __init__(self, locale_dir: Path) -> None:
        self.catalogues: dict[str, dict[str, str]] = {"en": {}}
        for lang in LANGUAGES:
            path = locale_dir / f"{lang}.json"
            if path.exists():
                self.catalogues[lang] = json.loads(path.read_text(encoding="utf-8"))

    def gettext(self, lang: str, message: str) -> str:
        """The message in the language, or the English id when there is no translation."""
        return self.catalogues.get(lang, {}).get(message, message)

    def catalogue(self, lang: str) -> dict[str, str]:
        """The whole catalogue of a language (sent to the browser)."""
        return self.catalogues.get(lang, {})


def request_language(request: web.Request) -> str:
    """``?lang=``, then the language cookie, then the configured default."""
    for candidate in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return request.app[SETTINGS].language
