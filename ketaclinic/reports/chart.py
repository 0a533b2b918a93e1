"""Chart section: the patient's research consent (the latest decision; one query) and the link to record one, for
the people who record consents. Only patients whose latest decision is "given" are in the research export."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.reports.research import current_decision


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "reports:research_consent"):
        return []
    return [{"title": "Research consent", "id": "research-consent",
             "template": "reports/research_chart_section.html",
             "context": {"patient": patient, "current": current_decision(patient)}}]
