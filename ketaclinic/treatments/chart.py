"""Chart section: treatment orders and sessions (fixed number of queries)."""

from __future__ import annotations

from django.db.models import Count, Q

from ketaclinic.access import can_open
from ketaclinic.treatments import predictions, titration_history
from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

ROWS = 12


def chart_sections(request, patient) -> list[dict]:
    user = request.user
    if not can_open(user, "patients:chart"):
        return []
    orders = list(TreatmentOrder.objects.filter(patient=patient).select_related("signed_by", "titration")
                  .annotate(booked=Count("sessions", filter=~Q(sessions__status__in=["cancelled", "no_show"])))
                  .order_by("-created_at")[:ROWS])
    sessions = list(TreatmentSession.objects.filter(patient=patient).select_related("room", "chair")
                    .order_by("-scheduled_start")[:ROWS + 1])
    more, sessions = len(sessions) > ROWS, sessions[:ROWS]
    titrated = next((o for o in orders if hasattr(o, "titration")), None)  # the newest order with a plan
    history = (titration_history.history(titrated, patient.clinic.tz)
               if titrated is not None and can_open(user, "treatments:cockpit") else None)
    return [{
        "title": "Treatments", "template": "treatments/_chart.html", "id": "treatments", "css": "wide",
        "context": {"patient": patient, "orders": orders, "sessions": sessions, "more_sessions": more, "rows": ROWS,
                    "clinical": can_open(user, "treatments:cockpit"),
                    "can_order": can_open(user, "treatments:order_new"),
                    "can_book": can_open(user, "treatments:book"), "history": history,
                    "exposure": predictions.exposures(patient, sessions) if can_open(user, "treatments:cockpit") else {}},
    }]
