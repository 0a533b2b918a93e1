"""Custody panel on the Today page: signatures waiting, counts due, open incidents, theft/loss notices due."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.custody import queries
from ketaclinic.custody.models import Incident, LossReport


def today_panels(request, clinic) -> list[dict]:
    user = request.user
    if not can_open(user, "custody:signatures"):  # handlers and compliance
        return []
    ctx = {
        "to_sign": queries.pending_for(user, count_only=True),
        "counts_due": [d for d in queries.counts_due(clinic) if d["routine_due"] or d["inventory_overdue"]],
        "incidents": Incident.objects.filter(status=Incident.Status.OPEN,
                                             count_line__count__location__clinic=clinic).count(),
        "notices": list(LossReport.objects.filter(notice_sent_at__isnull=True, clinic=clinic)
                        .order_by("notice_due_at")[:5]),
    }
    return [{"title": "Controlled substances", "template": "custody/today_panel.html", "context": ctx}]
