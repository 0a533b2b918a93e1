"""The facade over HTTP: CapabilityStatement, read with ETag, search (patient, code, date prefixes, _lastUpdated,
_count with next links, _include), Patient/$everything, and bad input answered with a 400 OperationOutcome."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from ketaclinic.fhir import validate
from ketaclinic.treatments.models import VitalsReading
from tests.fhir import module_clinic, resource_world
from tests.fhir.conftest import bearer
from tests.treatments.factories import make_rooms

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"


#: Each test's part of the module's world: the test clinic with tests/fhir/resource_world.py's records, built once
#: for the module (tests/fhir/module_clinic.py), under the names of the conftest fixtures.
built = module_clinic.module_world(lambda clinic, staff, patient: {
    "world": resource_world.build(patient, staff, make_rooms(clinic))})
here, clinic, staff, patient = module_clinic.here, module_clinic.clinic, module_clinic.staff, module_clinic.patient


@pytest.fixture
def world(here):
    return here["world"]


@pytest.fixture
def token(fhir_token, clinic):
    return fhir_token(clinic)


def get(client, url, token, **params):
    response = client.get(BASE + url, params, **bearer(token))
    assert response["Content-Type"].startswith("application/fhir+json") or response.status_code == 304
    return response


def bundle(response) -> dict:
    assert response.status_code == 200, response.content
    data = json.loads(response.content)
    Bundle.model_validate(data)
    assert data["type"] == "searchset"
    for entry in data.get("entry", []):
        assert validate.problems(entry["resource"]) == []
    return data


def outcome(response, status: int) -> str:
    assert response.status_code == status, response.content
    data = json.loads(response.content)
    assert data["resourceType"] == "OperationOutcome"
    return data["issue"][0]["diagnostics"]


def test_capability_statement_lists_what_is_served(client, token):
    response = get(client, "metadata", token)
    statement = CapabilityStatement.model_validate_json(response.content)
    assert statement.fhirVersion == "4.0.1" and statement.format == ["json"]
    resources = {r.type: r for r in statement.rest[0].resource}
    allergies = resources["AllergyIntolerance"]
    assert {p.name for p in allergies.searchParam} == {"patient", "_count"}
    assert [i.code for i in allergies.interaction] == ["read", "search-type"]
    assert "AllergyIntolerance" not in statement.rest[0].documentation, (
        "AllergyIntolerance is served: views.metadata must not list it under 'Not served'")
    obs = resources["Observation"]
    assert {p.name for p in obs.searchParam} >= {"patient", "code", "date", "_lastUpdated", "category", "_count"}
    assert [i.code for i in obs.interaction] == ["read", "search-type"]
    assert obs.versioning == "no-version"
    assert resources["Patient"].operation[0].name == "everything"
    # The bulk data operations and the import are listed because they are routed (access_urls).
    assert {op.name for op in statement.rest[0].operation} == {"export", "patient-export", "group-export"}
    assert [i.code for i in statement.rest[0].interaction] == ["transaction"]


def test_no_token_or_a_staff_session_gets_nothing(client, client_for, world):
    pid = world["session"].patient.external_id
    assert "Bearer" in outcome(client.get(f"{BASE}Patient/{pid}"), 401)
    staff_browser = client_for("prescriber")
    response = staff_browser.get(f"{BASE}Patient/{pid}")
    assert response.status_code in (401, 403)
    assert str(pid) not in response.content.decode()


def test_read_patient_with_etag(client, token, world):
    p = world["session"].patient
    response = get(client, f"Patient/{p.external_id}", token)
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["identifier"][0]["value"] == p.mrn and data["birthDate"] == p.date_of_birth.isoformat()
    tag = response["ETag"]
    assert tag.startswith('W/"')
    again = client.get(f"{BASE}Patient/{p.external_id}", HTTP_IF_NONE_MATCH=tag, **bearer(token))
    assert again.status_code == 304


def test_heart_rates_of_a_patient_by_code_and_date(client, token, world):
    s = world["session"]
    readings = list(VitalsReading.objects.filter(session__patient=s.patient, heart_rate_bpm__isnull=False))
    data = bundle(get(client, "Observation", token, patient=f"Patient/{s.patient.external_id}",
                      code="http://loinc.org|8867-4"))
    values = sorted(e["resource"]["valueQuantity"]["value"] for e in data["entry"])
    assert values == sorted(r.heart_rate_bpm for r in readings)
    assert data["total"] == len(readings)
    # Date prefixes: the first session's day only, then everything after it.
    day = timezone.localtime(s.dose_started_at).date()
    on_day = bundle(get(client, "Observation", token, patient=str(s.patient.external_id), code="8867-4",
                        date=f"eq{day.isoformat()}"))
    assert {e["resource"]["encounter"]["reference"] for e in on_day["entry"]} == {f"Encounter/{s.external_id}"}
    later = bundle(get(client, "Observation", token, patient=str(s.patient.external_id), code="8867-4",
                       date=f"gt{day.isoformat()}"))
    assert len(later["entry"]) == len(readings) - len(on_day["entry"])
    assert f"Encounter/{s.external_id}" not in {e["resource"]["encounter"]["reference"] for e in later["entry"]}
    both = bundle(get(client, f"Observation?date=ge{day.isoformat()}&date=le{day.isoformat()}&code=8867-4", token))
    assert len(both["entry"]) == len(on_day["entry"])
    none = bundle(get(client, "Observation", token, code="8867-4", date=f"lt{(day - timedelta(days=30)).isoformat()}"))
    assert "entry" not in none


def test_paging_with_next_links_visits_every_match_once(client, token, world):
    pid = world["session"].patient.external_id
    whole = bundle(get(client, "Observation", token, patient=str(pid), category="vital-signs"))
    expected = [e["resource"]["id"] for e in whole["entry"]]
    assert len(expected) > 6
    seen, url, pages = [], f"{BASE}Observation?patient={pid}&category=vital-signs&_count=4", 0
    while url:
        page = bundle(client.get(url, **bearer(token)))
        pages += 1
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
        url = nxt[0] if nxt else None
    assert seen == expected
    assert pages == -(-len(expected) // 4)


def test_count_zero_gives_no_entries_and_no_next_link(client, token, world):
    data = bundle(get(client, "Observation", token, _count="0"))
    assert "entry" not in data and [link["relation"] for link in data["link"]] == ["self"]


def test_include_patient(client, token, world):
    p = world["session"].patient
    data = bundle(get(client, "Observation", token, patient=str(p.external_id), code="44261-6",
                      _include="Observation:patient"))
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in data["entry"]]
    assert modes == [("match", "Observation"), ("include", "Patient")]
    assert data["entry"][0]["resource"]["valueInteger"] == world["phq"].total


def test_last_updated(client, token, world):
    pid = world["session"].patient.external_id
    # PHQ-9, GAD-7 and the MOAA/S rating were recorded now (the test clock), the vitals two weeks ago.
    recent = bundle(get(client, "Observation", token, patient=str(pid), category="survey",
                        _lastUpdated=f"ge{(timezone.localdate() - timedelta(days=1)).isoformat()}"))
    assert {e["resource"]["id"] for e in recent["entry"] if e["resource"]["id"].endswith("-total")} == {
        f"{world['phq'].external_id}-total", f"{world['gad'].external_id}-total",
        f"{world['transferred'].external_id}-r1-total"}
    old = bundle(get(client, "Observation", token, patient=str(pid), code="8867-4",
                     _lastUpdated=f"ge{(timezone.localdate() - timedelta(days=1)).isoformat()}"))
    assert "entry" not in old


def test_everything(client, token, world):
    p = world["session"].patient
    data = bundle(get(client, f"Patient/{p.external_id}/$everything", token))
    types = {e["resource"]["resourceType"] for e in data["entry"]}
    assert {"Patient", "Observation", "Condition", "MedicationRequest", "MedicationAdministration", "Encounter",
            "QuestionnaireResponse", "DocumentReference", "AdverseEvent", "AllergyIntolerance"} <= types
    assert data["entry"][0]["resource"]["id"] == str(p.external_id)


@pytest.mark.parametrize("url, status, says", [
    ("Observation?colour=blue", 400, "Unknown search parameter 'colour'"),
    ("Observation?date=yesterday", 400, "not a FHIR date"),
    ("Observation?date=2026-13-01", 400, "not a real date"),
    ("Observation?date=xx2026-01-01", 400, "optionally prefixed by eq, ne, lt, le, gt or ge"),
    ("Observation?date=2026-01-01T10:00%2B25:00", 400, "not a time-zone offset"),
    ("Observation?date=2026-01-01T10:00+25:00", 400, "not a FHIR date"),  # an unescaped + is a space
    ("Observation?_lastUpdated=2026-02-30", 400, "not a real date"),
    ("Observation?_count=many", 400, "not a whole number"),
    ("Observation?code:text=heart", 400, "modifiers are not supported"),
    ("Observation?_include=Observation:performer", 400, "Observation:patient only"),
    ("Observation?_format=xml", 406, "JSON only"),
    ("Observation?patient=Practitioner/1", 400, "not a Patient reference"),
    ("Patient?date=2026", 400, "Unknown search parameter 'date'"),
    ("Widget", 404, "not a resource type"),
    ("Patient/not-a-uuid", 404, "not known here"),
    ("Observation/x/_history", 404, "No versions"),
])
def test_bad_input_is_a_clear_operation_outcome(client, token, world, url, status, says):
    assert says in outcome(client.get(BASE + url, **bearer(token)), status)


def test_writes_are_refused(client, token, world):
    response = client.post(f"{BASE}Observation", data="{}", content_type="application/fhir+json", **bearer(token))
    assert "read-only" in outcome(response, 405)


def test_a_scope_for_one_type_does_not_open_another(client, fhir_token, clinic, world):
    token = fhir_token(clinic, "system/Patient.rs")
    assert get(client, f"Patient/{world['session'].patient.external_id}", token).status_code == 200
    assert "does not allow it to search Observation" in outcome(client.get(f"{BASE}Observation", **bearer(token)), 403)


def test_another_clinics_token_cannot_see_this_clinics_records(client, fhir_token, world, actor_for):
    """404, not 403: the other clinic's token is told nothing about whether the id exists (the same answer as for an
    id that was never issued), and searches simply do not find the records."""
    from ketaclinic.clinic.models import Clinic

    other = Clinic.objects.create(name="Other Clinic", time_zone="America/Denver")
    token = fhir_token(other)
    p = world["session"].patient
    outcome(client.get(f"{BASE}Patient/{p.external_id}", **bearer(token)), 404)
    outcome(client.get(f"{BASE}Observation/{world['phq'].external_id}-total", **bearer(token)), 404)
    assert "entry" not in bundle(get(client, "Observation", token, patient=str(p.external_id)))
    assert "entry" not in bundle(get(client, "Patient", token))
    outcome(client.get(f"{BASE}Patient/{p.external_id}/$everything", **bearer(token)), 404)


def test_each_request_is_audited_once_with_the_client_and_the_count(client, token, world):
    from ketaclinic.audit.actions import AuditAction
    from ketaclinic.audit.models import AuditEntry

    p = world["session"].patient
    last = AuditEntry.objects.order_by("-seq").first().seq
    data = bundle(get(client, "Observation", token, patient=str(p.external_id), code="8867-4"))
    get(client, f"Patient/{p.external_id}", token)
    entries = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq"))
    assert [e.action for e in entries] == [AuditAction.FHIR_SEARCHED, AuditAction.FHIR_READ]
    assert entries[0].details["count"] == len(data["entry"]) and entries[0].patient_id == p.pk
    assert entries[0].actor_id is None and "fhir client" in entries[0].actor_label
    assert entries[1].details["resource_type"] == "Patient" and entries[1].patient_id == p.pk


@pytest.mark.parametrize("method, url, allow", [
    ("get", "/fhir/R4/", "POST"), ("get", "/fhir/R4/auth/token", "POST"),
    ("post", "/fhir/R4/$export-status/00000000-0000-4000-8000-000000000000", "GET, DELETE"),
    ("head", "/fhir/R4/$export", "GET"), ("post", "/fhir/R4/Patient/$export", "GET"),
    ("put", "/fhir/R4/.well-known/smart-configuration", "GET, HEAD")])
def test_a_method_a_route_does_not_take_gets_a_405_operation_outcome(client, method, url, allow):
    response = getattr(client, method)(url)
    assert response.status_code == 405 and response["Allow"] == allow
    assert response["Content-Type"] == "application/fhir+json"
    if method != "head":
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("path", ["patient", "Patient/" + "a" * 65, "Patient/x/$nothing", "Observation/x/y/z"])
def test_an_unrouted_fhir_path_gets_a_404_operation_outcome(client, clinic, fhir_token, path):
    response = client.get(f"/fhir/R4/{path}", **bearer(fhir_token(clinic)))
    assert response.status_code == 404 and response["Content-Type"] == "application/fhir+json"
    assert json.loads(response.content)["issue"][0]["code"] == "not-found"
    assert client.get(f"/fhir/R4/{path}").status_code == 401  # no token: nothing is told


def test_a_deep_page_skips_its_offset_in_the_database_and_matches_the_whole_list(client, token, make_patient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(8):
        make_patient(legal_given_name=f"Paged{n}")
    whole = bundle(get(client, "Patient", token, _count="500"))
    expected = [e["resource"]["id"] for e in whole["entry"]]
    assert len(expected) >= 8
    for offset in (0, 3, len(expected) - 2, len(expected) + 5):
        with CaptureQueriesContext(connection) as queries:
            page = bundle(get(client, "Patient", token, _count="4", _offset=str(offset)))
        assert [e["resource"]["id"] for e in page.get("entry", [])] == expected[offset:offset + 4], offset
        if 0 < offset < len(expected):
            assert any(f"OFFSET {offset}" in q["sql"] for q in queries.captured_queries), offset
