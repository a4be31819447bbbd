"""The register of issued documents: certificates after a passed final attestation
(B 2.12), references (справки) for learners who failed or did not appear (B 2.13), and
how each was handed over — in person, by proxy or by registered mail (B 4.13).

``attestation.views`` has no view for it yet, so the plain data it is rendered from is
declared here, in the same frozen, already-Russian style.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from attestation.documents.dates import stamp, zone_label
from attestation.documents.fonts import find_fonts
from attestation.documents.sheet import Sheet

KIND_TITLES = {"certificate": "удостоверение", "reference": "справка об обучении"}
DELIVERY_TITLES = {
    "in_person": "лично",
    "proxy": "через представителя по доверенности",
    "registered_mail": "заказным почтовым отправлением с уведомлением о вручении",
}


@dataclass(frozen=True)
class IssuedDocumentView:
    """One line of the register. ``kind`` is "certificate" or "reference", ``delivery``
    one of "in_person", "proxy", "registered_mail"; ``delivery_detail`` is the proxy's
    name and power of attorney or the postal address and tracking number."""

    number: str
    kind: str
    full_name: str
    event_title: str
    mark_title: str
    issued_at: datetime
    delivery: str
    delivery_detail: str = ""


@dataclass(frozen=True)
class RegisterView:
    """The register of one program (or of everything): its title and lines."""

    title: str
    timezone: str
    entries: tuple[IssuedDocumentView, ...]
    printed_at: datetime | None = None


HEADER = ("№", "Номер", "Документ", "Ф. И. О.", "Испытание", "Отметка", "Выдан", "Способ выдачи")


def register_rows(view: RegisterView) -> list[tuple[str, ...]]:
    """The register's lines, shared by the PDF and the XLSX."""
    return [
        (
            str(n),
            entry.number,
            KIND_TITLES.get(entry.kind, entry.kind),
            entry.full_name,
            entry.event_title,
            entry.mark_title or "—",
            stamp(entry.issued_at, view.timezone),
            " ".join(
                part
                for part in (
                    DELIVERY_TITLES.get(entry.delivery, entry.delivery),
                    entry.delivery_detail,
                )
                if part
            ),
        )
        for n, entry in enumerate(view.entries, start=1)
    ]


def render_register_xlsx(view: RegisterView) -> bytes:
    """The register as an XLSX workbook with one sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Реестр"
    sheet.append([f"Реестр выданных документов: {view.title}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(list(HEADER))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in register_rows(view):
        sheet.append([int(row[0]), *row[1:]])
    for index, width in enumerate((6, 14, 22, 36, 30, 20, 18, 50), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_register_pdf(view: RegisterView, font_dir: Path | None = None) -> bytes:
    """The register as a landscape PDF table."""
    pdf = Sheet(find_fonts(font_dir), title=view.title, landscape=True)
    pdf.heading("РЕЕСТР ВЫДАННЫХ ДОКУМЕНТОВ")
    pdf.heading(view.title, size=11)
    if view.printed_at is not None:
        pdf.para(
            f"Сформирован {stamp(view.printed_at, view.timezone)} ({zone_label(view.timezone)})"
        )
    pdf.gap(2)
    pdf.grid(
        HEADER,
        register_rows(view),
        (9, 24, 30, 45, 45, 26, 26, 57),
        size=8.5,
    )
    pdf.gap(3)
    certificates = sum(1 for entry in view.entries if entry.kind == "certificate")
    pdf.para(
        f"Всего: {len(view.entries)}; удостоверений: {certificates}; "
        f"справок: {len(view.entries) - certificates}."
    )
    return pdf.to_bytes()
