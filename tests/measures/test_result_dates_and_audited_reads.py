"""Defects from the security review (E-G): impossible dates give form errors, results cannot be dated long before
the patient was registered or before birth, and reading a draft or a schedule is audited. Each test failed before
its fix."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services
from ketaclinic.measures.models import Administration, OnCall
from ketaclinic.patients.models import Patient
from tests.measures.conftest import phq9, phq9_total

pytestmark = pytest.mark.django_db


def _post_phq9(client, patient, when, action="submit"):
    data = {f"q{i}": "1" for i in range(1, 10)}
    data.update({"timing": "ad-hoc", "action": action, "administered_at": when})
    return client.post(reverse("measures:administer", args=[patient.external_id, "phq9"]), data)


# ------------------------------------------------------------------------------------------ E. date parsing
@pytest.mark.parametrize("when", ["2026-02-31 10:00", "2026-13-01 10:00", "2026-01-01 25:00", "2026-01-01 10:61",
                                  "0001-01-01 00:00", "not a date"])
def test_impossible_answered_at_is_a_form_error(when, client_for, patient):
    c = client_for("nurse")
    c.raise_request_exception = False
    r = _post_phq9(c, patient, when)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="administered_at-error"' in html
    assert not Administration.objects.exists()


@pytest.mark.parametrize("day", ["2026-02-31", "2026-13-01", "garbage", ""])
def test_impossible_on_call_day_is_a_form_error(day, client_for, staff):
    c = client_for("prescriber")
    c.raise_request_exception = False
    r = c.post(reverse("measures:on_call"), {"day": day, "clinician": staff["prescriber"].pk})
    assert r.status_code == 200
    assert "Enter a real date" in r.content.decode()
    assert not OnCall.objects.exists()


# ------------------------------------------------------------------------------------------ F. lower bounds
def test_result_dated_1901_is_refused_for_a_patient_born_1985(client_for, patient):
    r = _post_phq9(client_for("nurse"), patient, "1901-01-01 10:00")
    assert r.status_code == 200
    assert "before the patient&#x27;s date of birth" in r.content.decode()
    assert not Administration.objects.filter(status=Administration.Status.FINAL).exists()


def test_results_more_than_a_year_before_registration_are_refused(actor_for, patient):
    now = timezone.now()
    with pytest.raises(services.MeasureError) as e:
        services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                       answers=phq9_total(5), administered_at=now - timedelta(days=400))
    message = e.value.errors["administered_at"]
    assert "registered" in message and "at the earliest" in message
    assert not Administration.objects.filter(status=Administration.Status.FINAL).exists()
    # Back-entry of an older paper form within the year before registration is accepted.
    out = services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                         answers=phq9_total(5), administered_at=now - timedelta(days=300))
    assert out.submitted


def test_results_before_birth_are_refused_even_inside_the_window(actor_for, patient):
    Patient.objects.filter(pk=patient.pk).update(created_at=datetime(1985, 6, 1, tzinfo=UTC))
    patient.refresh_from_db()
    with pytest.raises(services.MeasureError) as e:
        services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                       answers=phq9_total(5), administered_at=datetime(1985, 1, 1, 12, tzinfo=UTC))
    assert "date of birth (1985-04-12)" in e.value.errors["administered_at"]
    assert services.earliest_administered_at(patient).date() == date(1985, 4, 12)


def test_future_results_are_still_refused(actor_for, patient):
    with pytest.raises(services.MeasureError) as e:
        services.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                       answers=phq9_total(5), administered_at=timezone.now() + timedelta(hours=1))
    assert "future" in e.value.errors["administered_at"]


# ------------------------------------------------------------------------------------------ G. audited reads
def test_reading_an_open_draft_is_audited(client_for, patient):
    c = client_for("nurse")
    data = {f"q{i}": "2" for i in range(1, 10)}
    data.update({"timing": "ad-hoc", "action": "draft"})
    c.post(reverse("measures:administer", args=[patient.external_id, "phq9"]), data)
    draft = Administration.objects.get(status=Administration.Status.DRAFT)
    before = AuditEntry.objects.count()
    r = client_for("therapist").get(reverse("measures:administer", args=[patient.external_id, "phq9"]))
    assert r.status_code == 200
    [entry] = AuditEntry.objects.filter(seq__gt=before)
    assert entry.action == "measures.administration.viewed"
    assert entry.patient_id == patient.pk and entry.subject_id == str(draft.external_id)
    assert entry.details["answered"] == 9 and entry.actor.username == "therapist"


def test_blank_scale_page_without_a_draft_writes_no_read_entry(client_for, patient):
    before = AuditEntry.objects.count()
    client_for("nurse").get(reverse("measures:administer", args=[patient.external_id, "phq9"]))
    assert not AuditEntry.objects.filter(seq__gt=before, action="measures.administration.viewed").exists()


def test_schedule_page_read_is_audited(client_for, patient, actor_for):
    services.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    before = AuditEntry.objects.count()
    r = client_for("nurse").get(reverse("measures:schedule", args=[patient.external_id]))
    assert r.status_code == 200
    [entry] = AuditEntry.objects.filter(seq__gt=before)
    assert entry.action == "measures.schedule.viewed" and entry.patient_id == patient.pk
    assert entry.details["scales"]


def test_portal_answers_still_dated_now(make_portal_patient):
    patient, _ = make_portal_patient()
    actor = services.Actor.system("test")
    out = services.record_administration(actor=actor, patient=patient, scale="phq9", answers=phq9(0, 0, 0, 0, 0, 0, 0, 0, 0),
                                         source=Administration.Source.PORTAL)
    assert out.submitted and abs(out.administration.administered_at - timezone.now()) < timedelta(minutes=1)
