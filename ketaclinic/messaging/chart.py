"""Chart section: secure messages. Only a link for the clinical roles; the conversations themselves are on the
inbox and thread pages, read-receipted there. The link to write is offered only to a patient who can read the
message (an active portal account: one query); otherwise the section says how to reach them instead."""

from __future__ import annotations

from ketaclinic.access import can_open
from ketaclinic.messaging.services import NO_PORTAL_ACCOUNT, has_portal_account


def chart_sections(request, patient) -> list[dict]:
    if not can_open(request.user, "messaging:start"):
        return []
    return [{"title": "Secure messages", "template": "messaging/_chart.html", "id": "messages",
             "context": {"patient": patient, "reachable": has_portal_account(patient),
                         "no_account": NO_PORTAL_ACCOUNT}}]
