"""A patient's allergies reach the doctor who receives our record: the free text the clinic wrote on the patient's
record comes back as one AllergyIntolerance, word for word (trimmed), never split or coded; a blank field gives
none (not recorded is not "no allergies"); "No known drug allergies" comes back as written. It is read, searched by
patient, part of Patient/$everything and of the bulk export, seen only by the clinic's own clients holding the
AllergyIntolerance scope, and audited. Every record is written through the patient registry's services."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.fhir import codes, validate
from ketaclinic.fhir.models import ExportJob
from ketaclinic.fhir.tasks import run_export_job
from ketaclinic.patients import services as patients
from tests.fhir.conftest import bearer

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"
PENICILLIN = "Penicillin (anaphylaxis, 2019)\r\nSulfa drugs: hives\n\tlatex?"
NKDA = "No known drug allergies"


def valid(data: dict) -> dict:
    """The resource as sent: a valid R4B AllergyIntolerance, and nothing validate.py objects to."""
    assert data["resourceType"] == "AllergyIntolerance"
    AllergyIntolerance.model_validate(data)
    assert validate.problems(data) == [], validate.problems(data)
    return data


def read(client, token, patient) -> dict:
    response = client.get(f"{BASE}AllergyIntolerance/{patient.external_id}-allergies", **bearer(token))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return valid(json.loads(response.content))


def search(client, token, **params) -> list[dict]:
    response = client.get(f"{BASE}AllergyIntolerance", params, **bearer(token))
    assert response.status_code == 200, response.content
    data = json.loads(response.content)
    assert data["resourceType"] == "Bundle" and data["type"] == "searchset"
    return [e["resource"] for e in data.get("entry", []) if e["search"]["mode"] == "match"]


def write_allergies(patient, text, actor_for):
    """The front desk edits the patient's record (the registry's own use case)."""
    return patients.update_patient(actor=actor_for("front_desk"), patient=patient, data={"allergies": text})


@pytest.fixture
def token(fhir_token, clinic):
    return fhir_token(clinic)


@pytest.fixture
def allergic(make_patient):
    return make_patient(legal_given_name="Ada", allergies=PENICILLIN)


@pytest.fixture
def unrecorded(make_patient):
    return make_patient(legal_given_name="Blank")


def test_the_recorded_text_comes_back_exactly_and_uncoded(client, token, allergic):
    data = read(client, token, allergic)
    assert data["id"] == f"{allergic.external_id}-allergies"
    assert data["code"] == {"text": PENICILLIN}  # line breaks and tab kept; no coding made up from the text
    assert data["patient"]["reference"] == f"Patient/{allergic.external_id}"
    assert data["clinicalStatus"]["coding"] == [
        {"system": codes.ALLERGY_CLINICAL, "code": "active", "display": "Active"}
    ]
    assert data["verificationStatus"]["coding"] == [
        {"system": codes.ALLERGY_VERIFICATION, "code": "unconfirmed", "display": "Unconfirmed"}
    ]
    assert data["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-allergyintolerance"
    ]
    # the patient row keeps no time of its last change, so no recorded date is invented
    assert "recordedDate" not in data and "recorder" not in data
    assert set(data) == {
        "resourceType",
        "id",
        "meta",
        "clinicalStatus",
        "verificationStatus",
        "code",
        "patient",
    }


def test_surrounding_blanks_are_trimmed_and_an_edit_is_sent_as_it_now_reads(
    client, token, allergic, actor_for
):
    write_allergies(allergic, "  \n Codeine (vomiting)  \n", actor_for)
    assert read(client, token, allergic)["code"] == {"text": "Codeine (vomiting)"}


def test_no_known_drug_allergies_comes_back_as_written_without_a_code(client, token, make_patient):
    none_known = make_patient(allergies=NKDA)
    data = read(client, token, none_known)
    assert data["code"] == {"text": NKDA}
    assert data["clinicalStatus"]["coding"][0]["code"] == "active"
    assert data["verificationStatus"]["coding"][0]["code"] == "unconfirmed"


def test_a_blank_field_gives_no_resource(client, token, unrecorded, make_patient, actor_for):
    """Nothing recorded is not "no allergies": no AllergyIntolerance at all, so the receiver asks."""
    blanks = make_patient(legal_given_name="Spaces")
    write_allergies(blanks, " \r\n\t ", actor_for)
    for p in (unrecorded, blanks):
        r = client.get(f"{BASE}AllergyIntolerance/{p.external_id}-allergies", **bearer(token))
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
        assert search(client, token, patient=str(p.external_id)) == []
    everything = client.get(f"{BASE}Patient/{unrecorded.external_id}/$everything", **bearer(token)).json()
    assert "AllergyIntolerance" not in {e["resource"]["resourceType"] for e in everything["entry"]}
    whole = client.get(f"{BASE}AllergyIntolerance", **bearer(token)).json()
    assert whole["total"] == 0 and "entry" not in whole


def test_paging_past_blank_records_neither_repeats_nor_skips_a_list(client, token, make_patient, actor_for):
    """The search skips earlier pages in the database, counting rows: a record whose field holds only blanks is
    no row there, so the one list in the clinic is on the first page and only there."""
    blanks = make_patient(legal_given_name="Spaces")
    write_allergies(blanks, " \r\n\t ", actor_for)
    allergic = make_patient(legal_given_name="Ada", allergies=PENICILLIN)
    first = search(client, token, _count="1")
    assert [r["id"] for r in first] == [f"{allergic.external_id}-allergies"]
    assert search(client, token, _count="1", _offset="1") == []


def test_allergies_cleared_on_the_record_are_no_longer_sent(client, token, allergic, actor_for):
    read(client, token, allergic)
    write_allergies(allergic, "", actor_for)
    assert (
        client.get(f"{BASE}AllergyIntolerance/{allergic.external_id}-allergies", **bearer(token)).status_code
        == 404
    )


def test_search_by_patient_finds_that_patients_allergies_only(
    client, token, allergic, unrecorded, make_patient
):
    other = make_patient(legal_given_name="Cy", allergies="Ibuprofen")
    (found,) = search(client, token, patient=f"Patient/{allergic.external_id}")
    assert found["id"] == f"{allergic.external_id}-allergies" and found["code"]["text"] == PENICILLIN
    assert [r["code"]["text"] for r in search(client, token, patient=str(other.external_id))] == ["Ibuprofen"]
    both = search(
        client, token, patient=f"{allergic.external_id},{unrecorded.external_id},{other.external_id}"
    )
    assert {r["id"] for r in both} == {f"{allergic.external_id}-allergies", f"{other.external_id}-allergies"}
    for r in both:
        valid(r)
    everyone = client.get(f"{BASE}AllergyIntolerance", **bearer(token)).json()
    assert everyone["total"] == 2


def test_search_includes_the_patient_and_refuses_what_it_does_not_offer(client, token, allergic):
    response = client.get(
        f"{BASE}AllergyIntolerance",
        {"patient": str(allergic.external_id), "_include": "AllergyIntolerance:patient"},
        **bearer(token),
    )
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in response.json()["entry"]]
    assert modes == [("match", "AllergyIntolerance"), ("include", "Patient")]
    # no coded allergies, no recorded date: a code or date search would only ever find nothing, so it is refused
    for param, value in (("code", "91936005"), ("date", "2026"), ("_lastUpdated", "2026"), ("subject", "x")):
        r = client.get(f"{BASE}AllergyIntolerance", {param: value}, **bearer(token))
        assert (
            r.status_code == 400
            and f"Unknown search parameter {param!r}" in r.json()["issue"][0]["diagnostics"]
        )


def test_another_clinics_client_gets_404_and_finds_nothing(client, fhir_token, allergic):
    from ketaclinic.clinic.models import Clinic

    elsewhere = Clinic.objects.create(name="Other Clinic", time_zone="America/Denver")
    token = fhir_token(elsewhere)
    r = client.get(f"{BASE}AllergyIntolerance/{allergic.external_id}-allergies", **bearer(token))
    assert r.status_code == 404 and PENICILLIN not in r.content.decode()
    assert search(client, token, patient=str(allergic.external_id)) == []
    assert search(client, token) == []


def test_a_token_without_the_allergy_scope_is_refused_and_one_with_it_reads(
    client, fhir_token, clinic, allergic
):
    url = f"{BASE}AllergyIntolerance/{allergic.external_id}-allergies"
    without = fhir_token(clinic, "system/Patient.rs system/Condition.rs")
    for r in (client.get(url, **bearer(without)), client.get(f"{BASE}AllergyIntolerance", **bearer(without))):
        assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden"
        assert PENICILLIN not in r.content.decode()
    # $everything brings only the types the token may search
    everything = client.get(f"{BASE}Patient/{allergic.external_id}/$everything", **bearer(without)).json()
    assert "AllergyIntolerance" not in {e["resource"]["resourceType"] for e in everything["entry"]}
    only = fhir_token(clinic, "system/AllergyIntolerance.rs")
    assert read(client, only, allergic)["code"]["text"] == PENICILLIN
    assert len(search(client, only, patient=str(allergic.external_id))) == 1
    read_only = fhir_token(clinic, "system/AllergyIntolerance.r")
    assert client.get(url, **bearer(read_only)).status_code == 200
    assert client.get(f"{BASE}AllergyIntolerance", **bearer(read_only)).status_code == 403


@pytest.mark.parametrize(
    "changes, found",
    [
        (
            {"clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL, "code": "active"}]}},
            "clinicalStatus",
        ),
        (
            {"verificationStatus": {"coding": [{"system": codes.ALLERGY_VERIFICATION, "code": "maybe"}]}},
            "outside",
        ),
        ({"clinicalStatus": None}, "ait-1"),
        (
            {
                "verificationStatus": {
                    "coding": [{"system": codes.ALLERGY_VERIFICATION, "code": "entered-in-error"}]
                }
            },
            "ait-2",
        ),
        ({"code": {"text": " "}}, "code"),
    ],
)
def test_validate_catches_a_wrong_allergy_status_or_a_missing_code(changes, found):
    data = {
        "resourceType": "AllergyIntolerance",
        "id": "x-allergies",
        "clinicalStatus": codes.ALLERGY_ACTIVE.concept(),
        "verificationStatus": codes.ALLERGY_UNCONFIRMED.concept(),
        "code": {"text": NKDA},
        "patient": {"reference": "Patient/x"},
    }
    assert validate.problems(data) == []
    data = {k: v for k, v in {**data, **changes}.items() if v is not None}
    assert any(found in p for p in validate.problems(data)), validate.problems(data)


def test_each_read_and_search_is_audited_with_the_patient(client, token, allergic):
    last = AuditEntry.objects.order_by("-seq").first().seq
    read(client, token, allergic)
    search(client, token, patient=str(allergic.external_id))
    entries = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq"))
    assert [e.action for e in entries] == [AuditAction.FHIR_READ, AuditAction.FHIR_SEARCHED]
    assert all(e.patient_id == allergic.pk for e in entries)
    assert [e.details["resource_type"] for e in entries] == ["AllergyIntolerance"] * 2
    assert entries[1].details["count"] == 1


def test_patient_everything_carries_the_allergies(client, token, allergic):
    data = client.get(f"{BASE}Patient/{allergic.external_id}/$everything", **bearer(token)).json()
    (allergy,) = [
        e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "AllergyIntolerance"
    ]
    assert valid(allergy)["code"] == {"text": PENICILLIN}
    assert data["entry"][0]["resource"]["id"] == str(allergic.external_id)


# ------------------------------------------------------------------------------------------------ bulk export
def export(
    client, token, django_capture_on_commit_callbacks, url=f"{BASE}$export", **params
) -> dict[str, list]:
    """Kick off an export, run its job as the worker would, and read back every file: type -> its resources."""
    with django_capture_on_commit_callbacks(execute=False):
        kick = client.get(url, params, HTTP_PREFER="respond-async", **bearer(token))
    assert kick.status_code == 202, kick.content
    job = ExportJob.objects.get(external_id=kick["Content-Location"].rsplit("/", 1)[1])
    assert run_export_job.call(job.pk) == "complete"
    manifest = client.get(kick["Content-Location"], **bearer(token)).json()
    out: dict[str, list] = {}
    for item in manifest["output"]:
        body = b"".join(client.get(item["url"], **bearer(token)).streaming_content).decode()
        out.setdefault(item["type"], []).extend(json.loads(line) for line in body.splitlines())
    return out


def test_a_system_export_holds_each_recorded_list_and_no_blank_one(
    client, token, allergic, unrecorded, export_dir, django_capture_on_commit_callbacks
):
    files = export(client, token, django_capture_on_commit_callbacks, _type="AllergyIntolerance")
    (allergy,) = files["AllergyIntolerance"]
    assert valid(allergy)["id"] == f"{allergic.external_id}-allergies"
    assert allergy["code"] == {"text": PENICILLIN}
    assert str(unrecorded.external_id) not in json.dumps(files)


def test_patient_and_group_exports_carry_the_allergies(
    client, token, allergic, unrecorded, export_dir, django_capture_on_commit_callbacks
):
    for url in (f"{BASE}Patient/$export", f"{BASE}Group/all-patients/$export"):
        files = export(client, token, django_capture_on_commit_callbacks, url=url)
        assert [valid(r)["code"]["text"] for r in files["AllergyIntolerance"]] == [PENICILLIN], url
        assert {r["id"] for r in files["Patient"]} == {str(allergic.external_id), str(unrecorded.external_id)}


def test_an_export_without_the_allergy_scope_leaves_them_out(
    client, fhir_token, clinic, allergic, export_dir, django_capture_on_commit_callbacks
):
    token = fhir_token(clinic, "system/Patient.rs")
    refused = client.get(
        f"{BASE}$export", {"_type": "AllergyIntolerance"}, HTTP_PREFER="respond-async", **bearer(token)
    )
    assert refused.status_code == 403 and "AllergyIntolerance" in refused.json()["issue"][0]["diagnostics"]
    files = export(client, token, django_capture_on_commit_callbacks)
    assert set(files) == {"Patient"} and PENICILLIN not in json.dumps(files)
