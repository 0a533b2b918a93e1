"""A patient's research consent as staff record it: an append-only history (given, refused, withdrawn; paper,
verbal or portal) whose latest row is the current decision; a withdrawal only of consent in force; every decision
audited; the rows cannot be changed or deleted, even by SQL; the staff page shows the history and records a
decision, and a refused post changes nothing and says why."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.reports.models import ResearchConsent
from ketaclinic.reports.research import ConsentError, current_decision, record_research_consent

pytestmark = pytest.mark.django_db


def url(patient):
    return reverse("reports:research_consent", kwargs={"patient_id": patient.external_id})


def test_the_latest_decision_is_the_current_one_and_each_is_audited(patient, actor_for):
    assert current_decision(patient) is None
    record_research_consent(actor=actor_for("front_desk"), patient=patient,
                            data={"decision": "given", "how": "paper", "note": "form scanned"})
    assert current_decision(patient).decision == "given"
    record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "withdrawn", "how": "verbal"})
    assert current_decision(patient).decision == "withdrawn"
    assert list(patient.research_consents.values_list("decision", flat=True)) == ["given", "withdrawn"]
    entries = AuditEntry.objects.filter(action="research.consent.recorded", patient=patient).order_by("pk")
    assert [(e.details["decision"], e.details["previous"]) for e in entries] == [("given", None),
                                                                                 ("withdrawn", "given")]


def test_a_withdrawal_needs_consent_in_force(patient, actor_for):
    with pytest.raises(ConsentError, match="no consent in force"):
        record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "withdrawn",
                                                                                  "how": "verbal"})
    record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "refused", "how": "verbal"})
    with pytest.raises(ConsentError):
        record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "withdrawn",
                                                                                  "how": "verbal"})
    with pytest.raises(ConsentError) as refused:
        record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "maybe", "how": "fax"})
    assert set(refused.value.errors) == {"decision", "how"}
    assert patient.research_consents.count() == 1


def test_decisions_cannot_be_changed_or_deleted(patient, actor_for):
    row = record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": "given",
                                                                                    "how": "portal"})
    with pytest.raises(DatabaseError), transaction.atomic():
        ResearchConsent.objects.filter(pk=row.pk).update(decision="refused")
    with pytest.raises(DatabaseError), transaction.atomic():
        ResearchConsent.objects.filter(pk=row.pk).delete()
    assert ResearchConsent.objects.get(pk=row.pk).decision == "given"


def test_the_staff_page_records_a_decision_and_shows_the_history(client_for, patient):
    desk = client_for("front_desk")
    page = desk.get(url(patient))
    assert page.status_code == 200 and b"No decision recorded" in page.content
    done = desk.post(url(patient), {"decision": "given", "how": "paper", "note": "signed form in chart"})
    assert done.status_code == 302 and done["Location"] == url(patient)
    page = desk.get(url(patient))
    assert b'data-decision="given"' in page.content and b"signed form in chart" in page.content
    assert b"Signed paper form" in page.content


def test_a_refused_post_changes_nothing_and_says_why(client_for, patient):
    nurse = client_for("nurse")
    refused = nurse.post(url(patient), {"decision": "withdrawn", "how": "verbal"})
    assert refused.status_code == 400 and b"no consent in force to withdraw" in refused.content
    bad = nurse.post(url(patient), {"decision": "perhaps", "how": "verbal"})
    assert bad.status_code == 400 and b"Select a valid choice" in bad.content
    assert not ResearchConsent.objects.exists()


def test_reading_the_page_is_audited_as_a_read(client_for, patient):
    from ketaclinic.audit.models import AuditEntry

    assert client_for("nurse").get(url(patient)).status_code == 200
    (entry,) = AuditEntry.objects.filter(action="research.consent.viewed")
    assert entry.patient_id == patient.pk
    assert client_for("nurse").post(url(patient), {"decision": "given", "how": "verbal"}).status_code == 302
    assert AuditEntry.objects.filter(action="research.consent.viewed").count() == 1  # a post is not a read


def test_billing_cannot_open_the_page(client_for, patient):
    assert client_for("billing").get(url(patient)).status_code == 403


def test_the_pages_query_budgets_do_not_grow_with_the_history(client_for, patient, actor_for,
                                                              django_assert_num_queries):
    nurse, prescriber = client_for("nurse"), client_for("prescriber")
    for decision in ("given", "withdrawn", "given", "refused"):
        record_research_consent(actor=actor_for("nurse"), patient=patient, data={"decision": decision,
                                                                                  "how": "verbal"})
    # session, user, clinic zone, roles, clinic, patient, its history, the session's save (3), and the read's
    # audit entry (research.consent.viewed: chain head, entry, head moved on: 3)
    with django_assert_num_queries(13):
        assert nurse.get(url(patient)).status_code == 200
    # session, user, roles, clinic, my jobs, the consent counts (one GROUP BY), and the session's save (3)
    with django_assert_num_queries(9):
        assert prescriber.get(reverse("reports:research")).status_code == 200
