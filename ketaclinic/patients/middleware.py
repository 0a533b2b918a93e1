"""A record outside one's care team (patients/careteam.py) answers with the break-glass page, not the record."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.patients.careteam import OutsideCareTeam


def safe_next(request, target: str | None) -> str | None:
    """A same-site path to go back to after breaking the glass, or None."""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


class BreakGlassMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OutsideCareTeam):
            return None
        patient = exception.patient
        with transaction.atomic():
            audit.record(Actor.from_request(request), AuditAction.PATIENT_OUTSIDE_CARE_TEAM_REFUSED, subject=patient,
                         patient=patient, details={"path": request.path[:200], "method": request.method})
        url = reverse("patients:break_glass", kwargs={"external_id": patient.external_id})
        if getattr(request, "htmx", False):
            # a part of a page (a panel, a saved row): the whole page goes to the break-glass page, and back to
            # the page afterwards, not to the part; nothing the part posted was saved
            back = safe_next(request, request.headers.get("HX-Current-URL"))
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url + ("?" + urlencode({"next": back}) if back else "")
            return response
        if request.method == "GET":
            return redirect(url + "?" + urlencode({"next": request.get_full_path()}))
        body = render_to_string("patients/outside_care_team.html", {"patient": patient, "break_glass_url": url},
                                request=request)
        return HttpResponse(body, status=403)
