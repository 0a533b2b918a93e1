"""Issued superbills as documents the FHIR facade serves: found by module name by ``ketaclinic.fhir.documents``
(see its ``DocumentSource``), so billing never imports the facade. One document per invoice of a service (the
invoices a superbill lists: ``superbills.SERVICE_KINDS``); a voided invoice's superbill is entered in error. Its
version is what it prints that can change: the payments and refunds (counted, and their sums)."""

from __future__ import annotations

from django.db.models import F, Q

from ketaclinic.billing.models import Invoice
from ketaclinic.billing.services import superbills
from ketaclinic.billing.services._common import annotate_figures


class Superbill:
    kind = "superbill"
    display = "Superbill (statement for insurance reimbursement, PDF)"
    suffix = "superbill"
    category = "billing"
    record_field = "external_id"
    patient = "patient"
    order = ("issued_at", "pk")
    #: rows whose document is entered in error: without a kept copy they give no resource and are left out
    entered_in_error = Q(voided_at__isnull=False)

    def queryset(self, clinic_id: int):
        return (annotate_figures(Invoice.objects.filter(clinic_id=clinic_id, patient__clinic_id=clinic_id,
                                                        kind__in=superbills.SERVICE_KINDS))
                .select_related("patient__clinic", "issued_by", "rendering_provider", "treatment_session",
                                "integration_session", "appointment")
                .annotate(fhir_date=F("issued_at")))

    def record_id(self, inv):
        return inv.external_id

    def version(self, inv) -> str:
        return f"paid {inv.paid_cents or 0}; refunded {inv.refunded_cents or 0}"

    def current(self, inv) -> bool:
        return inv.voided_at is None

    def patient_of(self, inv):
        return inv.patient

    def authors(self, inv) -> list:
        return [inv.issued_by or inv.rendering_provider]

    def encounter(self, inv):
        for visit in (inv.treatment_session, inv.integration_session, inv.appointment):
            if visit is not None:
                return visit.external_id
        return None

    def title(self, inv) -> str:
        return f"Superbill {inv.number}, date of service {inv.service_on:%Y-%m-%d}"

    def render(self, inv) -> bytes:
        return superbills.superbill_pdf(inv.patient, superbills.superbills(Invoice.objects.filter(pk=inv.pk)))


DOCUMENTS = (Superbill(),)
