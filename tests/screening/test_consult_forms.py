"""The consult's POSTs (start, intake, trials, baseline scales, the prescriber's signature) are read by
screening/forms.py: a refusal shows the page again with the message next to the field, and nothing changes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.screening import services
from ketaclinic.screening.models import BaselineScale, Consult, EligibilityAssessment
from tests.treatments.factories import actor, make_eligible

pytestmark = pytest.mark.django_db


@pytest.fixture
def consult(patient, staff):
    return services.start_consult(actor=actor(staff["nurse"]), patient=patient, drug="ketamine")


def _message(body: str, element_id: str) -> str:
    start = body.index(f'id="{element_id}"')
    return body[start:body.index("</", start)]


def _intake_unchanged(consult):
    consult.refresh_from_db()
    assert consult.weight_kg is None and consult.diagnoses == []
    assert not AuditEntry.objects.filter(action="consult.intake.updated").exists()


@pytest.mark.parametrize("typed", ["NaN", "1e3", "seventy"])
def test_a_weight_that_is_not_a_plain_number_is_refused_next_to_the_field(client_for, consult, typed):
    response = client_for("nurse").post(reverse("screening:intake", args=[consult.external_id]),
                                        {"weight_kg": typed, "diagnoses": ["F33.2"]})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Weight (kg) must be a plain number" in _message(body, "c-w-error")
    assert f'value="{typed}"' in body  # what was typed stays, to correct it
    _intake_unchanged(consult)


def test_an_implausible_weight_names_the_range_next_to_the_field(client_for, consult, clinic):
    response = client_for("nurse").post(reverse("screening:intake", args=[consult.external_id]),
                                        {"weight_kg": "7000", "diagnoses": ["F33.2"]})
    message = _message(response.content.decode(), "c-w-error")
    assert "Weight (kg) must be from" in message and "Check the units." in message
    _intake_unchanged(consult)


def test_a_diagnosis_outside_the_list_is_refused(client_for, consult):
    response = client_for("nurse").post(reverse("screening:intake", args=[consult.external_id]),
                                        {"diagnoses": ["F33.2", "Z99.99"]})
    assert response.context["intake_form"].errors["diagnoses"] == ["Z99.99 is not in the clinic's ICD-10-CM list."]
    _intake_unchanged(consult)


def test_implausible_baseline_vitals_are_refused_next_to_the_field(client_for, consult):
    response = client_for("nurse").post(reverse("screening:intake", args=[consult.external_id]),
                                        {"baseline_systolic_mmHg": "1200", "baseline_diastolic_mmHg": "80"})
    assert response.status_code == 200
    assert response.context["intake_form"].errors["baseline_systolic_mmHg"]
    assert 'id="c-sys-error"' in response.content.decode()
    _intake_unchanged(consult)


@pytest.mark.parametrize("data,field,message", [
    ({"drug": "", "weeks": "8", "outcome": "no_response"}, "drug", "Name the drug or treatment."),
    ({"drug": "sertraline", "weeks": "1e3", "outcome": "no_response"}, "weeks", "Weeks must be a plain number"),
    ({"drug": "sertraline", "weeks": "600", "outcome": "no_response"}, "weeks", "Weeks must be from 0 to 520."),
    ({"drug": "sertraline", "weeks": "8", "outcome": "cured"}, "outcome", "Choose the response."),
])
def test_a_trial_with_a_bad_entry_is_refused_next_to_the_field(client_for, consult, data, field, message):
    response = client_for("nurse").post(reverse("screening:add_trial", args=[consult.external_id]), data)
    assert response.status_code == 200
    assert message in _message(response.content.decode(), f"trial-{field}-error")
    assert not consult.trials.exists()


@pytest.mark.parametrize("typed,message", [("7", "answer 7 is out of range 0-3"),
                                           ("x", "&#x27;x&#x27; is not one of the answer options.")])
def test_a_baseline_answer_outside_the_options_is_refused_next_to_the_item(client_for, consult, typed, message):
    data = {"scale": "phq9", **{f"phq9-q{i}": "1" for i in range(1, 10)}, "phq9-q4": typed}
    response = client_for("nurse").post(reverse("screening:add_scale", args=[consult.external_id]), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in _message(body, "phq9-q4-error")
    assert '<option value="1" selected>' in body  # the other answers are kept
    assert not BaselineScale.objects.exists()


def test_accepting_a_review_without_a_reason_is_refused_next_to_the_reason(patient, staff, client_for):
    consult, a = make_eligible(patient, staff, flags=["psychosis"], sign=False)
    response = client_for("prescriber").post(reverse("screening:sign", args=[a.external_id]),
                                             {"decision": "accept", "override_reason": "ok"})
    assert response.status_code == 200
    assert "at least 10 characters" in _message(response.content.decode(), f"ov-{a.pk}-error")
    a.refresh_from_db()
    assert a.signed_at is None and a.decision == EligibilityAssessment.Decision.PENDING


def test_an_unknown_sign_decision_is_refused(patient, staff, client_for):
    consult, a = make_eligible(patient, staff, sign=False)
    response = client_for("prescriber").post(reverse("screening:sign", args=[a.external_id]), {"decision": "maybe"})
    assert "Choose accept or decline." in response.content.decode()
    a.refresh_from_db()
    assert a.signed_at is None


def test_starting_a_consult_for_an_unknown_drug_shows_the_chart_with_the_message(patient, client_for):
    response = client_for("nurse").post(reverse("screening:start", args=[patient.external_id]), {"drug": "psilocybin"})
    assert response.status_code == 200
    assert "Choose ketamine or esketamine." in _message(response.content.decode(), "consult-start-drug-error")
    assert not Consult.objects.exists()


def test_the_intake_form_shows_what_is_recorded(patient, staff, client_for):
    consult, _ = make_eligible(patient, staff, flags=["psychosis"], sign=False)
    body = client_for("nurse").get(reverse("screening:detail", args=[consult.external_id])).content.decode()
    assert '<option value="F33.2" selected>' in body
    assert 'name="history_flags" value="psychosis" checked' in body
    assert 'name="weight_kg" inputmode="decimal" value="70.00"' in body


def test_a_consult_weight_that_looks_like_pounds_is_saved_with_the_warning_shown(client_for, consult, staff):
    from ketaclinic.patients.services import record_measurement

    record_measurement(actor=actor(staff["nurse"]), patient=consult.patient, unit="metric", weight=70, height=None)
    response = client_for("nurse").post(reverse("screening:intake", args=[consult.external_id]),
                                        {"weight_kg": "154.3", "diagnoses": ["F33.2"]}, follow=True)
    body = response.content.decode()
    assert "Intake saved." in body and "looks like pounds entered as kilograms" in body
    assert "msg-warning" in body  # shown as a warning, not as a confirmation
    consult.refresh_from_db()
    assert str(consult.weight_kg) == "154.30"  # a warning, not a refusal: the nurse re-weighs and corrects it
