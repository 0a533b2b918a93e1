"""Panels on the Today page. Each feature app may offer panels by defining ``today_panels(request, clinic)``
in a module ``<app>/today.py``; this module gathers them in app order. A panel is a dict with
``title``, ``template`` and ``context``, and optionally ``priority`` (lower comes first; default 50; urgent
safety work uses 0) and ``css`` ("wide" spans the page, "urgent" marks it). Panels a user's roles may not see
are not returned."""

from __future__ import annotations

from ketaclinic.apphooks import app_hooks


def today_panels(request, clinic) -> list[dict]:
    panels: list[dict] = []
    for module in app_hooks("today", gatherer="ketaclinic.clinic"):
        panels.extend(module.today_panels(request, clinic))
    return sorted(panels, key=lambda p: p.get("priority", 50))
