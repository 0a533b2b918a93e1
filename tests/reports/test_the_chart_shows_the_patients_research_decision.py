"""The chart's research-consent section shows the decision in force (given, refused, withdrawn: how and when), the
one the research export goes by, and links to the page that records the next one. (It once read a name its app
did not give it and said "No decision recorded" whatever the patient had decided.)"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from ketaclinic.reports.research import record_research_consent

pytestmark = pytest.mark.django_db


def _section(client, patient) -> str:
    html = client.get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    start = html.index("<p data-decision=")
    return re.sub(r"\s+", " ", html[start:html.index("</p>", start)])


def test_the_section_follows_each_decision_and_links_to_the_consent_page(patient, actor_for, client_for):
    prescriber = client_for("prescriber")
    link = f'href="{reverse("reports:research_consent", kwargs={"patient_id": patient.external_id})}"'
    section = _section(prescriber, patient)
    assert 'data-decision="none"' in section and "No decision recorded" in section and link in section
    record_research_consent(actor=actor_for("front_desk"), patient=patient,
                            data={"decision": "given", "how": "paper", "note": "form scanned"})
    section = _section(prescriber, patient)
    assert 'data-decision="given"' in section and "No decision recorded" not in section, section
    assert "Consents to research use · Signed paper form" in section and link in section, section
    record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "withdrawn", "how": "verbal"})
    section = _section(prescriber, patient)
    assert 'data-decision="withdrawn"' in section and "Withdrew consent" in section, section
