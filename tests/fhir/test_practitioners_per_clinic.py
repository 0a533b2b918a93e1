"""Practitioner and PractitionerRole are the staff who hold a role at the client's clinic, not the whole install's: a
nurse of clinic B is unknown (404) to clinic A's client in read, search, _include and the bulk export, clinic A's own
staff are there, and someone who works at both is in both directories with the roles held at each."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.fhir import validate
from ketaclinic.fhir.models import ExportJob
from ketaclinic.fhir.tasks import run_export_job
from ketaclinic.patients import services as patients
from tests.fhir import resource_world
from tests.fhir.conftest import bearer
from tests.treatments.factories import make_rooms

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"


@pytest.fixture
def two_clinics(patient, staff, clinic, make_user):
    """Clinic A's record (its staff at work), and clinic B with a nurse who registered and charted only its own
    patient."""
    resource_world.build(patient, staff, make_rooms(clinic))
    clinic_b = Clinic.objects.create(name="Clinic B", time_zone="America/Denver")
    b_nurse = make_user("nurse", username="b_only_nurse", at=clinic_b)
    b_desk = make_user("front_desk", username="b_desk", at=clinic_b)
    b_patient = patients.register_patient(
        actor=Actor.for_user(b_desk), clinic=clinic_b,
        data={"legal_given_name": "Bo", "legal_family_name": "Bee", "date_of_birth": date(1980, 1, 2),
              "sex_at_birth": "male"}, confirm_duplicate=True)
    patients.add_diagnosis(actor=Actor.for_user(b_nurse), patient=b_patient, code="F33.2")
    return {"a_nurse": staff["nurse"], "b_nurse": b_nurse, "clinic_b": clinic_b}


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    entries = json.loads(response.content).get("entry", [])
    for e in entries:
        assert validate.problems(e["resource"]) == []
    return {e["resource"]["id"] for e in entries}


def test_a_nurse_of_another_clinic_is_not_found_in_read_or_search(client, two_clinics, fhir_token, clinic):
    token = fhir_token(clinic)
    a_nurse, b_nurse = two_clinics["a_nurse"], two_clinics["b_nurse"]
    assert client.get(f"{BASE}Practitioner/{b_nurse.external_id}", **bearer(token)).status_code == 404
    assert client.get(f"{BASE}PractitionerRole/{b_nurse.external_id}-nurse", **bearer(token)).status_code == 404
    assert client.get(f"{BASE}Practitioner/{a_nurse.external_id}", **bearer(token)).status_code == 200
    found = ids(client.get(f"{BASE}Practitioner", {"_count": 500}, **bearer(token)))
    assert str(a_nurse.external_id) in found and str(b_nurse.external_id) not in found
    roles = ids(client.get(f"{BASE}PractitionerRole", {"_count": 500}, **bearer(token)))
    assert f"{a_nurse.external_id}-nurse" in roles and f"{b_nurse.external_id}-nurse" not in roles
    # clinic B's client sees its own nurse, and not clinic A's
    token_b = fhir_token(two_clinics["clinic_b"])
    assert client.get(f"{BASE}Practitioner/{b_nurse.external_id}", **bearer(token_b)).status_code == 200
    assert client.get(f"{BASE}Practitioner/{a_nurse.external_id}", **bearer(token_b)).status_code == 404


def test_the_bulk_export_lists_only_the_clinics_staff(client, two_clinics, fhir_token, clinic, export_dir,
                                                      django_capture_on_commit_callbacks):
    token = fhir_token(clinic)
    with django_capture_on_commit_callbacks(execute=False):
        kick = client.get(f"{BASE}$export", {"_type": "Practitioner,PractitionerRole"}, **bearer(token),
                          HTTP_PREFER="respond-async")
    assert kick.status_code == 202, kick.content
    job = ExportJob.objects.get(external_id=kick["Content-Location"].rsplit("/", 1)[1])
    assert run_export_job.call(job.pk) == "complete"
    manifest = json.loads(client.get(kick["Content-Location"], **bearer(token)).content)
    exported = set()
    for item in manifest["output"]:
        body = b"".join(client.get(item["url"], **bearer(token)).streaming_content).decode()
        exported |= {json.loads(line)["id"] for line in body.splitlines()}
    b_nurse, a_nurse = two_clinics["b_nurse"], two_clinics["a_nurse"]
    assert str(a_nurse.external_id) in exported and f"{a_nurse.external_id}-nurse" in exported
    assert not {i for i in exported if i.startswith(str(b_nurse.external_id))}


def test_someone_who_works_at_both_clinics_is_in_both_directories_with_the_roles_held_at_each(
        client, two_clinics, fhir_token, clinic, make_user):
    """A prescriber hired today is listed before their first chart entry; one who is also a nurse at clinic B is a
    prescriber in clinic A's directory and a nurse in clinic B's, never the other way round."""
    from ketaclinic.accounts.services import grant_role

    new = make_user("prescriber", username="new_prescriber")
    grant_role(actor=Actor.system("test: a second clinic's grant"), user=new, clinic=two_clinics["clinic_b"],
               role="nurse")
    for token, held, not_held in ((fhir_token(clinic), "prescriber", "nurse"),
                                  (fhir_token(two_clinics["clinic_b"]), "nurse", "prescriber")):
        assert client.get(f"{BASE}Practitioner/{new.external_id}", **bearer(token)).status_code == 200
        roles = ids(client.get(f"{BASE}PractitionerRole", {"_count": 500}, **bearer(token)))
        assert f"{new.external_id}-{held}" in roles and f"{new.external_id}-{not_held}" not in roles
        assert client.get(f"{BASE}PractitionerRole/{new.external_id}-{not_held}", **bearer(token)).status_code == 404
