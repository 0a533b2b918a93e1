"""Staff-side portal actions (inviting a patient). Patient-facing views live in ``views.py``."""

from __future__ import annotations

from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ketaclinic.formfields import posted
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.views import chart_page
from ketaclinic.portal import services
from ketaclinic.portal.forms import InviteForm
from ketaclinic.submit import submit


@require_POST
def invite(request, external_id):
    """Front desk, prescriber or nurse emails the patient a one-time portal invitation link."""
    patient = get_patient_for(request, external_id)
    # Refused: the chart again, the message next to the email in the portal section.
    return submit(request, InviteForm(posted(request)), lambda actor, data: services.invite(
        actor=actor, patient=patient, email=data["email"], link_base=request.build_absolute_uri("/portal/invite/")),
        refused_by=services.PortalError,
        saved=lambda invited: f"Portal invitation emailed to {invited[0].email}. The link works once and expires "
                              f"in {services.INVITE_HOURS} hours.",
        done=lambda _: redirect("patients:chart", external_id=patient.external_id),
        again=lambda form: chart_page(request, patient, invite_form=form))
