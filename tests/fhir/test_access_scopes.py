"""The bearer token over the resource API: its scopes decide the types it reads, its clinic the data it sees, a
revoked client's token stops at once, a staff session opens nothing, and every answered request leaves an audit
entry naming the client."""

from __future__ import annotations

from datetime import date

import pytest

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.fhir import services
from tests.fhir.conftest import bearer

pytestmark = pytest.mark.django_db


def test_a_token_for_observations_cannot_read_patients_or_conditions(client, clinic, patient, fhir_token):
    token = fhir_token(clinic, "system/Observation.rs")
    assert client.get(f"/fhir/R4/Observation?patient={patient.external_id}", **bearer(token)).status_code == 200
    for url in (f"/fhir/R4/Patient/{patient.external_id}", "/fhir/R4/Patient", "/fhir/R4/Condition"):
        r = client.get(url, **bearer(token))
        assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden", url


def test_a_read_only_token_cannot_search(client, clinic, patient, fhir_token):
    token = fhir_token(clinic, "system/Patient.r")
    assert client.get(f"/fhir/R4/Patient/{patient.external_id}", **bearer(token)).status_code == 200
    assert client.get("/fhir/R4/Patient", **bearer(token)).status_code == 403


def test_a_client_of_another_clinic_sees_none_of_this_clinics_patients(client, clinic, patient, fhir_token,
                                                                         actor_for):
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.patients.services import register_patient

    elsewhere = Clinic.objects.create(name="Other Clinic", time_zone=clinic.time_zone)
    theirs = register_patient(actor=actor_for("front_desk"), clinic=elsewhere, confirm_duplicate=True, data={
        "legal_given_name": "Sam", "legal_family_name": "Elsewhere", "date_of_birth": date(1970, 5, 6),
        "sex_at_birth": "male"})
    token = fhir_token(elsewhere)
    assert client.get(f"/fhir/R4/Patient/{patient.external_id}", **bearer(token)).status_code == 404
    found = client.get("/fhir/R4/Patient", **bearer(token)).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [str(theirs.external_id)]


def test_revoking_a_client_refuses_its_token_at_once(client, clinic, patient, fhir_client, staff):
    c = fhir_client(clinic)
    token = c.token()
    url = f"/fhir/R4/Patient/{patient.external_id}"
    assert client.get(url, **bearer(token)).status_code == 200
    services.revoke_client(actor=Actor(user=staff["clinic_admin"], roles=frozenset({"clinic_admin"})), client=c.client)
    r = client.get(url, **bearer(token))
    assert r.status_code == 401 and "revoked" in r.json()["issue"][0]["diagnostics"]


def test_a_staff_session_gets_401_and_a_made_up_token_too(client, client_for, clinic, patient):
    url = f"/fhir/R4/Patient/{patient.external_id}"
    r = client_for("prescriber").get(url)
    assert r.status_code == 401 and r["Content-Type"] == "application/fhir+json"
    assert client.get(url, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401


def test_every_answered_request_is_audited_with_the_clients_identity(client, clinic, patient, fhir_client):
    c = fhir_client(clinic, "system/*.rs")
    client.get(f"/fhir/R4/Patient/{patient.external_id}", **bearer(c.token()))
    entry = AuditEntry.objects.filter(action="fhir.read").get()
    assert c.client_id in entry.actor_label and entry.actor is None
    assert entry.details["client_id"] == c.client_id and entry.details["resource_type"] == "Patient"


def test_including_the_patient_needs_a_patient_scope(client, clinic, patient, fhir_token):
    url = f"/fhir/R4/Observation?patient={patient.external_id}&_include=Observation:patient"
    r = client.get(url, **bearer(fhir_token(clinic, "system/Observation.rs")))
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert "Patient" not in {e["resource"]["resourceType"] for e in r.json().get("entry", [])}
    r = client.get(url, **bearer(fhir_token(clinic, "system/Observation.rs system/Patient.r")))
    assert r.status_code == 200


def test_a_request_beyond_the_tokens_scopes_is_audited_with_the_clients_identity(client, clinic, patient,
                                                                                  fhir_client):
    c = fhir_client(clinic, "system/Observation.rs")
    token = c.token()
    assert client.get("/fhir/R4/Condition", **bearer(token)).status_code == 403
    assert client.get(f"/fhir/R4/Patient/{patient.external_id}", **bearer(token)).status_code == 403
    assert client.get(f"/fhir/R4/Observation?patient={patient.external_id}&_include=Observation:patient",
                      **bearer(token)).status_code == 403
    entries = list(AuditEntry.objects.filter(details__refused="forbidden").order_by("seq"))
    assert [(e.action, e.details["resource_type"]) for e in entries] == [
        ("fhir.searched", "Condition"), ("fhir.read", "Patient"), ("fhir.read", "Patient")]
    assert all(c.client_id in e.actor_label and e.details["client_id"] == c.client_id for e in entries)
