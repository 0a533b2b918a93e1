"""Going home or to emergency care: recovery status, discharge (ready by the clinical core, or a prescriber's
written override; never below the esketamine label's limits), and transfer to emergency care."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import discharge as discharge_rules
from ketaclinic.treatments.models import Route, SessionEvent, TreatmentSession
from ketaclinic.treatments.services._common import (
    CLOSED,
    FINISHED,
    S,
    TreatmentError,
    _dec,
    _lock,
    _roles,
    limits_for,
    use_case,
)
from ketaclinic.treatments.services.dose import dose_given
from ketaclinic.treatments.services.monitoring import add_adverse_event
from ketaclinic.treatments.services.readiness import _refresh_readiness, discharge_decision, observation_clock
from ketaclinic.treatments.services.rems import _complete_rems


@use_case
def record_recovery(*, actor: Actor, session: TreatmentSession, alert_and_oriented: bool,
                    steady_gait: bool) -> TreatmentSession:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record recovery status")
    s = _lock(session)
    s.alert_and_oriented, s.steady_gait = alert_and_oriented, steady_gait
    s.save(update_fields=["alert_and_oriented", "steady_gait"])
    audit.record(actor, AuditAction.SESSION_RECOVERY_RECORDED, subject=s, patient=s.patient,
                 details={"alert_and_oriented": alert_and_oriented, "steady_gait": steady_gait})
    _refresh_readiness(s)
    return s


@use_case
def discharge(*, actor: Actor, session: TreatmentSession, override_reason: str = "") -> TreatmentSession:
    """A nurse discharges when the clinical core says ready; otherwise only a prescriber, with a reason."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="discharge a patient")
    s = _lock(session)
    if s.status in (*FINISHED, *CLOSED):
        raise TreatmentError(f"The session is {s.get_status_display().lower()}.")
    if s.dose_ended_at is None:
        raise TreatmentError("Dosing has not finished.")
    d = discharge_decision(s)
    assert d is not None
    reason = override_reason.strip()
    hard = discharge_hard_limits(s)
    if hard:
        what = ("Esketamine: " if s.route == Route.INTRANASAL else "") + "; ".join(hard)
        raise TreatmentError({"discharge": what + ". No override waives this; if the patient must leave for "
                              "emergency care, record the adverse event and use 'Transfer to emergency care'."})
    if not d.ready:
        if Role.PRESCRIBER not in actor.roles or not reason:
            raise TreatmentError({"discharge": "Not ready for discharge: " + "; ".join(d.missing) + "." + (
                " A prescriber may discharge with a written reason." if Role.PRESCRIBER not in actor.roles else
                " Write the reason to discharge anyway.")})
        if len(reason) < 10:
            raise TreatmentError({"discharge_override_reason": "Write the reason (at least 10 characters)."})
    now = timezone.now()
    s.status = S.DISCHARGED
    s.discharged_at = now
    s.discharged_by = actor.user
    s.discharge_override_reason = reason if not d.ready else ""
    s.discharge_check = {"ready": d.ready, "missing": list(d.missing), "earliest_minutes": d.earliest_minutes,
                         "at": now.isoformat()}
    s.save()
    if s.route == Route.INTRANASAL:
        _complete_rems(s, now)
    audit.record(actor, AuditAction.SESSION_DISCHARGED, subject=s, patient=s.patient,
                 details={"ready": d.ready, "missing": list(d.missing), "override_reason": s.discharge_override_reason})
    from ketaclinic.integration.services import offer_after

    offer_after.within(actor=actor, session=s)
    return s


def discharge_hard_limits(s: TreatmentSession, now: datetime | None = None) -> list[str]:
    """What no override waives before the patient goes home, for every route
    (:func:`ketaclinic.clinical.discharge.discharge_hard_limits`): an escort recorded; for esketamine also the
    label's observation from the last device and the no-driving acknowledgement."""
    if s.route == Route.INTRANASAL:
        return esketamine_discharge_limits(s, now)
    return list(discharge_rules.discharge_hard_limits(
        s.route, 0, escort_present=bool(s.escort_name.strip() and s.escort_phone.strip()),
        no_driving_acknowledged=s.no_driving_acknowledged, settings=limits_for(s.patient)))


def esketamine_discharge_limits(s: TreatmentSession, now: datetime | None = None) -> list[str]:
    """What the esketamine label requires before a patient goes home, which no discharge override can waive
    (:func:`ketaclinic.clinical.discharge.esketamine_discharge_limits`): at least the minimum observation (>= 2 h;
    the clinic setting cannot go below 120) counted from the LAST device, an escort to take the patient home and
    the no-driving acknowledgement (clinical.md §1 'Escort / driving', §3c 'Observation', C label)."""
    now = now or timezone.now()
    clock = observation_clock(s)
    minutes = discharge_rules.minutes_since(clock, now) if clock else 0
    return list(discharge_rules.esketamine_discharge_limits(
        minutes, escort_present=bool(s.escort_name.strip() and s.escort_phone.strip()),
        no_driving_acknowledged=s.no_driving_acknowledged, settings=limits_for(s.patient)))


@use_case
def transfer_to_emergency(*, actor: Actor, session: TreatmentSession, adverse_event: Mapping[str, object],
                          note: str, administered_mg: object = None) -> TreatmentSession:
    """The patient leaves for emergency care (not discharged home): allowed at any time after dosing started,
    and only with the adverse event recorded. Dosing is ended if still running; an esketamine session gets a
    REMS form marked with the adverse event and the transfer."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="transfer a patient to emergency care")
    s = _lock(session)
    if s.status in (*FINISHED, *CLOSED) or s.dose_started_at is None:
        raise TreatmentError("Only a session in which dosing has started can be transferred to emergency care.")
    note = note.strip()
    if not note:
        raise TreatmentError({"transfer_note": "Record where the patient is transferred and how (e.g. ambulance "
                              "to the emergency department)."})
    if not str(adverse_event.get("kind", "") or "").strip():
        raise TreatmentError({"kind": "Record the adverse event that requires emergency care."})
    ae = add_adverse_event.within(actor=actor, session=s, data=adverse_event)
    now = timezone.now()
    if s.dose_ended_at is None:
        if administered_mg not in (None, ""):
            mg = _dec(administered_mg, "administered_mg", "Administered dose (mg)")
        else:  # what the events say ran (the pump's rate x running time; devices x 28 mg), not the prepared dose
            given = dose_given(s, now)
            mg = given if given is not None else s.prepared_dose_mg
        if mg is None or mg < 0 or mg > (s.prepared_dose_mg or Decimal(0)):
            raise TreatmentError({"administered_mg": "Administered dose must be between 0 and the prepared dose."})
        s.dose_ended_at, s.administered_mg, s.paused_at = now, mg, None
        SessionEvent.objects.create(session=s, kind=SessionEvent.Kind.STOP, at=now, note="transfer to emergency care",
                                    by=actor.user)
    s.status = S.TRANSFERRED
    s.transferred_at = now
    s.transfer_note = note[:300]
    s.save()
    if s.route == Route.INTRANASAL:
        _complete_rems(s, now, transferred=True)
    audit.record(actor, AuditAction.SESSION_TRANSFERRED_TO_EMERGENCY, subject=s, patient=s.patient,
                 details={"note": s.transfer_note, "adverse_event": ae.kind, "severity": ae.severity,
                          "administered_mg": str(s.administered_mg)})
    return s
