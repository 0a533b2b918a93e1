"""The session record as a PDF (fpdf2, DejaVu Sans embedded through ``ketaclinic.pdftext``: every name prints as
written). It draws the same :class:`~ketaclinic.crossapp.session_record.Record` the print view shows: the same
sections in the same order and words, the vitals chart drawn as lines, signatures, then the addenda. Every page
names the patient and says whether the record is signed or a DRAFT."""

from __future__ import annotations

from django.utils import timezone
from fpdf import FPDF
from fpdf.fonts import FontFace

from ketaclinic.crossapp.session_record import Chart, Record, Section, Table
from ketaclinic.pdftext import FAMILY, pdf_text, use_unicode_font

LABEL_WIDTH = 64  # mm


class _RecordPdf(FPDF):
    def __init__(self, record: Record, tz) -> None:
        super().__init__(format="Letter")
        self.record = record
        self.tz = tz
        self.set_auto_page_break(True, margin=16)
        self.set_margins(12, 12, 12)
        use_unicode_font(self)
        self.alias_nb_pages()
        self.add_page()

    def header(self) -> None:
        r = self.record
        self.set_font(FAMILY, "B", 12)
        self.cell(0, 6, pdf_text(r.clinic_name), new_x="LMARGIN", new_y="NEXT")
        if r.clinic_line:
            self.set_font(FAMILY, "", 8)
            self.cell(0, 4, pdf_text(r.clinic_line), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "B", 11)
        self.cell(0, 6, pdf_text(r.title), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "", 9)
        self.cell(0, 5, pdf_text(r.patient_line), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "B", 14 if r.is_draft else 9)
        if r.is_draft:
            self.set_text_color(170, 0, 0)
        self.multi_cell(0, 7 if r.is_draft else 5, pdf_text(r.status_line), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.set_draw_color(120, 120, 120)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 7)
        printed = timezone.localtime(timezone.now(), self.tz)
        draft = "DRAFT (unsigned) · " if self.record.is_draft else ""
        self.cell(0, 5, pdf_text(f"{draft}{self.record.patient_line} · printed {printed:%Y-%m-%d %H:%M} · page "
                                 f"{self.page_no()} of {{nb}}"), align="C")

    # ---------------------------------------------------------------------------------------- pieces
    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.set_font(FAMILY, "B", 11)
        self.cell(0, 6, pdf_text(text), new_x="LMARGIN", new_y="NEXT")

    def row(self, label: str, value: str) -> None:
        """A label and its value side by side, kept on one page; the row is as tall as the taller of the two."""
        label, value = pdf_text(label), pdf_text(value)
        self.set_font(FAMILY, "B", 9)
        label_lines = self._lines(LABEL_WIDTH - 2, label)
        self.set_font(FAMILY, "", 9)
        value_lines = self._lines(self.epw - LABEL_WIDTH, value)
        height = 5 * max(label_lines, value_lines, 1)
        if height > (self.page_break_trigger - self.t_margin) / 2:  # a long text: the label over it, run on
            self.para(label, bold=True)
            self.para(value)
            return
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        y = self.get_y()
        self.set_font(FAMILY, "B", 9)
        self.multi_cell(LABEL_WIDTH - 2, 5, label, align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_xy(self.l_margin + LABEL_WIDTH, y)
        self.set_font(FAMILY, "", 9)
        self.multi_cell(self.epw - LABEL_WIDTH, 5, value, align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_xy(self.l_margin, y + height)

    def _lines(self, width: float, text: str) -> int:
        """How many lines ``text`` takes in a cell ``width`` wide, in the current font: one when it plainly fits
        (most labels and values; measuring the string is cheap), else what laying it out says."""
        if "\n" not in text and self.get_string_width(text) < width - 2 * self.c_margin - 1:
            return 1
        return len(self.multi_cell(width, 5, text, align="L", dry_run=True, output="LINES"))

    def para(self, text: str, bold: bool = False) -> None:
        self.set_font(FAMILY, "B" if bold else "", 9)
        self.multi_cell(0, 5, pdf_text(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def grid(self, table: Table) -> None:
        if table.caption:
            self.set_font(FAMILY, "B", 9)
            self.cell(0, 5, pdf_text(table.caption), new_x="LMARGIN", new_y="NEXT")
        if not table.rows:
            self.para(table.empty)
            return
        if table.free_text_last:
            for values in table.rows:
                self.para(" · ".join(v for v in values[:-1]), bold=True)
                self.para(values[-1])
            self.ln(1)
            return
        self.set_font(FAMILY, "", 8)
        with self.table(text_align="LEFT", line_height=4.2, padding=0.8, cell_fill_mode="NONE",
                        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235))) as t:
            head = t.row()
            for col in table.columns:
                head.cell(pdf_text(col))
            for values in table.rows:
                row = t.row()
                for v in values:
                    row.cell(pdf_text(v))
        self.ln(1)

    def section(self, s: Section) -> None:
        self.heading(s.title)
        for label, value in s.rows:
            self.row(label, value)
        for w in s.warnings:
            self.para(w, bold=True)
        for n in s.notes:
            self.para(n)
        for t in s.tables:
            self.grid(t)

    def chart(self, chart: Chart) -> None:
        """The vitals as lines: time across, values up, each series with its own colour and dash pattern."""
        height = 62
        if self.get_y() + height + 16 > self.h - self.b_margin:
            self.add_page()
        self.set_font(FAMILY, "B", 9)
        self.cell(0, 5, pdf_text("Vital signs over time (" + chart.y_label + ")"), new_x="LMARGIN", new_y="NEXT")
        left, top = self.l_margin + 10, self.get_y() + 2
        width = self.w - self.r_margin - left
        self.set_draw_color(150, 150, 150)
        self.set_line_width(0.2)
        self.rect(left, top, width, height)
        self.set_font(FAMILY, "", 6.5)

        def px(fx: float) -> float:
            return left + fx * width

        def py(fy: float) -> float:
            return top + (1 - fy) * height

        for fy, label in chart.y_ticks:
            self.set_draw_color(225, 225, 225)
            self.line(left, py(fy), left + width, py(fy))
            self.set_xy(self.l_margin, py(fy) - 1.5)
            self.cell(9, 3, pdf_text(label), align="R")
        for fx, label in chart.x_ticks:
            self.set_xy(px(fx) - 6, top + height + 0.5)
            self.cell(12, 3, pdf_text(label), align="C")
        for s in chart.series:
            r, g, b = (int(s.colour[i:i + 2], 16) for i in (1, 3, 5))
            self.set_draw_color(r, g, b)
            self.set_line_width(0.45)
            dash = [float(x) * 0.35 for x in s.dash.split()] if s.dash else []
            self.set_dash_pattern(dash=dash[0], gap=dash[1]) if dash else self.set_dash_pattern()
            pts = [(px(a), py(b_)) for a, b_ in s.points]
            for (x1, y1), (x2, y2) in zip(pts, pts[1:], strict=False):
                self.line(x1, y1, x2, y2)
            self.set_dash_pattern()
            for x1, y1 in pts:
                self.set_fill_color(r, g, b)
                self.circle(x=x1, y=y1, radius=0.6, style="F")
        # the legend, under the axis
        y = top + height + 5
        x = left
        self.set_font(FAMILY, "", 7)
        for s in chart.series:
            r, g, b = (int(s.colour[i:i + 2], 16) for i in (1, 3, 5))
            self.set_draw_color(r, g, b)
            self.set_line_width(0.6)
            dash = [float(v) * 0.35 for v in s.dash.split()] if s.dash else []
            self.set_dash_pattern(dash=dash[0], gap=dash[1]) if dash else self.set_dash_pattern()
            self.line(x, y + 1.5, x + 7, y + 1.5)
            self.set_dash_pattern()
            self.set_xy(x + 8, y)
            self.cell(38, 3, pdf_text(f"{s.label} ({s.unit})"))
            x += 46
        self.set_draw_color(0, 0, 0)
        self.set_fill_color(255, 255, 255)
        self.set_line_width(0.2)
        self.set_xy(self.l_margin, y + 6)


def render(record: Record, tz) -> bytes:
    """The record as PDF bytes: every section, the vitals chart after the vitals, the signatures, then the
    addenda (append-only, after the signatures)."""
    doc = _RecordPdf(record, tz)
    for s in record.sections:
        doc.section(s)
        if s.key == "vitals" and record.chart is not None:
            doc.chart(record.chart)
    doc.section(record.signatures)
    doc.section(record.addenda)
    return bytes(doc.output())
