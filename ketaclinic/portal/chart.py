"""Chart section: the patient's portal account, or a button to invite them (fixed queries)."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.portal.models import Invitation, PatientAccount


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "portal:invite"):
        return []
    account = PatientAccount.objects.filter(patient=patient).select_related("user").first()
    last = None if account else Invitation.objects.filter(patient=patient).order_by("-created_at").first()
    return [{
        "title": "Patient portal",
        "id": "portal",
        "template": "portal/chart_section.html",
        "context": {"patient": patient, "account": account, "invitation": last,
                    "education": can_open(request.user, "portal:education")},
    }]
