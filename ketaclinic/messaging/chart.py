"""Chart section: secure messages. Only a link for the clinical roles (no query: the chart's budget is unchanged);
the conversations themselves are on the inbox and thread pages, read-receipted there."""

from __future__ import annotations

from ketaclinic.access import can_open


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "messaging:start"):
        return []
    return [{"title": "Secure messages", "template": "messaging/_chart.html", "id": "messages",
             "context": {"patient": patient}}]
