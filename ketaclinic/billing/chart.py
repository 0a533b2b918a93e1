"""Chart section: the patient's account at a glance (balance, open invoices, estimates due), for the people who
handle money (the billing role, the clinic admin, the front desk). Clinicians see no money here. Fixed queries."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.billing.models import Estimate, PatientPackage
from ketaclinic.billing.services import annotated_figures, balance_of, invoices_of, price_summary


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "billing:account"):
        return []
    owed = [(i, annotated_figures(i).balance) for i in invoices_of(patient).filter(voided_at__isnull=True)[:50]]
    return [{
        "title": "Billing", "id": "billing", "template": "billing/_chart.html",
        "context": {"patient": patient, "balance": balance_of(patient), "open": [(i, b) for i, b in owed if b > 0][:5],
                    "due": list(Estimate.objects.filter(patient=patient, status=Estimate.Status.DUE)),
                    "packages": PatientPackage.objects.filter(patient=patient,
                                                              status=PatientPackage.Status.ACTIVE).count(),
                    # what a series costs, read-only, for the front desk before it books one from the chart
                    "summary": price_summary(patient.clinic)},
    }]
