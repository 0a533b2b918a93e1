"""Chart section: the patient's portal account, or a button to invite them (fixed queries)."""

from __future__ import annotations

from ketaclinic.accounts.roles import Role
from ketaclinic.portal.models import Invitation, PatientAccount

INVITERS = (Role.FRONT_DESK, Role.PRESCRIBER, Role.NURSE)


def chart_sections(request, patient) -> list[dict]:
    if not request.user.has_role(*INVITERS):
        return []
    account = PatientAccount.objects.filter(patient=patient).select_related("user").first()
    last = None if account else Invitation.objects.filter(patient=patient).order_by("-created_at").first()
    return [{
        "title": "Patient portal",
        "id": "portal",
        "template": "portal/chart_section.html",
        "context": {"patient": patient, "account": account, "invitation": last},
    }]
