"""Custody records as tables: the dispensing record (21 CFR 1304.22(c)), inventory records and the reconciliation;
each as CSV and as a printable PDF (fpdf2, DejaVu Sans embedded: any name prints as written)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta

from django.http import HttpResponse

from ketaclinic.custody.models import Bucket, CountLine, LedgerEntry
from ketaclinic.pdftext import FAMILY, pdf_text, use_unicode_font

RETENTION_NOTE = ("Kept at least {years} years from the record date at the registered location (21 CFR 1304.04, "
                  "clinical.md §6); entries are never deleted or edited.")


def _bounds(start: date, end: date, tz):
    return datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)


def dispensing_rows(start: date, end: date, tz, patients: set[str] | None = None, *, clinic_id: int
                    ) -> tuple[list[str], list[list[str]]]:
    """One row per administration, waste, destruction, loss or return: 1304.22(c)(1)-(5) fields.

    When ``patients`` is given, the external ids of the patients named in the rows are added to it (for the
    audit entry of whoever reads or exports the record)."""
    lo, hi = _bounds(start, end, tz)
    header = ["Date", "Event", "Substance", "Finished form / container", "NDC", "Lot", "Container", "Quantity",
              "Unit", "mg", "Patient", "Patient address", "Administered by", "Recorded by", "Witnesses",
              "Manner / reason", "Ledger #"]
    entries = (LedgerEntry.objects.filter(at__gte=lo, at__lt=hi, container__location__clinic_id=clinic_id).exclude(bucket__in=[Bucket.DRAWN, Bucket.ADJUSTED])
               .exclude(bucket=Bucket.RECEIVED)
               .select_related("lot__product", "container", "patient", "session__administered_by", "witness",
                               "witness2").order_by("at", "seq"))
    rows = []
    for e in entries:
        p = e.lot.product
        patient = e.patient
        if patient is not None and patients is not None:
            patients.add(str(patient.external_id))
        administered_by = ""
        if e.session_id and e.session.administered_by_id:
            administered_by = e.session.administered_by.label
        manner = e.details.get("method") or e.reason or ""
        rows.append([
            e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), e.get_kind_display() if e.kind != "reversal"
            else f"Reversal of #{e.details.get('reverses_seq')}", p.name, p.finished_form, p.ndc,
            e.lot.lot_number, e.container.label, f"{e.quantity}", p.unit, f"{e.mg}",
            patient.display_name if patient else "", patient.address if patient else "", administered_by,
            e.actor_label, ", ".join(w.label for w in (e.witness, e.witness2) if w), manner, str(e.seq),
        ])
    return header, rows


def receipt_rows(start: date, end: date, tz, *, clinic_id: int) -> tuple[list[str], list[list[str]]]:
    """1304.22(c)(3): containers received, date, number, supplier name, address and DEA number."""
    from ketaclinic.custody.models import Receipt

    header = ["Date received", "Invoice", "Invoice date", "Supplier", "Supplier address", "Supplier DEA", "NDC",
              "Product", "Lot", "Expiry", "Packages", "Containers", "Entered by", "Countersigned by"]
    rows = []
    for r in (Receipt.objects.filter(received_on__gte=start, received_on__lte=end, status=Receipt.Status.RECEIVED,
                                     location__clinic_id=clinic_id)
              .select_related("supplier", "product", "entered_by", "countersigned_by").order_by("received_on")):
        rows.append([str(r.received_on), r.invoice_number, str(r.invoice_date), r.supplier.name, r.supplier.address,
                     r.supplier.dea_number, r.product.ndc, r.product.name, r.lot_number, str(r.expiry),
                     str(r.packages), str(r.containers_count), r.entered_by.label,
                     r.countersigned_by.label if r.countersigned_by else ""])
    return header, rows


def inventory_rows(start: date, end: date, *, clinic_id: int) -> tuple[list[str], list[list[str]]]:
    header = ["Date", "Kind", "Opening/close", "Location", "Container", "NDC", "Product", "Lot", "Counted",
              "Unit", "Method", "Book balance", "Difference", "Counted and signed by"]
    rows = []
    for line in (CountLine.objects.filter(count__taken_on__gte=start, count__taken_on__lte=end,
                                          count__location__clinic_id=clinic_id)
                 .select_related("count__location", "count__counted_by", "container__lot__product")
                 .order_by("count__taken_on", "count_id", "container__label")):
        c = line.count
        p = line.container.lot.product
        rows.append([str(c.taken_on), c.get_kind_display(), c.get_timing_display() if c.timing else "",
                     c.location.name, line.container.label, p.ndc, p.name, line.container.lot.lot_number,
                     f"{line.counted}", p.unit, line.get_method_display(), f"{line.expected}", f"{line.difference}",
                     c.counted_by.label])
    return header, rows


#: What a spreadsheet reads as the start of a formula (OWASP "CSV Injection"): a supplier's address or a method of
#: destruction typed as ``=HYPERLINK(...)`` would otherwise run when the compliance lead opens the export.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A negative number ("-2.00", a count's difference) is data, not a formula: it stays a number in the spreadsheet.
NEGATIVE_NUMBER = re.compile(r"-[0-9]+(?:[.][0-9]+)?")


def csv_cell(value: object) -> str:
    """One CSV cell as text, neutralised (OWASP): a cell starting with =, +, -, @, tab or carriage return gets a
    leading single quote, so the spreadsheet shows it as text; a plain negative number is left as it is."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_response(filename: str, header: list[str], rows: list[list[str]]) -> HttpResponse:
    """Every CSV the app writes goes through here: each cell passes :func:`csv_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _column_widths(pdf, header: list[str], rows: list[list[str]], usable: float) -> list[float]:
    """Column widths (mm) for a table at the current font size: each column at least as wide as its longest word,
    so a name, number or lot is not split mid-word, and the rest of the width shared in proportion to what each
    column still needs to show its longest entry on one line."""
    pad = 2 * pdf.c_margin + pdf.line_width + 0.2
    size = pdf.font_size_pt

    def widest(texts: list[str], bold: bool) -> tuple[float, float]:
        pdf.set_font(FAMILY, "B" if bold else "", size)
        word = line = 0.0
        for text in texts:
            for part in text.split("\n"):
                line = max(line, pdf.get_string_width(part))
                word = max([word, *(pdf.get_string_width(w) for w in part.split())])
        return word, line

    least, want = [], []
    for i, h in enumerate(header):
        hw, hl = widest([h], bold=True)
        cw, cl = widest([r[i] for r in rows if i < len(r)], bold=False)
        least.append(max(hw, cw) + pad)
        want.append(max(hl, cl) + pad)
    pdf.set_font(FAMILY, "", size)
    if sum(least) >= usable:
        return [w * usable / sum(least) for w in least]
    spare = usable - sum(least)
    need = [w - m for w, m in zip(want, least, strict=True)]
    if sum(need) <= spare:  # everything fits on one line: share what is left in proportion to the widths
        return [w * usable / sum(want) for w in want]
    return [m + spare * n / sum(need) for m, n in zip(least, need, strict=True)]


def pdf_response(filename: str, title: str, subtitle: str, sections: list[tuple[str, list[str], list[list[str]]]],
                 widths: dict[str, float] | None = None) -> HttpResponse:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="Letter")
    pdf.set_auto_page_break(auto=True, margin=12)
    use_unicode_font(pdf)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(0, 8, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 8)
    pdf.multi_cell(0, 4, pdf_text(subtitle), new_x="LMARGIN", new_y="NEXT")
    for heading, header, rows in sections:
        pdf.ln(2)
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(0, 6, pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
        head = [pdf_text(h) for h in header]
        body = [[pdf_text(v) for v in r] for r in rows]
        pdf.set_font(FAMILY, "", 6)
        col = _column_widths(pdf, head, body, pdf.w - pdf.l_margin - pdf.r_margin)
        with pdf.table(col_widths=col, text_align="LEFT", line_height=3.2) as table:
            row = table.row()
            for h in head:
                row.cell(h)
            for r in body:
                row = table.row()
                for v in r:
                    row.cell(v)
        if not rows:
            pdf.cell(0, 5, "No entries in this period.", new_x="LMARGIN", new_y="NEXT")
    response = HttpResponse(bytes(pdf.output()), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
