"""Panels on the Today page. Each feature app may offer panels by defining ``today_panels(request, clinic)``
in a module ``<app>/today.py``; this module gathers them in app order. A panel is a dict with
``title``, ``template`` and ``context``, and optionally ``priority`` (lower comes first; default 50; urgent
safety work uses 0) and ``css`` ("wide" spans the page, "urgent" marks it). Panels a user's roles may not see
are not returned."""

from __future__ import annotations

import importlib

from django.apps import apps


def today_panels(request, clinic) -> list[dict]:
    panels: list[dict] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("ketaclinic.") or config.name == "ketaclinic.clinic":
            continue
        try:
            module = importlib.import_module(f"{config.name}.today")
        except ModuleNotFoundError as e:
            if e.name == f"{config.name}.today":
                continue
            raise
        panels.extend(module.today_panels(request, clinic))
    return sorted(panels, key=lambda p: p.get("priority", 50))
