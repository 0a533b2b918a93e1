"""Condition (patients.Diagnosis, ICD-10-CM, with entered-in-error)."""

from __future__ import annotations

from fhir.resources.R4B.condition import Condition

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import child_id, instant, patient_ref, practitioner_ref

#: patients.Diagnosis.Status -> (clinicalStatus, verificationStatus). An entered-in-error Condition carries no
#: clinicalStatus (FHIR R4 Condition invariant con-5).
STATUS = {"active": ("active", "confirmed"), "resolved": ("resolved", "confirmed"),
          "entered-in-error": (None, "entered-in-error")}


def condition(d) -> list[Condition]:
    clinical, verification = STATUS[d.status]
    notes = [n for n in (d.note, f"Entered in error: {d.error_reason}" if d.error_reason else "") if n]
    return [Condition(
        id=child_id(d.patient.external_id, "dx", d.fhir_n),
        meta={"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns"]},
        clinicalStatus={"coding": [{"system": codes.CONDITION_CLINICAL, "code": clinical}]} if clinical else None,
        verificationStatus={"coding": [{"system": codes.CONDITION_VERIFICATION, "code": verification}]},
        category=[codes.CONDITION_CATEGORY_PROBLEM.concept()],
        code={"coding": [{"system": codes.ICD10CM, "code": d.code, "display": d.label}], "text": d.label},
        subject=patient_ref(d.patient),
        onsetDateTime=d.noted_on.isoformat(),
        recordedDate=instant(d.recorded_at),
        recorder=practitioner_ref(d.recorded_by),
        note=[{"text": n} for n in notes] or None,
    )]
