"""The chart's research-consent section shows the decision in force (given, refused, withdrawn: how and when), the
one the research export goes by, and links to the page that records the next one. (It once read a name its app
did not give it and said "No decision recorded" whatever the patient had decided.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

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
    assert "in the research export." in section and "not in the research export" not in section, section
    record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "withdrawn", "how": "verbal"})
    section = _section(prescriber, patient)
    assert 'data-decision="withdrawn"' in section and "Withdrew consent" in section, section
    assert "not in the research export." in section, section


def test_a_refusal_shows_as_refused_and_out_of_the_export(patient, actor_for, client_for):
    record_research_consent(actor=actor_for("front_desk"), patient=patient,
                            data={"decision": "refused", "how": "portal"})
    section = _section(client_for("nurse"), patient)
    assert 'data-decision="refused"' in section, section
    assert "Refuses research use · In the patient portal" in section, section
    assert "not in the research export." in section and "No decision recorded" not in section, section


def test_the_decision_date_is_the_clinics_own_date(patient, actor_for, client_for, clock):
    """At 06:30 UTC it is still the evening before in Los Angeles: a clinic there sees the day it was given."""
    from ketaclinic.clinic.middleware import forget_time_zone

    clinic = patient.clinic
    clinic.time_zone = "America/Los_Angeles"
    clinic.save(update_fields=["time_zone"])
    forget_time_zone()
    moment = clock.move_to(datetime.combine(clock.today(), time(6, 30), tzinfo=UTC))
    record_research_consent(actor=actor_for("front_desk"), patient=patient, data={"decision": "given", "how": "paper"})
    section = _section(client_for("prescriber"), patient)
    local_day = moment.astimezone(ZoneInfo("America/Los_Angeles")).date()
    assert local_day != moment.date()
    assert f"· {local_day:%Y-%m-%d}: in the research export." in section, section
