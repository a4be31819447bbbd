"""The TrueType font embedded in every PDF: DejaVu Sans from Debian's fonts-dejavu-core.

PDF's built-in fonts have no Cyrillic, so Russian text must come from an embedded
TrueType font to be real, searchable, copyable text. The font is taken from the system
package (scripts/setup and the Dockerfile install it) rather than vendored: it is patched
by the distribution and the repository carries no binary font. A missing font stops the
rendering with an error that names the package, never a PDF with blank glyphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.errors import AppError

DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR = "DejaVuSans.ttf"
BOLD = "DejaVuSans-Bold.ttf"
PACKAGE = "fonts-dejavu-core"


class FontMissing(AppError):
    """The TrueType font for PDF documents is not installed (503: a setup problem)."""

    status = 503
    code = "pdf_font_missing"


@dataclass(frozen=True)
class FontFiles:
    """The regular and bold faces embedded in a PDF."""

    regular: Path
    bold: Path


def find_fonts(directory: Path | None = None) -> FontFiles:
    """The DejaVu Sans faces in ``directory`` (the Debian location by default)."""
    where = directory if directory is not None else DEFAULT_FONT_DIR
    files = FontFiles(where / REGULAR, where / BOLD)
    for path in (files.regular, files.bold):
        if not path.is_file():
            raise FontMissing(
                f"PDF documents need the DejaVu Sans font: {path} is missing; install the "
                f"Debian package {PACKAGE} (apt-get install {PACKAGE}) or set "
                f"EXAMROOM_FONT_DIR to a directory with {REGULAR} and {BOLD}"
            )
    return files
