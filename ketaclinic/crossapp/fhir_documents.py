"""The signed session record (the PDF staff print from the session's record page) as a document the FHIR facade
serves: found by module name by ``ketaclinic.fhir.documents`` (see its ``DocumentSource``), so the facade never
imports this app. A session's record is a document once the nurse or the prescriber has signed it; its version
is the signatures and the number of addenda, so a co-signature or an addendum gives a new copy."""

from __future__ import annotations

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.crossapp import session_record, session_record_pdf


class SessionRecord:
    kind = "session-record"
    display = "Treatment session record (PDF)"
    suffix = "record"
    category = "clinical-note"
    record_field = "external_id"
    patient = "patient"
    order = ("scheduled_start", "pk")

    def queryset(self, clinic_id: int):
        return (session_record.session_queryset().select_related("nurse_signed_by", "prescriber_signed_by")
                .filter(patient__clinic_id=clinic_id)
                .filter(Q(nurse_signed_at__isnull=False) | Q(prescriber_signed_at__isnull=False))
                .annotate(fhir_date=Coalesce("prescriber_signed_at", "nurse_signed_at"),
                          fhir_addenda=Count("addenda"), fhir_rems_status=F("rems__status"),
                          fhir_rems_submitted=F("rems__submitted_at")))

    def record_id(self, s):
        return s.external_id

    def version(self, s) -> str:
        signed = ",".join(at.isoformat() if at else "-" for at in (s.nurse_signed_at, s.prescriber_signed_at))
        # the record prints the esketamine session's REMS form status and submission, which usually come after
        # signing
        rems = f"{s.fhir_rems_status or '-'} {s.fhir_rems_submitted.isoformat() if s.fhir_rems_submitted else '-'}"
        return f"signed {signed}; addenda {s.fhir_addenda}; rems {rems}"

    def current(self, s) -> bool:
        return True

    def patient_of(self, s):
        return s.patient

    def authors(self, s) -> list:
        return [u for u, at in ((s.nurse_signed_by, s.nurse_signed_at), (s.prescriber_signed_by, s.prescriber_signed_at))
                if at]

    def encounter(self, s):
        return s.external_id

    def title(self, s) -> str:
        day = timezone.localtime(s.checked_in_at or s.scheduled_start, s.patient.clinic.tz)
        return f"Session record {s.patient.mrn} {day:%Y-%m-%d} ({s.get_drug_display()}, {s.get_route_display()})"

    def render(self, s) -> bytes:
        fresh = session_record.with_people(session_record.session_queryset().get(pk=s.pk))
        return session_record_pdf.render(session_record.build(session_record.gather(fresh)), fresh.patient.clinic.tz)


DOCUMENTS = (SessionRecord(),)
