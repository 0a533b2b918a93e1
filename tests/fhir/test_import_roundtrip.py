"""The demo clinic exported with Bulk Data $export (run by the export task) and the NDJSON loaded, as one
transaction Bundle, into a second clinic: the same patients, active diagnoses, desk weights and heights and scale
results come out the other side, each through the app's own use cases."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import override_settings

from ketaclinic.clinic.models import Clinic
from ketaclinic.fhir.models import ExportJob
from ketaclinic.fhir.tasks import run_export_job
from ketaclinic.measures.models import Administration
from ketaclinic.patients.models import BodyMeasurement, Diagnosis, Patient
from tests.demo_world import demo_world
from tests.fhir.conftest import bearer

TYPES = "Patient,Condition,Observation,QuestionnaireResponse"
CREATE = "system/Patient.c system/Condition.c system/Observation.c system/QuestionnaireResponse.c"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with demo_world(django_db_blocker, patients=12):
        yield Clinic.objects.filter(is_demo=True).order_by("pk").first()


def exported(client, token, tmp_path, django_capture_on_commit_callbacks) -> list[dict]:
    with override_settings(FHIR_EXPORT_DIR=tmp_path):
        with django_capture_on_commit_callbacks(execute=False):
            kick = client.get("/fhir/R4/$export", {"_type": TYPES}, HTTP_PREFER="respond-async", **bearer(token))
        assert kick.status_code == 202, kick.content
        assert run_export_job.call(ExportJob.objects.get().pk) == "complete"
        manifest = client.get(kick["Content-Location"], **bearer(token)).json()
        out = []
        for o in manifest["output"]:
            body = b"".join(client.get(o["url"], **bearer(token)).streaming_content).decode()
            out += [json.loads(line) for line in body.splitlines()]
        return out


def as_transaction(resources: list[dict]) -> dict:
    def entry(r):
        full = f"urn:uuid:{r['id']}" if r["resourceType"] == "Patient" else None
        out = {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
        if full:
            out["fullUrl"] = full
        return out

    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry(r) for r in resources]}


def chart_of(clinic):
    def key(p):
        return (p.legal_family_name, p.legal_given_name, p.date_of_birth)

    people = {p.pk: key(p) for p in Patient.objects.filter(clinic=clinic)}
    dx = sorted((people[d.patient_id], d.code) for d in Diagnosis.objects.filter(patient__clinic=clinic,
                                                                                status=Diagnosis.Status.ACTIVE))
    # one desk measurement of weight and height is two Observations, and comes back as two measurements
    # FHIR carries times to the second; the values to two decimals
    bm = [(people[m.patient_id], kind, value.quantize(Decimal("0.01")), m.measured_at.replace(microsecond=0))
          for m in BodyMeasurement.objects.filter(patient__clinic=clinic, status=BodyMeasurement.Status.FINAL)
          for kind, value in (("kg", m.weight_kg), ("cm", m.height_cm)) if value is not None]
    scored = Administration.objects.filter(patient__clinic=clinic,
                                           status__in=(Administration.Status.FINAL, Administration.Status.AMENDED))
    scores = [(people[a.patient_id], a.scale, a.total, a.administered_at.replace(microsecond=0)) for a in scored]
    return sorted(people.values()), dx, sorted(bm, key=str), sorted(scores, key=str)


@pytest.mark.django_db
def test_the_demo_clinic_round_trips_through_export_and_import(demo, client, fhir_token, tmp_path,
                                                               django_capture_on_commit_callbacks):
    resources = exported(client, fhir_token(demo, "system/*.rs"), tmp_path, django_capture_on_commit_callbacks)
    assert {r["resourceType"] for r in resources} == set(TYPES.split(","))
    second = Clinic.objects.create(name="Second Clinic", time_zone=demo.time_zone)
    response = client.post("/fhir/R4/", json.dumps(as_transaction(resources)), content_type="application/fhir+json",
                           **bearer(fhir_token(second, CREATE)))
    assert response.status_code == 200, response.content[:3000]
    people, dx, bm, scores = chart_of(demo)
    assert len(people) >= 12 and dx and bm and scores
    got = chart_of(second)
    for name, mine, theirs in zip(("patients", "diagnoses", "measurements", "scores"), (people, dx, bm, scores), got,
                                  strict=True):
        assert theirs == mine, f"{name} differ after the round trip"
