"""The group summary sheet (сводная ведомость, B 2.9), as PDF and XLSX.

Instructors prepare it by the day of the attestation: every learner of the group, their
ongoing and intermediate results so far, admission to the final attestation (B 2.1) and
whether they sit in person or remotely. The XLSX carries the same table for offices that
keep their registers in spreadsheets.
"""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from attestation.documents.dates import stamp, zone_label
from attestation.documents.fonts import find_fonts
from attestation.documents.sheet import Sheet
from attestation.views import SummarySheetView

ADMITTED = "допущен"
NOT_ADMITTED = "не допущен"


def result_titles(view: SummarySheetView) -> list[str]:
    """The result columns: every result title of the group, in first-seen order."""
    titles: list[str] = []
    for learner in view.learners:
        for title, _mark in learner.results:
            if title not in titles:
                titles.append(title)
    return titles


def summary_table(view: SummarySheetView) -> tuple[list[str], list[list[str]]]:
    """The sheet's header and rows, shared by the PDF and the XLSX."""
    titles = result_titles(view)
    header = ["№", "Ф. И. О. слушателя", *titles, "Допуск к итоговой аттестации", "Форма участия"]
    rows = []
    for n, learner in enumerate(view.learners, start=1):
        marks = dict(learner.results)
        rows.append(
            [
                str(n),
                learner.full_name,
                *(marks.get(title, "—") for title in titles),
                ADMITTED if learner.admitted else NOT_ADMITTED,
                "с применением ЭО, ДОТ" if learner.remote else "очно",
            ]
        )
    return header, rows


def _title_lines(view: SummarySheetView) -> list[tuple[str, str]]:
    zone = view.event.timezone
    lines = [
        ("Программа", f"{view.program.code} — {view.program.title}"),
        ("Группа", f"{view.group.code} — {view.group.title}"),
        ("Аттестационное испытание", f"{view.event.title} ({view.event.form_title})"),
        ("Дата и время", f"{stamp(view.event.starts_at, zone)} ({zone_label(zone)})"),
        (
            "Место проведения",
            view.event.place or "дистанционно, с применением ЭО, ДОТ (видеоконференция)",
        ),
    ]
    if view.prepared_at is not None:
        lines.append(("Ведомость подготовлена", stamp(view.prepared_at, zone)))
    return lines


def render_summary_pdf(view: SummarySheetView, font_dir: Path | None = None) -> bytes:
    """The summary sheet as a PDF (landscape when there are many result columns)."""
    header, rows = summary_table(view)
    landscape = len(header) > 5
    pdf = Sheet(
        find_fonts(font_dir), title=f"Сводная ведомость {view.group.code}", landscape=landscape
    )
    pdf.heading("СВОДНАЯ ВЕДОМОСТЬ")
    pdf.heading(f"слушателей группы {view.group.code}, проходящих итоговую аттестацию", size=11)
    for label, value in _title_lines(view):
        pdf.labelled(label, value)
    pdf.gap(3)
    usable = pdf.epw
    fixed = 9 + 60 + 34 + 34
    extra = len(header) - 4
    each = max(18.0, (usable - fixed) / extra) if extra else 0.0
    widths = [9.0, 60.0, *([each] * extra), 34.0, 34.0]
    pdf.grid(header, rows, widths, size=9)
    pdf.gap(3)
    admitted = sum(1 for learner in view.learners if learner.admitted)
    pdf.para(f"Всего слушателей: {len(view.learners)}; допущено: {admitted}.")
    pdf.gap(8)
    pdf.para("Инструктор курсов ГО  ____________________  /____________________/")
    return pdf.to_bytes()


def render_summary_xlsx(view: SummarySheetView) -> bytes:
    """The summary sheet as an XLSX workbook with one sheet."""
    header, rows = summary_table(view)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Сводная ведомость"
    bold = Font(bold=True)
    sheet.append([f"Сводная ведомость слушателей группы {view.group.code}"])
    sheet["A1"].font = Font(bold=True, size=13)
    for label, value in _title_lines(view):
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = bold
    sheet.append([])
    first = sheet.max_row + 1
    sheet.append(header)
    thin = Side(style="thin")
    for cell in sheet[first]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in rows:
        sheet.append([int(values[0]), *values[1:]])
    for row in sheet.iter_rows(min_row=first, max_row=sheet.max_row, max_col=len(header)):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    widths = [6, 40, *([18] * (len(header) - 4)), 22, 22]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(row=first + 1, column=3)
    book.properties.title = f"Сводная ведомость {view.group.code}"
    book.properties.language = "ru"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
