"""Sections of the patient chart. Feature apps add sections by defining
``chart_sections(request, patient) -> list[dict]`` in ``<app>/chart.py`` (title, template, context).
Each section must run a fixed number of queries, whatever the length of the patient's history."""

from __future__ import annotations

import importlib

from django.apps import apps


def extra_sections(request, patient) -> list[dict]:
    sections: list[dict] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("ketaclinic.") or config.name == "ketaclinic.patients":
            continue
        try:
            module = importlib.import_module(f"{config.name}.chart")
        except ModuleNotFoundError as e:
            if e.name == f"{config.name}.chart":
                continue
            raise
        sections.extend(module.chart_sections(request, patient))
    return sections
