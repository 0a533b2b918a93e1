"""Chart section: consults and eligibility (clinical roles and front desk see status; details for clinicians)."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.screening.models import Consult, EligibilityAssessment


def chart_sections(request, patient) -> list[dict]:
    user = request.user
    if not user.has_role("prescriber", "nurse", "therapist", "front_desk"):
        return []
    consults = list(Consult.objects.filter(patient=patient).order_by("-created_at")[:5])
    latest = (EligibilityAssessment.objects.filter(patient=patient, signed_at__isnull=False)
              .select_related("signed_by").order_by("-signed_at").first())
    return [{
        "title": "Consults and eligibility", "template": "screening/_chart.html", "id": "eligibility",
        "context": {"patient": patient, "consults": consults, "latest": latest,
                    "can_start": can_open(user, "screening:start"),
                    "clinical": user.has_role("prescriber", "nurse", "therapist")},
    }]
