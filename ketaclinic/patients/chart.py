"""Sections of the patient chart. Feature apps add sections by defining
``chart_sections(request, patient) -> list[dict]`` in ``<app>/chart.py`` (title, template, context).
Each section must run a fixed number of queries, whatever the length of the patient's history."""

from __future__ import annotations

from ketaclinic.apphooks import app_hooks


def extra_sections(request, patient) -> list[dict]:
    sections: list[dict] = []
    for module in app_hooks("chart", gatherer="ketaclinic.patients"):
        sections.extend(module.chart_sections(request, patient))
    return sections
