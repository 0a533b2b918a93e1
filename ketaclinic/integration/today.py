"""Today panel: integration sessions booked today and offers waiting to be booked."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from ketaclinic.access import can_open
from ketaclinic.integration.models import IntegrationSession


def today_panels(request, clinic) -> list[dict]:
    user = request.user
    if not can_open(user, "integration:list"):
        return []
    tz = clinic.tz
    start = datetime.combine(timezone.localtime(timezone.now(), tz).date(), time.min, tzinfo=tz)
    qs = IntegrationSession.objects.filter(patient__clinic=clinic).select_related("patient", "therapist")
    booked = list(qs.filter(status=IntegrationSession.Status.BOOKED, scheduled_start__gte=start,
                            scheduled_start__lt=start + timedelta(days=1)).order_by("scheduled_start"))
    waiting = qs.filter(status=IntegrationSession.Status.OFFERED, window_end__gte=timezone.now()).count()
    if not booked and not waiting and not can_open(user, "integration:add_note"):
        return []
    return [{"title": "Integration sessions", "template": "integration/_today.html",
             "context": {"booked": booked, "waiting": waiting}}]
