"""The A4 page every PDF document is printed on: embedded DejaVu Sans, margins, numbered
pages, and the few building blocks (headings, labelled lines, tables) documents share."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, XPos, YPos

from attestation.documents.fonts import FontFiles

FAMILY = "DejaVu"
LINE = 5.5


class Sheet(FPDF):
    """An A4 PDF with the DejaVu Sans faces embedded and "стр. N из M" in the footer."""

    def __init__(self, fonts: FontFiles, *, title: str, landscape: bool = False) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.add_font(FAMILY, "", str(fonts.regular))
        self.add_font(FAMILY, "B", str(fonts.bold))
        self.set_margins(20, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_lang("ru")
        self.set_creator("examroom")
        self.alias_nb_pages()
        self.add_page()
        self.set_font(FAMILY, size=11)

    def footer(self) -> None:
        """Page numbers, so a printed protocol's pages can be counted."""
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(0, 5, f"стр. {self.page_no()} из {{nb}}", align=Align.R)

    def heading(self, text: str, size: float = 13) -> None:
        """A centred bold heading line (wraps when long)."""
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, size * 0.5, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, size=11)

    def para(self, text: str, *, bold: bool = False, size: float = 11) -> None:
        """A left-aligned paragraph."""
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, LINE, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, size=11)

    def labelled(self, label: str, value: str) -> None:
        """``label: value`` with the label in bold."""
        self.set_font(FAMILY, "B", 11)
        width = self.get_string_width(label + ": ") + 1
        self.cell(width, LINE, label + ":")
        self.set_font(FAMILY, size=11)
        self.multi_cell(0, LINE, value, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, height: float = 3) -> None:
        """Vertical space."""
        self.ln(height)

    def grid(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        size: float = 9.5,
    ) -> None:
        """A bordered table with a bold header repeated on every page; cells wrap."""
        self.set_font(FAMILY, size=size)
        with self.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            align="LEFT",
            line_height=size * 0.5,
            cell_fill_mode=TableCellFillMode.NONE,
            repeat_headings=1,
        ) as table:
            head = table.row()
            for text in header:
                head.cell(text)
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(text)
        self.set_font(FAMILY, size=11)

    def to_bytes(self) -> bytes:
        """The finished PDF."""
        return bytes(self.output())
