"""validate.py catches what fhir.resources lets through (engineering.md B3), and the OperationOutcome answer."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.observation import Observation

from ketaclinic.fhir import codes, validate
from ketaclinic.fhir.outcome import operation_outcome


def heart_rate(**changes) -> dict:
    data = {
        "resourceType": "Observation", "id": "x", "status": "final",
        "meta": {"profile": [codes.VITAL_PROFILES["8867-4"]]},
        "category": [codes.VITAL_SIGNS_CATEGORY.concept()],
        "code": codes.HEART_RATE.concept(), "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2026-06-17T10:00:00-06:00",
        "valueQuantity": codes.quantity(72, codes.UNIT_PER_MIN),
    }
    data.update(changes)
    Observation.model_validate(data)  # fhir.resources itself accepts every one of these
    return data


def test_a_correct_heart_rate_passes():
    assert validate.problems(heart_rate()) == []


@pytest.mark.parametrize("changes, found", [
    ({"status": "finalized"}, "required value set"),
    ({"valueQuantity": codes.quantity(72, ("beats/min", "bpm"))}, "UCUM"),
    ({"category": [codes.SURVEY_CATEGORY.concept()]}, "vital-signs category"),
    ({"meta": {}}, "profile"),
    ({"code": {"coding": [{"system": "http://loinc.org/", "code": "8867-4", "display": "Heart rate"}]}},
     "unknown code system"),
    ({"code": {"coding": [{"system": codes.LOINC, "code": "12345-6", "display": "made up"}]}}, "code table"),
])
def test_what_fhir_resources_lets_through_is_caught(changes, found):
    assert any(found in p for p in validate.problems(heart_rate(**changes)))


def test_a_patient_gender_outside_the_value_set_is_caught():
    assert validate.problems({"resourceType": "Patient", "gender": "woman"})


def test_every_code_in_the_table_names_its_source():
    for code in codes.all_codes():
        assert code.source.strip(), code


def test_operation_outcome_response():
    response = operation_outcome(400, "invalid", "Bad date 'yesterday'.", expression="date")
    assert response.status_code == 400 and response["Content-Type"] == "application/fhir+json"
    body = json.loads(response.content)
    assert body == {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": "Bad date 'yesterday'.", "expression": ["date"]}]}
    with pytest.raises(ValueError):
        operation_outcome(400, "bad-code", "x")
