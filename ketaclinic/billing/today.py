"""Today panel for billing: what waits to be invoiced, estimates due today or overdue, and money owed."""

from __future__ import annotations

from django.utils import timezone

from ketaclinic.access import can_open
from ketaclinic.billing import services


def today_panels(request, clinic) -> list[dict]:
    if not can_open(request.user, "billing:worklist"):
        return []
    today = timezone.localdate(timezone.now(), clinic.tz)
    todo = services.to_invoice(clinic)
    due = [e for e in services.due_list(clinic) if e.due_on <= today]
    report = services.aging(clinic, today=today)
    return [{"title": "Billing", "template": "billing/_today.html",
             "context": {"to_invoice": len(todo["sessions"]) + len(todo["visits"]) + len(todo["integration"]),
                         "fees": len(todo["missed"]) + len(todo["missed_visits"]), "due": due,
                         "owed": report.total, "today": today}}]
