"""Staff-side portal actions (inviting a patient). Patient-facing views live in ``views.py``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ketaclinic.audit.services import Actor
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.views import chart_page
from ketaclinic.portal import services
from ketaclinic.portal.forms import InviteForm


@require_POST
def invite(request, external_id):
    """Front desk, prescriber or nurse emails the patient a one-time portal invitation link."""
    patient = get_patient_for(request, external_id)
    form = InviteForm(posted(request))
    if form.is_valid():
        try:
            inv, _token = services.invite(actor=Actor.from_request(request), patient=patient,
                                          email=form.cleaned_data["email"],
                                          link_base=request.build_absolute_uri("/portal/invite/"))
        except services.PortalError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, f"Portal invitation emailed to {inv.email}. The link works once and expires "
                                      f"in {services.INVITE_HOURS} hours.")
            return redirect("patients:chart", external_id=patient.external_id)
    # Refused: the chart again, the message next to the email in the portal section.
    return chart_page(request, patient, invite_form=form)
