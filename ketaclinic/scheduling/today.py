"""Today panel for the front desk: today's appointments, in time order."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ketaclinic.access import can_open
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.scheduling.models import Appointment


def today_panels(request, clinic) -> list[dict]:
    user = request.user
    if not can_open(user, "scheduling:calendar"):
        return []
    tz = clinic.tz
    today = timezone.localtime(timezone.now(), tz).date()
    start = wall_clock_moment(today, timezone.datetime.min.time(), tz)
    end = wall_clock_moment(today + timedelta(days=1), timezone.datetime.min.time(), tz)
    appointments = list(Appointment.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
                        .exclude(status=Appointment.Status.CANCELLED)
                        .select_related("patient", "type", "clinician", "room", "chair").order_by("start", "pk"))
    return [{"title": "Appointments today", "template": "scheduling/_today.html", "priority": 20,
             "context": {"appointments": appointments, "calendar_url": reverse("scheduling:calendar"),
                         "book_url": reverse("scheduling:book") if can_open(user, "scheduling:book") else "",
                         "can_open": can_open(user, "scheduling:appointment")}}]
