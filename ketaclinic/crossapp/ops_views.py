"""The operations status page (clinic admin, compliance): see ``ops_status``."""

from __future__ import annotations

from django.shortcuts import render

from ketaclinic.crossapp.ops_status import RECENT, STALE_MINUTES, status


def status_page(request):
    return render(request, "crossapp/ops_status.html", {"s": status(), "recent_limit": RECENT,
                                                        "stale_minutes": STALE_MINUTES})
