"""AdverseEvent (treatments.AdverseEvent, recorded during a session)."""

from __future__ import annotations

from fhir.resources.R4B.adverseevent import AdverseEvent

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import child_id, instant, patient_ref, practitioner_ref, ref
from ketaclinic.fhir.mappers.medications import medication


def adverse_event(e) -> list[AdverseEvent]:
    """One adverse event (its session, patient and order loaded; ``fhir_n`` annotated)."""
    s = e.session
    severity = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}[e.severity]
    detail = [x for x in (e.description, e.action_taken and f"Action taken: {e.action_taken}",
                          e.rescue_medication and f"Rescue medication: {e.rescue_medication}") if x]
    outcome = None
    if e.resolved_at is not None:
        outcome = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                               "code": "resolved", "display": "Resolved"}]}
    return [AdverseEvent(
        id=child_id(s.external_id, "ae", e.fhir_n),
        actuality="actual",
        event={"coding": [{"system": codes.LOCAL_ADVERSE_EVENT, "code": e.kind, "display": e.get_kind_display()}],
               "text": "; ".join([e.get_kind_display(), *detail])},
        subject=patient_ref(s.patient),
        encounter=ref("Encounter", s.external_id),
        date=instant(e.onset_at),
        detected=instant(e.onset_at),
        recorder=practitioner_ref(e.recorded_by),
        severity={"coding": [{"system": codes.AE_SEVERITY, "code": e.severity, "display": severity}]},
        outcome=outcome,
        suspectEntity=[{"instance": {"reference": f"MedicationAdministration/{s.external_id}",
                                     "display": medication(s.drug, s.get_drug_display())["text"]}}]
        if s.dose_started_at else None,
    )]
