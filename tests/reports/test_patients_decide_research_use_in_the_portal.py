"""A patient decides in the portal whether their de-identified data may go into the clinic's research export: they
read what would be shared, say yes (only after ticking that they have read it) or no, and withdraw a yes at any time.
Each decision is a new row of the same append-only history the staff record on the chart, marked "in the patient
portal" and audited as the patient's; one patient never sees or changes another's."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.reports import research
from ketaclinic.reports.models import ResearchConsent

pytestmark = pytest.mark.django_db
PAGE = "reports:my_research"
D = ResearchConsent.Decision


def _decide(client, decision, read_it=False):
    return client.post(reverse(PAGE), {"decision": decision, **({"read_it": "on"} if read_it else {})})


def test_a_yes_is_recorded_only_once_the_patient_says_they_read_what_is_shared(make_portal_patient):
    patient, client = make_portal_patient()
    page = client.get(reverse(PAGE))
    assert page.status_code == 200
    assert 'data-decision="none"' in page.text and "not</strong> used for research" in page.text
    assert "never holds" in page.text and "ten-year bands" in page.text and "never both, which together would give your weight" in page.text
    lo, hi = research.shift_range()
    assert f"random {lo // 7} to {hi // 7} weeks" in page.text
    assert 'value="given"' in page.text and 'value="refused"' in page.text and 'value="withdrawn"' not in page.text

    refused = _decide(client, D.GIVEN)
    assert refused.status_code == 400 and "Tick the box" in refused.text
    assert not ResearchConsent.objects.filter(patient=patient).exists()

    assert _decide(client, D.GIVEN, read_it=True).status_code == 302
    row = ResearchConsent.objects.get(patient=patient)
    assert (row.decision, row.how, row.recorded_by) == (D.GIVEN, ResearchConsent.How.PORTAL,
                                                        patient.portal_account.user)
    assert research.current_decision(patient) == row
    entry = AuditEntry.objects.get(action="research.consent.recorded", patient=patient)
    assert entry.actor == patient.portal_account.user and entry.details["how"] == "portal"
    page = client.get(reverse(PAGE))
    assert 'data-decision="given"' in page.text and "your de-identified data may now go" in page.text
    assert 'value="withdrawn"' in page.text and 'value="given"' not in page.text


def test_a_patient_withdraws_a_yes_and_the_history_keeps_both(make_portal_patient):
    patient, client = make_portal_patient()
    _decide(client, D.GIVEN, read_it=True)
    assert _decide(client, D.WITHDRAWN).status_code == 302
    assert list(ResearchConsent.objects.filter(patient=patient).order_by("pk").values_list("decision", flat=True)) \
        == [D.GIVEN, D.WITHDRAWN]
    assert research.current_decision(patient).decision == D.WITHDRAWN
    page = client.get(reverse(PAGE)).text
    assert 'data-decision="withdrawn"' in page and page.count("In the patient portal") == 2
    assert 'value="given"' in page and 'value="withdrawn"' not in page


@pytest.mark.parametrize("current, posted", [(None, D.WITHDRAWN), (D.GIVEN, D.GIVEN), (D.GIVEN, D.REFUSED),
                                             (D.REFUSED, D.REFUSED), (None, "maybe"), (None, "")])
def test_a_choice_not_open_now_is_refused_and_records_nothing(make_portal_patient, current, posted):
    patient, client = make_portal_patient()
    if current is not None:
        _decide(client, current, read_it=True)
    before = ResearchConsent.objects.filter(patient=patient).count()
    r = _decide(client, posted, read_it=True)
    assert r.status_code == 400 and 'role="alert"' in r.text
    assert ResearchConsent.objects.filter(patient=patient).count() == before


def test_the_decision_in_force_said_again_is_recorded_once_whoever_says_it(make_portal_patient, actor_for):
    """Two tabs, or a double click, both posting "yes" before either page shows it: the second is refused under
    the patient's lock. The same rule for the staff's page (a form filed twice): one decision, one row."""
    from ketaclinic.audit.services import Actor

    patient, _ = make_portal_patient()
    me = Actor(user=patient.portal_account.user, roles=frozenset(), client_ip=None)
    research.record_research_consent(actor=me, patient=patient, data={"decision": D.GIVEN, "how": "portal"})
    with pytest.raises(research.ConsentError, match=f"Already recorded on {timezone.localdate():%Y-%m-%d}: consents to research use"):
        research.record_research_consent(actor=me, patient=patient, data={"decision": D.GIVEN, "how": "portal"})
    with pytest.raises(research.ConsentError, match="Already recorded"):
        research.record_research_consent(actor=actor_for("nurse"), patient=patient,
                                         data={"decision": D.GIVEN, "how": "paper"})
    assert ResearchConsent.objects.filter(patient=patient).count() == 1
    research.record_research_consent(actor=actor_for("nurse"), patient=patient,
                                     data={"decision": D.WITHDRAWN, "how": "paper"})  # a change is recorded
    assert research.current_decision(patient).decision == D.WITHDRAWN


def test_one_patient_never_sees_or_changes_anothers_decision(make_portal_patient):
    a, a_client = make_portal_patient()
    b, b_client = make_portal_patient()
    _decide(a_client, D.GIVEN, read_it=True)
    b_page = b_client.get(reverse(PAGE)).text
    assert 'data-decision="none"' in b_page and "Your decisions so far" not in b_page
    _decide(b_client, D.REFUSED)
    assert research.current_decision(a).decision == D.GIVEN
    assert research.current_decision(b).decision == D.REFUSED
    assert AuditEntry.objects.filter(action="portal.research.viewed", patient=b).count() == 2
    assert not AuditEntry.objects.filter(action="portal.research.viewed", patient=a, actor=b.portal_account.user)


def test_the_portal_navigation_finds_the_page_and_staff_see_the_portal_decision(make_portal_patient, client_for):
    patient, client = make_portal_patient()
    assert f'href="{reverse(PAGE)}"' in client.get(reverse("portal:home")).text
    _decide(client, D.GIVEN, read_it=True)
    chart = client_for("prescriber").get(reverse("reports:research_consent", args=[patient.external_id])).text
    assert 'data-decision="given"' in chart and "In the patient portal" in chart
