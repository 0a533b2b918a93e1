"""Superbills: what a self-pay patient sends their insurer for out-of-network reimbursement, and the claim data
the clinic's accountant reads. For each live invoice of a service (not a package sale): the clinic's NPI, tax ID
and place of service, the rendering provider and their NPI, the ICD-10-CM diagnoses on the chart when it was
issued, each CPT/HCPCS line with modifiers, units and charge, the date of service, and what was paid.

The PDF draws with DejaVu Sans (``ketaclinic.pdftext``), as every PDF of the app does; the CSV goes through
custody's ``csv_response``, which neutralises spreadsheet formulas in every cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from fpdf import FPDF

from ketaclinic.billing.models import Invoice, InvoiceLine
from ketaclinic.billing.money import dollars, plain
from ketaclinic.billing.services._common import Figures, annotate_figures, annotated_figures, profile_for
from ketaclinic.pdftext import FAMILY, pdf_text, use_unicode_font

#: Not superbill material: a package sale is a prepayment, its sessions appear on their own invoices; a no-show or
#: late-cancellation fee is no health care service and not reimbursable.
SERVICE_KINDS = (Invoice.Kind.SESSION, Invoice.Kind.VISIT, Invoice.Kind.INTEGRATION)


@dataclass
class Superbill:
    invoice: Invoice
    lines: list[InvoiceLine]
    figures: Figures
    clinic_npi: str
    tax_id: str
    place_of_service: str
    provider: str
    provider_npi: str


def superbills(invoices) -> list[Superbill]:
    """A superbill for each of ``invoices`` (live service invoices only; three queries in all)."""
    qs = annotate_figures(invoices.filter(voided_at__isnull=True, kind__in=SERVICE_KINDS)
                          .select_related("patient__clinic", "rendering_provider")).order_by("service_on", "pk")
    rows = list(qs)
    lines: dict[int, list[InvoiceLine]] = {}
    for line in InvoiceLine.objects.filter(invoice__in=[i.pk for i in rows]).order_by("pk"):
        lines.setdefault(line.invoice_id, []).append(line)
    profiles: dict[int, object] = {}
    out = []
    for inv in rows:
        profile = profiles.setdefault(inv.clinic_id, profile_for(inv.patient.clinic))
        provider = inv.rendering_provider
        out.append(Superbill(inv, lines.get(inv.pk, []), annotated_figures(inv), profile.organisation_npi,
                             profile.tax_id, profile.place_of_service,
                             provider.label if provider else "", getattr(provider, "npi", "") or ""))
    return out


class _Doc(FPDF):
    def __init__(self, clinic) -> None:
        super().__init__(format="Letter")
        self.clinic = clinic
        self.set_auto_page_break(True, margin=18)
        use_unicode_font(self)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, "", 8)
        self.cell(0, 6, pdf_text(f"Printed {timezone.localtime(timezone.now(), self.clinic.tz):%Y-%m-%d %H:%M} – page "
                                 f"{self.page_no()}"), align="C")

    def row(self, label: str, value: object) -> None:
        self.set_font(FAMILY, "B", 10)
        self.cell(55, 6, pdf_text(label))
        self.set_font(FAMILY, "", 10)
        self.multi_cell(0, 6, pdf_text(value if value not in (None, "") else "-"), new_x="LMARGIN", new_y="NEXT")


def superbill_pdf(patient, bills: list[Superbill]) -> bytes:
    """The patient's superbill: one section per invoice (date of service, diagnoses, coded lines, payments)."""
    clinic = patient.clinic
    doc = _Doc(clinic)
    doc.set_font(FAMILY, "B", 14)
    doc.cell(0, 8, pdf_text(clinic.name), new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "", 9)
    doc.cell(0, 5, pdf_text(f"{clinic.address}  Tel {clinic.phone}"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "B", 12)
    doc.ln(2)
    doc.cell(0, 8, pdf_text("Superbill (statement for insurance reimbursement)"), new_x="LMARGIN", new_y="NEXT")
    first = bills[0] if bills else None
    doc.row("Clinic NPI", first.clinic_npi if first else profile_for(clinic).organisation_npi)
    doc.row("Tax ID (EIN)", first.tax_id if first else profile_for(clinic).tax_id)
    doc.row("Place of service", first.place_of_service if first else profile_for(clinic).place_of_service)
    doc.row("Patient", f"{patient.legal_given_name} {patient.legal_family_name} (MRN {patient.mrn})")
    doc.row("Date of birth", patient.date_of_birth.isoformat() if patient.date_of_birth else "")
    total = paid = 0
    for b in bills:
        inv = b.invoice
        doc.ln(2)
        doc.set_font(FAMILY, "B", 11)
        doc.cell(0, 7, pdf_text(f"Invoice {inv.number} – date of service {inv.service_on.isoformat()}"),
                 new_x="LMARGIN", new_y="NEXT")
        doc.row("Rendering provider", f"{b.provider} NPI {b.provider_npi or '-'}" if b.provider else "")
        doc.row("Diagnoses (ICD-10-CM)", "; ".join(f"{d['code']} {d['label']}" for d in inv.diagnoses))
        doc.set_font(FAMILY, "B", 9)
        for text, width in (("Code", 20), ("Modifiers", 22), ("Units", 14), ("Description", 100), ("Charge", 0)):
            doc.cell(width, 6, pdf_text(text), border="B")
        doc.ln()
        doc.set_font(FAMILY, "", 9)
        for line in b.lines:
            doc.cell(20, 6, pdf_text(line.code or "-"))
            doc.cell(22, 6, pdf_text(line.modifiers or "-"))
            doc.cell(14, 6, str(line.units))
            doc.cell(100, 6, pdf_text(line.description[:70]))
            doc.cell(0, 6, dollars(line.amount_cents), align="R", new_x="LMARGIN", new_y="NEXT")
        doc.row("Charges", dollars(b.figures.total))
        doc.row("Paid", dollars(b.figures.paid - b.figures.refunded))
        total += b.figures.total
        paid += b.figures.paid - b.figures.refunded
    doc.ln(2)
    doc.row("Total charges", dollars(total))
    doc.row("Total paid", dollars(paid))
    doc.ln(2)
    doc.set_font(FAMILY, "", 8)
    doc.multi_cell(0, 4, pdf_text("Self-pay patient: paid to the clinic. Submit this statement to your insurer for "
                                  "any out-of-network reimbursement; the clinic does not file the claim."),
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


CSV_HEADER = ["Invoice", "Date of service", "Patient", "MRN", "Clinic NPI", "Tax ID", "Place of service",
              "Rendering provider", "Provider NPI", "Diagnoses (ICD-10-CM)", "Code", "Modifiers", "Units",
              "Description", "Charge", "Invoice total", "Paid", "Balance"]


def csv_rows(bills: list[Superbill]) -> list[list[str]]:
    rows = []
    for b in bills:
        inv = b.invoice
        for line in b.lines:
            rows.append([inv.number, inv.service_on.isoformat(), f"{inv.patient.legal_given_name} {inv.patient.legal_family_name}", inv.patient.mrn,
                         b.clinic_npi, b.tax_id, b.place_of_service, b.provider, b.provider_npi,
                         " ".join(d["code"] for d in inv.diagnoses), line.code, line.modifiers, str(line.units),
                         line.description, plain(line.amount_cents), plain(b.figures.total),
                         plain(b.figures.paid - b.figures.refunded), plain(b.figures.balance)])
    return rows


def in_period(clinic, start: date, end: date):
    return Invoice.objects.filter(clinic=clinic, service_on__gte=start, service_on__lte=end)
