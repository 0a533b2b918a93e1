"""Chart section: integration sessions. Front desk sees bookings only; notes are never shown here."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.integration.models import IntegrationSession


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "integration:list"):
        return []
    offers = list(IntegrationSession.objects.filter(patient=patient).select_related("therapist")
                  .order_by("-window_start")[:10])
    return [{"title": "Integration", "template": "integration/_chart.html", "id": "integration",
             "context": {"offers": offers}}]
