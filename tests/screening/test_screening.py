"""Intake and eligibility: the core's decision with every reason and source, and the prescriber's signature."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.screening import services
from ketaclinic.screening.services import ScreeningError
from tests.treatments.factories import actor, make_eligible

pytestmark = pytest.mark.django_db


def test_eligible_patient_is_accepted_without_reason(patient, staff):
    consult, a = make_eligible(patient, staff)
    assert a.outcome == "eligible" and a.adequate_trials == 2 and a.decision == "accepted"
    consult.refresh_from_db()
    assert consult.status == "signed"


def test_every_reason_is_stored_with_its_source(patient, staff):
    consult, a = make_eligible(patient, staff, flags=["psychosis", "aneurysmal_vascular_disease"], sign=False)
    assert a.outcome == "not_eligible"
    by_code = {r["code"]: r for r in a.reasons}
    assert by_code["aneurysmal_vascular_disease"]["severity"] == "absolute"
    assert by_code["psychosis"]["severity"] == "relative"
    assert all(r["source"] for r in a.reasons)


def test_absolute_contraindication_cannot_be_accepted(patient, staff):
    _, a = make_eligible(patient, staff, flags=["hypersensitivity"], sign=False)
    with pytest.raises(ScreeningError, match="cannot be overridden"):
        services.sign_assessment(actor=actor(staff["prescriber"]), assessment=a, decision="accept",
                                 override_reason="I really want to treat.")


def test_relative_contraindication_needs_a_written_reason(patient, staff):
    _, a = make_eligible(patient, staff, flags=["substance_use_disorder"], sign=False)
    assert a.outcome == "review"
    with pytest.raises(ScreeningError) as e:
        services.sign_assessment(actor=actor(staff["prescriber"]), assessment=a, decision="accept")
    assert "override_reason" in e.value.errors
    a = services.sign_assessment(actor=actor(staff["prescriber"]), assessment=a, decision="accept",
                                 override_reason="In remission 3 years, monitored by addiction medicine.")
    assert a.decision == "overridden" and a.allows_orders


def test_only_a_prescriber_signs(patient, staff):
    _, a = make_eligible(patient, staff, sign=False)
    with pytest.raises(ScreeningError, match="prescriber"):
        services.sign_assessment(actor=actor(staff["nurse"]), assessment=a, decision="accept")


def test_signed_consult_is_read_only(patient, staff):
    consult, _ = make_eligible(patient, staff)
    with pytest.raises(ScreeningError, match="read-only"):
        services.add_trial(actor=actor(staff["nurse"]), consult=consult, drug="x", dose="", weeks="4",
                           adequate_dose=True, outcome="no_response")


def test_bad_intake_values_are_refused(patient, staff):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    with pytest.raises(ScreeningError) as e:
        services.update_intake(actor=actor(staff["nurse"]), consult=consult, data={
            "diagnoses": ["Z99.9"], "baseline_systolic_mmHg": "500", "baseline_diastolic_mmHg": "80",
            "weight_kg": "700"})
    assert {"diagnoses", "weight_kg"} <= set(e.value.errors)
    consult.refresh_from_db()
    assert consult.diagnoses == []


def test_baseline_scale_is_scored_and_item9_flagged(patient, staff):
    consult = services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")
    answers = {f"q{i}": 2 for i in range(1, 10)} | {"q9": 1}
    row = services.record_scale(actor=actor(staff["nurse"]), consult=consult, scale="phq9", answers=answers)
    assert row.total == 17 and row.flags[0]["code"] == "phq9_item9"
    with pytest.raises(ScreeningError):
        services.record_scale(actor=actor(staff["nurse"]), consult=consult, scale="phq9", answers={"q1": 7})


def test_consult_page_shows_reasons_and_sign_form(patient, staff, client_for):
    consult, a = make_eligible(patient, staff, flags=["psychosis"], sign=False)
    body = client_for("prescriber").get(reverse("screening:detail", args=[consult.external_id])).content.decode()
    assert "Needs prescriber review" in body and "SPR-PI §5.2" in body and "Sign: accept" in body
    r = client_for("prescriber").post(reverse("screening:sign", args=[a.external_id]),
                                      {"decision": "accept", "override_reason": "Remote single episode, stable 10y."})
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.decision == "overridden"
    assert AuditEntry.objects.filter(action="eligibility.signed").exists()


def test_worklist_and_start_from_chart(patient, staff, client_for):
    r = client_for("nurse").post(reverse("screening:start", args=[patient.external_id]), {"drug": "esketamine"})
    assert r.status_code == 302
    body = client_for("nurse").get(reverse("screening:list")).content.decode()
    assert patient.legal_family_name in body and "Esketamine" in body
