"""Staff-side portal actions (inviting a patient). Patient-facing views live in ``views.py``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ketaclinic.audit.services import Actor
from ketaclinic.patients.access import get_patient_for
from ketaclinic.portal import services


@require_POST
def invite(request, external_id):
    """Front desk, prescriber or nurse emails the patient a one-time portal invitation link."""
    patient = get_patient_for(request, external_id)
    try:
        inv, _token = services.invite(actor=Actor.from_request(request), patient=patient,
                                      email=request.POST.get("email", ""),
                                      link_base=request.build_absolute_uri("/portal/invite/"))
    except services.PortalError as e:
        for msg in e.errors.values():
            messages.error(request, msg)
    else:
        messages.success(request, f"Portal invitation emailed to {inv.email}. The link works once and expires "
                                  f"in {services.INVITE_HOURS} hours.")
    return redirect("patients:chart", external_id=patient.external_id)
