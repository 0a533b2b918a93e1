"""Encounter: treatment sessions (dosing visits), integration sessions and booked appointments (consults,
follow-ups)."""

from __future__ import annotations

from datetime import timedelta

from fhir.resources.R4B.encounter import Encounter

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import instant, patient_ref, practitioner_ref, ref

#: TreatmentSession.Status -> Encounter.status (required binding encounter-status).
SESSION_STATUS = {
    "booked": "planned", "checked_in": "arrived", "pre_checks": "in-progress", "dosing": "in-progress",
    "observation": "in-progress", "ready_for_discharge": "in-progress", "discharged": "finished",
    "cancelled": "cancelled", "no_show": "cancelled", "transferred": "finished",
}
INTEGRATION_STATUS = {"offered": "planned", "booked": "planned", "completed": "finished", "declined": "cancelled",
                      "cancelled": "cancelled"}
APPOINTMENT_STATUS = {"booked": "planned", "cancelled": "cancelled", "no_show": "cancelled"}


def _type(code: str, label: str) -> list[dict]:
    return [{"coding": [{"system": codes.LOCAL_ENCOUNTER_TYPE, "code": code, "display": label}], "text": label}]


def _participant(user) -> list[dict] | None:
    return [{"individual": practitioner_ref(user)}] if user is not None else None


def treatment_session(s) -> list[Encounter]:
    start = s.checked_in_at or s.scheduled_start
    end = s.discharged_at or s.transferred_at
    if end is None and SESSION_STATUS[s.status] == "planned":
        end = s.scheduled_end
    hospitalization = None
    if s.status == "transferred":
        hospitalization = {"dischargeDisposition": {"text": f"Transferred to emergency care: {s.transfer_note}"}}
    people = [u for u in (s.prescriber_signed_by, s.nurse_signed_by, s.administered_by) if u is not None]
    seen, participants = set(), []
    for u in people:
        if u.pk not in seen:
            seen.add(u.pk)
            participants.append({"individual": practitioner_ref(u)})
    return [Encounter(
        id=str(s.external_id),
        status=SESSION_STATUS[s.status],
        class_fhir=codes.AMBULATORY.coding(),
        type=_type("treatment", f"{s.get_drug_display()} treatment session {s.sequence}"),
        subject=patient_ref(s.patient),
        participant=participants or None,
        period={"start": instant(start), "end": instant(end)},
        location=[{"location": {"display": str(s.chair) if s.chair_id else s.room.name}}] if s.room_id else None,
        hospitalization=hospitalization,
    )]


def integration_session(i) -> list[Encounter]:
    start = i.scheduled_start or i.window_start
    end = start + timedelta(minutes=i.scheduled_minutes) if i.scheduled_start else i.window_end
    return [Encounter(
        id=str(i.external_id),
        status=INTEGRATION_STATUS[i.status],
        class_fhir=codes.AMBULATORY.coding(),
        type=_type("integration", "Integration session"),
        subject=patient_ref(i.patient),
        participant=_participant(i.therapist),
        period={"start": instant(start), "end": instant(end)},
        partOf=ref("Encounter", i.dosing_session.external_id),
        location=[{"location": {"display": i.room.name}}] if i.room_id else None,
    )]


def appointment(a) -> list[Encounter]:
    """A booked consult or follow-up (treatment and integration appointments are their sessions' Encounters)."""
    return [Encounter(
        id=str(a.external_id),
        status=APPOINTMENT_STATUS[a.status],
        class_fhir=codes.AMBULATORY.coding(),
        type=_type(a.type.code, a.type.label),
        subject=patient_ref(a.patient),
        participant=_participant(a.clinician),
        period={"start": instant(a.start), "end": instant(a.end)},
        location=[{"location": {"display": a.room.name}}],
    )]
