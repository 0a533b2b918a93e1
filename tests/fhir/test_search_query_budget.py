"""Exact query budgets of the facade's hot paths, and that they do not grow with the record: a patient's vital
signs cost the same number of queries with one dosing session or three.

Each budget is ours (listed per URL) + 1 for the bearer token's lookup + what writing one audit entry costs
(auth.audit_access: savepoints, chain head, insert, chain head update), measured in the same test so a change in
the audit app's own work does not read as ours."""

from __future__ import annotations

import pytest

from ketaclinic.treatments.models import VitalsReading
from tests import factories as f
from tests.fhir import resource_world
from tests.fhir.conftest import bearer
from tests.treatments.factories import make_rooms

pytestmark = pytest.mark.django_db
TOKEN = 1


def audit_entry_cost(request_factory, token) -> int:
    """The queries one audit entry of a FHIR request takes, as auth.audit_access writes it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ketaclinic.fhir import auth

    request = request_factory.get("/fhir/R4/Patient", **bearer(token))
    grant = auth.authorize(request, "Patient", "s")
    with CaptureQueriesContext(connection) as ctx:
        auth.audit_access(grant, request, resource_type="Patient", interaction="s", count=0)
    return len(ctx.captured_queries)


@pytest.fixture
def setting(client, fhir_token, clinic, patient, staff):
    rooms = make_rooms(clinic)
    world = resource_world.build(patient, staff, rooms)
    token = fhir_token(clinic)
    client.get(f"/fhir/R4/Patient/{patient.external_id}", **bearer(token))  # warm: per-process look-ups done
    return client, token, patient, staff, rooms, world


def urls(p) -> dict[str, tuple[str, int]]:
    """url -> its budget beyond the token and the audit entry."""
    return {
        # clinic, the readings (sessions and patients joined), the patient named in the audit entry
        f"/fhir/R4/Observation?patient={p.external_id}&code=http://loinc.org|8867-4": 3,
        # clinic, readings, session weights, desk measurements, patient
        f"/fhir/R4/Observation?patient={p.external_id}&category=vital-signs": 5,
        # + administrations with their answers (2), session ratings (a page large enough to reach them all: a
        # full page stops before the later sources and costs less)
        f"/fhir/R4/Observation?patient={p.external_id}&_count=500": 8,
        # the patient (its clinic joined)
        f"/fhir/R4/Patient/{p.external_id}": 1,
        # clinic, readings, the included patients
        f"/fhir/R4/Observation?patient={p.external_id}&code=8867-4&_include=Observation:patient": 3,
    }


def test_budgets_hold_and_do_not_grow_with_the_record(setting, django_assert_num_queries, rf):
    client, token, patient, staff, rooms, world = setting
    overhead = TOKEN + audit_entry_cost(rf, token)
    for url, ours in urls(patient).items():
        with django_assert_num_queries(ours + overhead):
            assert client.get(url, **bearer(token)).status_code == 200
    before = VitalsReading.objects.filter(session__patient=patient).count()
    for days in (5, 3):  # two more visits, on the clinic's working days
        f.dosed_session(patient, staff, start=f.open_day(patient.clinic, -days), rooms=rooms, end="discharged")
    assert VitalsReading.objects.filter(session__patient=patient).count() > before
    for url, ours in urls(patient).items():
        with django_assert_num_queries(ours + overhead):
            assert client.get(url, **bearer(token)).status_code == 200
