"""Chart section: the patient's upcoming appointments and a "Book appointment" link (fixed number of queries)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode

from ketaclinic.access import can_open
from ketaclinic.scheduling.services import upcoming_for


def chart_sections(request, patient) -> list[dict]:
    user = request.user
    if not can_open(user, "scheduling:calendar") and not can_open(user, "scheduling:book"):
        return []
    book = (f"{reverse('scheduling:book')}?{urlencode({'patient': patient.external_id})}"
            if can_open(user, "scheduling:book") else "")
    return [{"title": "Appointments", "template": "scheduling/_chart.html", "id": "appointments",
             "context": {"appointments": upcoming_for(patient), "book_url": book,
                         "can_open": can_open(user, "scheduling:appointment"),
                         "can_waitlist": can_open(user, "scheduling:waitlist")}}]
