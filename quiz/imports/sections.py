"""Moodle category paths and the section name a question is filed under."""

from __future__ import annotations

import re
from typing import Final

# Moodle writes a literal "/" inside a category name as "//".
_SEPARATOR: Final = re.compile(r"(?<!/)/(?!/)")
_CONTEXT_ROOTS: Final = frozenset({"$course$", "$system$", "$module$", "$cat1$", "top"})


def section_from_category(path: str) -> str | None:
    """Return the last component of a Moodle category path, or ``None`` for a bare root."""
    parts = [" ".join(part.replace("//", "/").split()) for part in _SEPARATOR.split(path.strip())]
    parts = [part for part in parts if part]
    # Only leading "$course$/top" style components are roots; "top" deeper down is a real name.
    while parts and parts[0].lower() in _CONTEXT_ROOTS:
        parts.pop(0)
    return parts[-1] if parts else None
