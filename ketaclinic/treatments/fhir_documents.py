"""Completed Spravato REMS Patient Monitoring Forms (the PDF staff export from the session) as documents the FHIR
facade serves: found by module name by ``ketaclinic.fhir.documents`` (see its ``DocumentSource``), so treatments
never imports the facade. A form is a document once complete (or completed for a transfer to emergency care, or
submitted); its version is its status and a hash of every value it holds. The PDF names who exported it:
here, the clinic's FHIR interface."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.treatments import pdf
from ketaclinic.treatments.models import RemsForm

DONE = (RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED, RemsForm.Status.SUBMITTED)


class Rems:
    kind = "rems-form"
    display = "SPRAVATO REMS Patient Monitoring Form data (PDF)"
    suffix = "rems"
    category = "clinical-note"
    record_field = "session__external_id"
    patient = "session__patient"
    order = ("session__scheduled_start", "pk")

    def queryset(self, clinic_id: int):
        return (RemsForm.objects.filter(session__patient__clinic_id=clinic_id, status__in=DONE)
                .select_related("session__patient__clinic", "session__order__signed_by", "session__administered_by")
                .annotate(fhir_date=Coalesce("completed_at", "submitted_at", "session__dose_started_at",
                                             "session__scheduled_start")))

    def record_id(self, form):
        return form.session.external_id

    def version(self, form) -> str:
        """Every value the form holds, hashed: an answer corrected after discharge (allowed until the form is
        submitted) draws a new copy, so a client never gets the old answers as current."""
        values = [(f.attname, getattr(form, f.attname)) for f in RemsForm._meta.concrete_fields]
        return f"{form.status} " + hashlib.sha1(repr(values).encode()).hexdigest()  # noqa: S324 - a version tag

    def current(self, form) -> bool:
        return True

    def patient_of(self, form):
        return form.session.patient

    def authors(self, form) -> list:
        return [form.session.administered_by]

    def encounter(self, form):
        return form.session.external_id

    def title(self, form) -> str:
        s = form.session
        day = timezone.localtime(form.fhir_date, s.patient.clinic.tz)
        return f"SPRAVATO REMS Patient Monitoring Form {s.patient.mrn} {day:%Y-%m-%d}"

    def render(self, form) -> bytes:
        s = form.session
        interface = SimpleNamespace(label=f"{s.patient.clinic.name} (FHIR interface)")
        return bytes(pdf.rems_form(s, form, s.order.signed_by if s.order_id else None, interface))


DOCUMENTS = (Rems(),)
