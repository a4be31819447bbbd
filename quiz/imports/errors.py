"""The error an importer raises when a file cannot be read at all."""

from __future__ import annotations


class ImportFormatError(ValueError):
    """The file as a whole is unusable: not UTF-8, not well-formed, or of an unknown format.

    Problems with single questions never raise; they become :class:`~quiz.imports.parsed.Skip`
    entries so the rest of the file can still be imported.
    """
