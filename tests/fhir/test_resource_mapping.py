"""Every resource type the facade emits, built from a record reached through the app's services, serialised as we
send it, parsed back by fhir.resources (structure) and checked by ketaclinic.fhir.validate (required bindings,
units, code systems, US Core vital-signs codes); then what the records say is what the resources say."""

from __future__ import annotations

import importlib
import json

import pytest

from ketaclinic.fhir import codes, validate
from ketaclinic.fhir.registry import TYPES
from tests.fhir import resource_world
from tests.treatments.factories import make_rooms

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(patient, staff, clinic):
    return resource_world.build(patient, staff, make_rooms(clinic))


def r4b_class(name: str):
    """The R4B model class of a resource type, found by name (not the class the mapper used)."""
    return getattr(importlib.import_module(f"fhir.resources.R4B.{name.lower()}"), name)


def emitted(clinic, name: str) -> list[dict]:
    """Every resource of a type for the clinic, as the JSON we send, parsed back and validated."""
    rt = TYPES[name]
    out = []
    for row in rt.rows(clinic.pk):
        for resource in rt.to_fhir(row):
            text = resource.model_dump_json(exclude_none=True)
            data = json.loads(text)
            assert data["resourceType"] == name
            parsed = r4b_class(name).model_validate_json(text)
            assert parsed.id == data["id"]
            assert validate.problems(data) == [], (data["id"], validate.problems(data))
            assert "null" not in text
            out.append(data)
    return out


def by_code(resources, code):
    return [r for r in resources if any(c.get("code") == code for c in r["code"]["coding"])]


def test_every_type_emits_valid_resources(world, clinic):
    for name in TYPES:
        resources = emitted(clinic, name)
        assert resources, f"no {name} emitted for a clinic with a full record"
        ids = [r["id"] for r in resources]
        assert len(ids) == len(set(ids)), f"duplicate {name} ids"


def test_vital_signs_are_us_core_with_the_readings_values(world, clinic):
    from ketaclinic.treatments.models import VitalsReading

    obs = emitted(clinic, "Observation")
    session = world["session"]
    readings = list(VitalsReading.objects.filter(session=session).order_by("pk"))
    bps = [o for o in by_code(obs, "85354-9") if o["encounter"]["reference"] == f"Encounter/{session.external_id}"]
    assert len(bps) == len([r for r in readings if r.systolic_mmHg is not None])
    first = readings[0]
    bp = next(o for o in bps if o["id"] == f"{session.external_id}-v1-bp")
    comps = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in bp["component"]}
    assert comps["8480-6"] == {"value": first.systolic_mmHg, "unit": "mmHg", "system": codes.UCUM, "code": "mm[Hg]"}
    assert comps["8462-4"]["value"] == first.diastolic_mmHg
    assert bp["category"][0]["coding"][0]["code"] == "vital-signs"
    assert bp["meta"]["profile"] == ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"]
    hr = next(o for o in obs if o["id"] == f"{session.external_id}-v1-hr")
    assert hr["valueQuantity"]["value"] == first.heart_rate_bpm and hr["valueQuantity"]["code"] == "/min"
    spo2 = next(o for o in obs if o["id"] == f"{session.external_id}-v1-spo2")
    assert {c["code"] for c in spo2["code"]["coding"]} >= {"59408-5", "2708-6"}
    assert spo2["valueQuantity"] == {"value": first.spo2_percent, "unit": "%", "system": codes.UCUM, "code": "%"}
    weight = next(o for o in obs if o["id"] == f"{session.external_id}-weight")
    assert weight["valueQuantity"]["value"] == float(session.weight_kg) and weight["valueQuantity"]["code"] == "kg"
    heights = by_code(obs, "8302-2")
    assert heights and all(h["valueQuantity"]["code"] == "cm" for h in heights)
    assert all(o["subject"]["reference"] == f"Patient/{session.patient.external_id}" for o in obs)


def test_phq9_total_and_items_carry_loinc_codes(world, clinic):
    phq = world["phq"]
    obs = emitted(clinic, "Observation")
    total = next(o for o in obs if o["id"] == f"{phq.external_id}-total")
    assert total["code"]["coding"][0] == {"system": codes.LOINC, "code": "44261-6", "display": "PHQ-9 total score"}
    assert total["valueInteger"] == phq.total == 8
    assert total["category"][0]["coding"][0]["code"] == "survey"
    assert len(total["hasMember"]) == 9
    item9 = next(o for o in obs if o["id"] == f"{phq.external_id}-q9")
    assert item9["code"]["coding"][0]["code"] == "44260-8"
    assert item9["valueCodeableConcept"]["coding"][0]["code"] == "LA6568-5"  # "Not at all"
    gad_total = next(o for o in obs if o["id"] == f"{world['gad'].external_id}-total")
    assert gad_total["code"]["coding"][0]["code"] == "70274-6" and gad_total["valueInteger"] == 5
    qr = next(r for r in emitted(clinic, "QuestionnaireResponse") if r["id"] == str(phq.external_id))
    assert qr["status"] == "completed" and qr["questionnaire"].endswith(":phq9")
    assert {i["linkId"]: i["answer"][0]["valueCoding"]["code"] for i in qr["item"]}["q1"] == "LA6570-1"


def test_session_rating_total_and_item(world, clinic):
    sid = world["transferred"].external_id
    obs = {o["id"]: o for o in emitted(clinic, "Observation")}
    total, item = obs[f"{sid}-r1-total"], obs[f"{sid}-r1-level"]
    assert total["valueInteger"] == world["rating"].total == 4
    assert total["code"]["coding"] == [{"system": codes.LOCAL_SCALE, "code": "moaas", "display": "MOAA/S"}]
    assert total["hasMember"] == [{"reference": f"Observation/{sid}-r1-level"}]
    assert item["valueInteger"] == 4 and item["note"][0]["text"] == "Timepoint: At peak (~40 min)"


def test_conditions_icd10_and_entered_in_error(world, clinic):
    conds = {c["code"]["coding"][0]["code"]: c for c in emitted(clinic, "Condition")}
    assert conds["F33.2"]["code"]["coding"][0]["system"] == codes.ICD10CM
    assert conds["F33.2"]["clinicalStatus"]["coding"][0]["code"] == "active"
    wrong = conds["F43.12"]
    assert wrong["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in wrong


def test_medication_request_and_administration(world, clinic):
    session = world["session"]
    admin = next(r for r in emitted(clinic, "MedicationAdministration") if r["id"] == str(session.external_id))
    assert admin["status"] == "completed"
    assert admin["dosage"]["route"]["coding"][0] == {"system": codes.SNOMED, "code": "47625008",
                                                      "display": "Intravenous route"}
    assert admin["dosage"]["dose"] == {"value": float(session.administered_mg), "unit": "mg", "system": codes.UCUM,
                                       "code": "mg"}
    assert admin["dosage"]["rateQuantity"]["code"] == "mL/h"
    assert admin["contained"][0]["batch"]["lotNumber"] == session.lot_number
    functions = {p["function"]["coding"][0]["code"]: p["actor"]["reference"] for p in admin["performer"]}
    assert functions["verifier"] == f"Practitioner/{session.verified_by.external_id}"
    assert admin["request"]["reference"] == f"MedicationRequest/{session.order.external_id}"
    req = next(r for r in emitted(clinic, "MedicationRequest") if r["id"] == str(session.order.external_id))
    assert req["status"] == "active" and req["intent"] == "order"


def test_encounter_note_provenance_and_adverse_event(world, clinic):
    session = world["session"]
    enc = next(e for e in emitted(clinic, "Encounter") if e["id"] == str(session.external_id))
    assert enc["status"] == "finished" and enc["class"]["code"] == "AMB"
    note = next(d for d in emitted(clinic, "DocumentReference") if d["id"] == f"{session.external_id}-note")
    assert note["docStatus"] == "final"
    prov = next(p for p in emitted(clinic, "Provenance") if p["id"] == f"{session.external_id}-note-signature")
    assert [s["who"]["reference"] for s in prov["signature"]] == [
        f"Practitioner/{session.nurse_signed_by.external_id}", f"Practitioner/{session.prescriber_signed_by.external_id}"]
    ae = emitted(clinic, "AdverseEvent")
    assert ae[0]["severity"]["coding"][0]["code"] == "severe"
    assert ae[0]["encounter"]["reference"] == f"Encounter/{world['transferred'].external_id}"


def test_find_gives_back_the_row_of_every_id(world, clinic):
    """Every id we emit reads back to the same resource (what the read view relies on)."""
    for name, rt in TYPES.items():
        for row in rt.rows(clinic.pk):
            for resource in rt.to_fhir(row):
                found = rt.find(clinic.pk, resource.id)
                assert found is not None, (name, resource.id)
                again = [r for r in rt.to_fhir(found) if r.id == resource.id]
                assert again and again[0].model_dump_json() == resource.model_dump_json(), (name, resource.id)


def test_a_scale_without_loinc_answers_is_answered_with_its_questionnaires_own_coding(world, clinic):
    gad = world["gad"]
    qr = next(r for r in emitted(clinic, "QuestionnaireResponse") if r["id"] == str(gad.external_id))
    (form,) = [q for q in emitted(clinic, "Questionnaire") if q["id"] == "gad7"]
    options = {(o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in form["item"][0]["answerOption"]}
    answers = {i["linkId"]: i["answer"][0] for i in qr["item"]}
    assert all("valueInteger" not in a for a in answers.values())
    q1 = answers["q1"]["valueCoding"]
    assert (q1["system"], q1["code"]) in options and q1["system"] == codes.LOCAL_SCALE_ITEM
    assert q1["code"] == str(resource_world.GAD7["q1"])
    phq = next(r for r in emitted(clinic, "QuestionnaireResponse") if r["id"] == str(world["phq"].external_id))
    assert all(i["answer"][0]["valueCoding"]["system"] == codes.LOINC for i in phq["item"])
