"""MedicationRequest (treatments.TreatmentOrder) and MedicationAdministration (a treatment session's dose)."""

from __future__ import annotations

from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import instant, patient_ref, practitioner_ref, ref

#: TreatmentOrder.Status -> MedicationRequest.status (required binding medicationrequest-status).
REQUEST_STATUS = {"draft": "draft", "active": "active", "completed": "completed", "stopped": "stopped",
                  "entered-in-error": "entered-in-error"}


def medication(drug: str, label: str) -> dict:
    return {"coding": [c.coding() for c in codes.DRUG_CODINGS[drug]]
            + [{"system": codes.LOCAL_DRUG, "code": drug, "display": label}], "text": label}


def route(code: str, label: str) -> dict:
    return codes.ROUTES[code].concept(label)


def medication_request(o) -> list[MedicationRequest]:
    dose: dict = {"route": route(o.route, o.get_route_display()), "text": str(o)}
    if o.fixed_dose_mg is not None:
        dose["doseAndRate"] = [{"doseQuantity": codes.quantity(o.fixed_dose_mg, codes.UNIT_MG)}]
    elif o.dose_mg_per_kg is not None:
        dose["doseAndRate"] = [{"doseQuantity": codes.quantity(o.dose_mg_per_kg, codes.UNIT_MG_PER_KG)}]
    if o.infusion_minutes:
        dose["timing"] = {"repeat": {"duration": o.infusion_minutes, "durationUnit": "min"}}
    notes = [n for n in (o.notes, o.dose_override_reason and f"Dose override: {o.dose_override_reason}") if n]
    return [MedicationRequest(
        id=str(o.external_id),
        status=REQUEST_STATUS[o.status],
        intent="order",
        medicationCodeableConcept=medication(o.drug, o.get_drug_display()),
        subject=patient_ref(o.patient),
        authoredOn=instant(o.signed_at or o.created_at),
        requester=practitioner_ref(o.signed_by or o.created_by),
        dosageInstruction=[dose],
        dispenseRequest={"numberOfRepeatsAllowed": max(o.sessions_planned - 1, 0)},
        note=[{"text": n} for n in notes] or None,
    )]


DOSED = ("dosing", "observation", "ready_for_discharge", "discharged", "transferred")


def medication_administration(s) -> list[MedicationAdministration]:
    """The dose of a treatment session once dosing started (status in-progress while dosing, then completed)."""
    if s.dose_started_at is None:
        return []
    finished = s.dose_ended_at is not None
    performers = []
    if s.administered_by_id or s.prepared_by_id:
        performers.append({"function": codes.PERFORMER_FUNCTION_PERFORMER.concept(),
                           "actor": practitioner_ref(s.administered_by or s.prepared_by)})
    if s.verified_by_id:
        performers.append({"function": codes.PERFORMER_FUNCTION_VERIFIER.concept(),
                           "actor": practitioner_ref(s.verified_by)})
    dosage: dict = {"route": route(s.route, s.get_route_display())}
    amount = s.administered_mg if s.administered_mg is not None else s.prepared_dose_mg
    if amount is not None:
        dosage["dose"] = codes.quantity(amount, codes.UNIT_MG)
    if s.rate_mL_per_h is not None and s.route == "iv":
        dosage["rateQuantity"] = codes.quantity(s.rate_mL_per_h, codes.UNIT_ML_PER_H)
    notes = []
    if s.vial_or_device:
        notes.append(f"Vial or device: {s.vial_or_device}")
    if s.devices:
        notes.append(f"Devices: {s.devices}")
    if s.dose_mg_per_kg is not None and s.weight_kg is not None:
        notes.append(f"{s.dose_mg_per_kg.normalize():f} mg/kg at {s.weight_kg.normalize():f} kg")
    return [MedicationAdministration(
        id=str(s.external_id),
        status="completed" if finished else "in-progress",
        contained=[Medication(id="med", code=medication(s.drug, s.get_drug_display()),
                              batch={"lotNumber": s.lot_number} if s.lot_number else None)],
        medicationReference={"reference": "#med", "display": s.get_drug_display()},
        subject=patient_ref(s.patient),
        context=ref("Encounter", s.external_id),
        effectivePeriod={"start": instant(s.dose_started_at), "end": instant(s.dose_ended_at)},
        performer=performers or None,
        request=ref("MedicationRequest", s.order.external_id),
        dosage=dosage,
        note=[{"text": n} for n in notes] or None,
    )]
