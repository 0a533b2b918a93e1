"""Printable PDFs: discharge instructions and the Spravato REMS Patient Monitoring Form data (fpdf2, DejaVu Sans
embedded: any name prints as written)."""

from __future__ import annotations

from django.utils import timezone
from fpdf import FPDF

from ketaclinic.clinic import formats
from ketaclinic.integration import services as integration_services
from ketaclinic.pdftext import FAMILY, pdf_text, use_unicode_font


class _Doc(FPDF):
    def __init__(self, title: str, clinic) -> None:
        super().__init__(format="Letter")
        self.doc_title = title
        self.clinic = clinic
        self.set_auto_page_break(True, margin=18)
        use_unicode_font(self)
        self.add_page()

    def header(self) -> None:
        self.set_font(FAMILY, "B", 14)
        self.cell(0, 8, pdf_text(self.clinic.name), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "", 9)
        self.cell(0, 5, pdf_text(f"{self.clinic.address}  Tel {self.clinic.phone}"), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "B", 12)
        self.ln(2)
        self.cell(0, 8, pdf_text(self.doc_title), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, "", 8)
        self.cell(0, 6, pdf_text(f"Printed {timezone.localtime(timezone.now(), self.clinic.tz):%Y-%m-%d %H:%M} – page "
                                 f"{self.page_no()}"), align="C")

    def para(self, text: str, bold: bool = False, size: int = 11) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, 6, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def row(self, label: str, value: object) -> None:
        self.set_font(FAMILY, "B", 10)
        self.cell(70, 6, pdf_text(label))
        self.set_font(FAMILY, "", 10)
        self.multi_cell(0, 6, pdf_text(value if value not in (None, "") else "-"), new_x="LMARGIN", new_y="NEXT")


def discharge_instructions(s, next_session, integration) -> bytearray:
    clinic = s.patient.clinic
    tz = clinic.tz
    doc = _Doc("Going home after your treatment", clinic)
    doc.row("Patient", f"{s.patient.display_name} (MRN {s.patient.mrn})")
    doc.row("Treatment", f"{s.get_drug_display()} - {s.get_route_display()} on "
                         f"{timezone.localtime(s.scheduled_start, tz):{formats.LONG_DATE}}")
    if s.discharged_at:
        doc.row("Discharged", f"{timezone.localtime(s.discharged_at, tz):%H:%M}")
    doc.row("Going home with", f"{s.escort_name} {s.escort_phone}".strip())
    doc.ln(3)
    doc.para("Do not drive, cycle or operate machinery until the next day, after a restful night's sleep.", bold=True)
    doc.para("Go home with the adult who collects you. Rest today. Avoid alcohol and sedating medicines unless your "
             "prescriber has told you otherwise. Do not make important decisions today.")
    doc.para("Whom to call", bold=True)
    doc.para(f"Questions or side effects (nausea, headache, feeling unwell): call the clinic on {clinic.phone or '-'}.")
    doc.para(f"If you have thoughts of harming yourself, or feel in crisis: {clinic.crisis_line}.")
    doc.para("Emergency (chest pain, trouble breathing, fainting, severe confusion): call 911.")
    doc.para("Your next appointments", bold=True)
    if next_session is not None:
        doc.para(f"Next treatment: {timezone.localtime(next_session.scheduled_start, tz):{formats.LONG_DATETIME}}"
                 + (f", {next_session.room.name}" if next_session.room_id else "") + ".")
    else:
        doc.para("Next treatment: the clinic will contact you to book it.")
    if integration is not None:
        if integration.scheduled_start:
            doc.para(f"Integration session: {timezone.localtime(integration.scheduled_start, tz):{formats.LONG_DATETIME}}.")
        else:  # the times the clinic can book inside the window (its hours, on days it is open), not the window
            first, last = integration_services.first_slot(integration), integration_services.last_slot(integration)
            if first is None or last is None:
                doc.para("Integration session with a therapist: the clinic will call you to find a time.")
            else:
                doc.para(f"Integration session with a therapist: call the clinic to book a time between "
                         f"{timezone.localtime(first, tz):{formats.DAY_DATETIME}} and "
                         f"{timezone.localtime(last, tz):{formats.DAY_DATETIME}}.")
    return doc.output()


def _yn(v) -> str:
    return "-" if v is None else ("Yes" if v else "No")


def rems_form(s, form, prescriber, exported_by) -> bytearray:
    """The data the SPRAVATO REMS Patient Monitoring Form asks for (clinical.md §3c 'Form fields'), to transcribe
    or attach when submitting online or by fax within the deadline."""
    clinic = s.patient.clinic
    tz = clinic.tz
    p = s.patient
    doc = _Doc("SPRAVATO REMS Patient Monitoring Form - session data", clinic)
    doc.para("Outpatient setting: complete after every session and submit within 7 days (spravatorems.com or fax).",
             size=9)
    doc.row("Patient", f"{p.legal_name}  DOB {p.date_of_birth:%Y-%m-%d}  Sex {p.get_sex_at_birth_display()}")
    doc.row("First treatment", _yn(form.first_treatment))
    doc.row("Treatment date", f"{timezone.localtime(s.dose_started_at or s.scheduled_start, tz):%Y-%m-%d}")
    doc.row("Setting", f"{clinic.name}, {clinic.address}")
    doc.row("Monitoring HCP", f"{s.administered_by.label if s.administered_by_id else '-'}")
    doc.row("Prescriber", prescriber.label if prescriber else "-")
    doc.row("Dose", f"{form.dose_mg} mg ({form.devices or '-'} device(s))")
    doc.row("Lot number", form.lot_number)
    doc.row("BP before administration", f"{form.bp_before} mmHg" if form.bp_before else "-")
    doc.row("BP about 40 min after", f"{form.bp_40min} mmHg" if form.bp_40min else "-")
    doc.row("BP before completion", f"{form.bp_before_completion} mmHg" if form.bp_before_completion else "-")
    doc.row("Vitals acceptable before", _yn(form.vitals_acceptable_before))
    doc.row("Vitals acceptable at completion", _yn(form.vitals_acceptable_completion))
    doc.row("Sedation", _yn(form.sedation))
    doc.row("Dissociation", _yn(form.dissociation))
    doc.row("Respiratory depression", _yn(form.respiratory_depression))
    doc.row("Monitored, first device to end", _minutes(form.minutes_monitored))
    doc.row("Ready to leave after", _minutes(form.ready_to_leave_minutes))
    doc.row("Adverse events", form.adverse_events or "None recorded")
    doc.row("Status", f"{form.get_status_display()}; due by {form.due_by or '-'}")
    doc.ln(2)
    doc.para(f"Exported by {exported_by.label}.", size=9)
    return doc.output()


def _minutes(value: int | None) -> str:
    return "-" if value is None else f"{value} min"
