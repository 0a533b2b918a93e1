"""Importing a transaction Bundle (a clinic moving to KetaClinic): Patients with Conditions, weight and height
Observations and scale QuestionnaireResponses are written through the app's own use cases, all or nothing; a bad
entry is named (index and fullUrl) in an OperationOutcome and nothing at all is written."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures.models import Administration
from ketaclinic.patients.models import BodyMeasurement, Diagnosis, Patient
from tests.fhir.conftest import bearer

pytestmark = pytest.mark.django_db

PHQ9 = {"q1": 2, "q2": 2, "q3": 1, "q4": 1, "q5": 0, "q6": 1, "q7": 1, "q8": 0, "q9": 0}
CREATE = "system/Patient.c system/Condition.c system/Observation.c system/QuestionnaireResponse.c"


def when(days_ago: int) -> str:
    return (timezone.now() - timedelta(days=days_ago)).replace(microsecond=0).isoformat()


def entry(full_url, resource):
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def patient(n, family="Moved", given="Jordan"):
    return entry(f"urn:uuid:00000000-0000-4000-8000-00000000000{n}", {
        "resourceType": "Patient", "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female", "birthDate": "1984-03-0" + str(n),
        "telecom": [{"system": "email", "value": f"p{n}@example.invalid"}]})


def subject(n):
    return {"reference": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"}


def condition(n, code="F33.2"):
    return entry(f"urn:uuid:c{n}", {
        "resourceType": "Condition", "subject": subject(n),
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
        "onsetDateTime": "2025-01-10"})


def weight(n, kg=72.4):
    return entry(f"urn:uuid:w{n}", {
        "resourceType": "Observation", "status": "final", "subject": subject(n), "effectiveDateTime": when(3),
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "valueQuantity": {"value": kg, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}})


def phq9(n, answers=PHQ9):
    return entry(f"urn:uuid:q{n}", {
        "resourceType": "QuestionnaireResponse", "status": "completed", "subject": subject(n),
        "questionnaire": "urn:ketaclinic:questionnaire:phq9", "authored": when(2),
        "item": [{"linkId": k, "answer": [{"valueInteger": v}]} for k, v in answers.items()]})


def bundle(*entries):
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def post(client, token, body):
    return client.post("/fhir/R4/", json.dumps(body), content_type="application/fhir+json", **bearer(token))


def test_a_bundle_is_loaded_through_the_apps_use_cases(client, clinic, fhir_token):
    token = fhir_token(clinic, CREATE)
    response = post(client, token, bundle(patient(1), condition(1), weight(1), phq9(1), patient(2, given="Riley")))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "transaction-response" and len(body["entry"]) == 5
    assert all(e["response"]["status"] == "201 Created" for e in body["entry"])
    jordan = Patient.objects.get(legal_given_name="Jordan")
    assert body["entry"][0]["response"]["location"] == f"Patient/{jordan.external_id}"
    assert jordan.clinic == clinic and jordan.mrn.startswith("KC") and jordan.email == "p1@example.invalid"
    assert list(Diagnosis.objects.filter(patient=jordan).values_list("code", flat=True)) == ["F33.2"]
    assert BodyMeasurement.objects.get(patient=jordan).weight_kg == Decimal("72.40")
    phq = Administration.objects.get(patient=jordan)
    assert (phq.scale, phq.total) == ("phq9", 8)
    assert Patient.objects.filter(legal_given_name="Riley").exists()
    imported = AuditEntry.objects.get(action="fhir.imported")
    assert "fhir client" in imported.actor_label and imported.details["counts"]["Patient"] == 2


def test_a_bad_entry_is_named_and_nothing_is_written(client, clinic, fhir_token):
    token = fhir_token(clinic, CREATE)
    before = AuditEntry.objects.count()
    response = post(client, token, bundle(
        patient(1), condition(1, code="Z99.999"), weight(1, kg=900), phq9(1, answers={"q1": 1}), patient(2),
        entry("urn:uuid:bad", {"resourceType": "Observation", "subject": subject(1)})))
    assert response.status_code == 422 and response["Content-Type"] == "application/fhir+json"
    issues = response.json()["issue"]
    where = [i["expression"][0] for i in issues]
    assert where == ["Bundle.entry[1]", "Bundle.entry[2]", "Bundle.entry[3]", "Bundle.entry[5]"]
    assert "urn:uuid:c1" in issues[0]["diagnostics"] and "Z99.999" in issues[0]["diagnostics"]
    assert "plausible" in issues[1]["diagnostics"]
    assert "urn:uuid:bad" in issues[3]["diagnostics"]
    assert not Patient.objects.exists() and not Diagnosis.objects.exists()
    assert not BodyMeasurement.objects.exists() and not Administration.objects.exists()
    assert list(AuditEntry.objects.order_by("seq").values_list("action", flat=True)[before:]) == \
        ["fhir.import.refused"]


def test_references_must_name_a_patient_of_the_bundle_or_the_clinic(client, clinic, fhir_token, make_patient):
    token = fhir_token(clinic, CREATE)
    known = make_patient()
    existing = condition(9)
    existing["resource"]["subject"] = {"reference": f"Patient/{known.external_id}"}
    response = post(client, token, bundle(existing))
    assert response.status_code == 200
    assert Diagnosis.objects.filter(patient=known).count() == 1
    response = post(client, token, bundle(condition(8)))
    assert response.status_code == 422 and "names no Patient" in response.json()["issue"][0]["diagnostics"]


def test_a_token_without_create_scopes_cannot_import(client, clinic, fhir_token):
    response = post(client, fhir_token(clinic, "system/*.rs system/Patient.c"), bundle(patient(1), condition(1)))
    assert response.status_code == 403 and "Condition" in response.json()["issue"][0]["diagnostics"]
    assert not Patient.objects.exists()


def test_a_staff_session_cannot_import(client_for, clinic):
    r = client_for("clinic_admin").post("/fhir/R4/", json.dumps(bundle(patient(1))),
                                        content_type="application/fhir+json")
    assert r.status_code == 401 and not Patient.objects.exists()


@pytest.mark.parametrize("body, status, says", [
    ({"resourceType": "Patient"}, 400, "Bundle"),
    ({"resourceType": "Bundle", "type": "collection", "entry": []}, 400, "transaction"),
    ({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient"}, "request": {"method": "PUT", "url": "Patient/1"}}]}, 422, "POST"),
    ({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Medication"}, "request": {"method": "POST", "url": "Medication"}}]}, 422,
     "cannot be imported"),
])
def test_malformed_bundles_get_an_operation_outcome(client, clinic, fhir_token, body, status, says):
    response = post(client, fhir_token(clinic, CREATE), body)
    assert response.status_code == status and says in response.json()["issue"][0]["diagnostics"]


def test_an_entry_whose_request_is_not_an_object_is_named(client, clinic, fhir_token):
    bad = patient(1)
    bad["request"] = "POST Patient"
    response = post(client, fhir_token(clinic, CREATE), bundle(bad))
    assert response.status_code == 422 and "POST" in response.json()["issue"][0]["diagnostics"]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field, value", [("onsetDateTime", "2020"), ("onsetDateTime", "2024-05"),
                                          ("authored", "2020"), ("authored", "2024-05"),
                                          ("effectiveDateTime", "2020"), ("effectiveDateTime", "2024-05")])
def test_a_partial_date_is_refused_as_a_named_issue(client, clinic, fhir_token, field, value):
    entries = {"onsetDateTime": condition(1), "authored": phq9(1), "effectiveDateTime": weight(1)}
    target = entries[field]
    target["resource"][field] = value
    response = post(client, fhir_token(clinic, CREATE), bundle(patient(1), target))
    assert response.status_code == 422, response.content
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[1]"] and field in issue["diagnostics"] and value in issue["diagnostics"]
    assert not Patient.objects.exists()


def test_an_import_beyond_the_tokens_scopes_is_audited(client, clinic, fhir_token):
    response = post(client, fhir_token(clinic, "system/Patient.c"), bundle(patient(1), condition(1)))
    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="fhir.import.refused")
    assert entry.details["refused"] == "forbidden" and "Condition" in entry.details["problems"][0]
