"""The dose: computed with its working by the clinical core and prepared, verified independently by a second
clinician, started, and the dosing events (pause, resume, rate change, next esketamine device, stop)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import dosing
from ketaclinic.clinical import session as rules
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.treatments.models import (
    Drug,
    Phase,
    RemsForm,
    Route,
    SessionEvent,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services._common import (
    CLOCK_SKEW,
    Refused,
    S,
    TreatmentError,
    _clear_preparation,
    _clinical,
    _dec,
    _lock,
    _roles,
    limits_for,
    use_case,
)
from ketaclinic.treatments.services.orders import _require_dosable, dosing_blockers
from ketaclinic.treatments.services.session import _has_bp, precheck_missing, predose_hold


def compute_dose(s: TreatmentSession, *, concentration: Decimal | None = None, bag: Decimal | None = None,
                 minutes: int | None = None, override_reason: str | None = None) -> dosing.DoseCalculation:
    order = s.order
    cfg = limits_for(s.patient)
    reason = override_reason or order.dose_override_reason or None
    if s.route == Route.INTRANASAL:
        first = not TreatmentSession.objects.filter(patient=s.patient, drug=Drug.ESKETAMINE,
                                                    dose_started_at__isnull=False).exclude(pk=s.pk).exists()
        return dosing.esketamine(int(order.fixed_dose_mg or 0), first_session=first, indication=order.indication,
                                 override_reason=reason, settings=cfg)
    if s.weight_kg is None:
        raise ClinicalInputError("record today's weight first", "weight_kg")
    previous = (s.patient.measurements.filter(status="final").exclude(weight_kg=None)
                .order_by("-measured_at").values_list("weight_kg", flat=True).first())
    conc = float(concentration or order.concentration_mg_per_mL or 0)
    if s.route == Route.IV:
        return dosing.iv_infusion(float(s.weight_kg), float(order.dose_mg_per_kg or 0),
                                  int(minutes or order.infusion_minutes or 0), conc,
                                  float(bag or order.bag_volume_mL or 0),
                                  previous_weight_kg=float(previous) if previous else None,
                                  override_reason=reason, settings=cfg)
    return dosing.im_injection(float(s.weight_kg), float(order.dose_mg_per_kg or 0), conc,
                               previous_weight_kg=float(previous) if previous else None,
                               override_reason=reason, settings=cfg)


@use_case
def prepare_dose(*, actor: Actor, session: TreatmentSession, data: Mapping[str, object]) -> dosing.DoseCalculation:
    """Compute the dose with its working (clinical core), record the vial or device and lot. Any earlier
    verification is cleared: the second clinician verifies what is prepared now."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="prepare a dose")
    s = _lock(session)
    if s.dose_started_at:
        raise TreatmentError("Dosing has started: the prepared dose cannot change.")
    if s.status not in (S.CHECKED_IN, S.PRE_CHECKS):
        raise TreatmentError("Check the patient in first.")
    _require_dosable(s)
    conc = _dec(data.get("concentration_mg_per_mL"), "concentration_mg_per_mL", "Vial concentration (mg/mL)")
    bag = _dec(data.get("bag_volume_mL"), "bag_volume_mL", "Bag volume (mL)")
    vial = str(data.get("vial_or_device", "") or "").strip()[:120]
    lot = str(data.get("lot_number", "") or "").strip()[:40]
    if not lot:
        raise TreatmentError({"lot_number": "Record the lot number of the vial or device used."})
    if not vial:
        raise TreatmentError({"vial_or_device": "Record the vial or device used (product and strength)."})
    try:
        calc = compute_dose(s, concentration=conc, bag=bag, override_reason=str(data.get("override_reason") or "")
                            or None)
    except ClinicalInputError as e:
        raise _clinical(e, "weight_kg") from None
    if calc.blocked:
        raise TreatmentError({"override_reason": " ".join(calc.warnings)})
    _clear_preparation(s)
    s.prepared_dose_mg = Decimal(str(calc.total_mg)).quantize(Decimal("0.01"))
    s.prepared_by = actor.user
    s.prepared_at = timezone.now()
    s.concentration_mg_per_mL = Decimal(str(calc.concentration_mg_per_mL)) if calc.concentration_mg_per_mL else None
    s.bag_volume_mL = Decimal(str(calc.bag_volume_mL)) if calc.bag_volume_mL else None
    s.infusion_minutes = calc.minutes if s.route == Route.IV else None
    s.prepared_volume_mL = Decimal(str(calc.drug_mL)) if calc.drug_mL is not None else None
    s.rate_mL_per_h = Decimal(str(calc.rate_mL_per_h)) if calc.rate_mL_per_h is not None else None
    s.devices = calc.devices
    s.dose_mg_per_kg = Decimal(str(calc.dose_mg_per_kg)) if calc.dose_mg_per_kg is not None else None
    s.dose_working = list(calc.working)
    s.dose_warnings = list(calc.warnings)
    s.dose_override_reason = calc.override_reason or ""
    s.vial_or_device, s.lot_number = vial, lot
    s.save()
    audit.record(actor, "session.dose.prepared", subject=s, patient=s.patient,
                 details={"mg": calc.total_mg, "mL": calc.drug_mL, "rate_mL_per_h": calc.rate_mL_per_h,
                          "devices": calc.devices, "lot": lot, "vial_or_device": vial, "working": list(calc.working)})
    return calc


@use_case
def verify_dose(*, actor: Actor, session: TreatmentSession, weight_kg: object,
                dose_mg: object) -> TreatmentSession | Refused:
    """Independent verification by a second clinician who enters weight and dose themselves. Refused for the
    person who prepared the dose and on any mismatch (tolerances in :mod:`ketaclinic.clinical.session`).

    A refusal is decided inside the transaction and its audit entry committed with it; the refusal is raised only
    after the commit (:class:`Refused`), so the attempt stays in the audit trail (as ``accounts.services.sign_in``
    does)."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="verify a dose")
    s = _lock(session)
    if s.prepared_dose_mg is None:
        raise TreatmentError("No dose has been prepared yet.")
    if s.dose_started_at:
        raise TreatmentError("Dosing has already started.")
    if actor.user_id == s.prepared_by_id:
        audit.record(actor, "session.dose.verification_refused", subject=s, patient=s.patient,
                     details={"reason": "same user as preparer"})
        return Refused(TreatmentError("You prepared this dose: a second clinician, signed in as themselves, must "
                                      "verify it."))
    if s.verified_at:
        raise TreatmentError("This dose is already verified.")
    _require_dosable(s)
    refusal, dose, weight = _verification_errors(s, weight_kg, dose_mg)
    if refusal is not None:
        audit.record(actor, "session.dose.verification_refused", subject=s, patient=s.patient,
                     details={"entered_mg": str(dose if dose is not None else dose_mg)[:40],
                              "entered_kg": str(weight if weight is not None else weight_kg)[:40],
                              "errors": refusal.errors})
        return Refused(refusal)
    s.verified_by = actor.user
    s.verified_at = timezone.now()
    s.verified_weight_kg = weight
    s.verified_dose_mg = dose
    s.save(update_fields=["verified_by", "verified_at", "verified_weight_kg", "verified_dose_mg"])
    audit.record(actor, "session.dose.verified", subject=s, patient=s.patient,
                 details={"dose_mg": str(dose), "weight_kg": str(weight)})
    return s


def _verification_errors(s: TreatmentSession, weight_kg: object, dose_mg: object
                         ) -> tuple[TreatmentError | None, Decimal | None, Decimal | None]:
    """(refusal or None, dose entered, weight entered) for the second clinician's entries."""
    errors: dict[str, str] = {}
    dose = weight = None
    try:
        dose = _dec(dose_mg, "dose_mg", "Dose (mg)")
    except TreatmentError as e:
        errors.update(e.errors)
    else:
        if dose is None:
            errors["dose_mg"] = "Enter the dose you calculated, in mg."
        elif not rules.matches(dose, s.prepared_dose_mg, rules.VERIFY_DOSE_TOLERANCE_MG):
            errors["dose_mg"] = (f"Your dose {dose} mg does not match the prepared dose. Recheck the calculation "
                                 "with the preparing clinician; the dose cannot be started until both agree.")
    if s.route != Route.INTRANASAL:
        try:
            weight = _dec(weight_kg, "weight_kg", "Weight (kg)")
        except TreatmentError as e:
            errors.update(e.errors)
        else:
            if weight is None:
                errors["weight_kg"] = "Enter the weight you read, in kg."
            elif not rules.matches(weight, s.weight_kg or Decimal(0), rules.VERIFY_WEIGHT_TOLERANCE_KG):
                errors["weight_kg"] = f"Your weight {weight} kg does not match the weight recorded today."
    return (TreatmentError(errors) if errors else None), dose, weight


def start_blockers(s: TreatmentSession, pre_rows: list[VitalsReading]) -> list[str]:
    problems = dosing_blockers(s) + precheck_missing(s)
    if not pre_rows:
        problems.append("No pre-dose vital signs recorded")
    elif not _has_bp(pre_rows[-1]):
        problems.append("The latest pre-dose reading has no blood pressure: record systolic and diastolic "
                        "before dosing")
    held = predose_hold(s, pre_rows)
    if held is not None:
        problems.append(f"Pre-dose vitals at {held.level_name.upper()}: a prescriber must override the reading "
                        f"{held.bp or ''} taken {timezone.localtime(held.taken_at):%H:%M} with a reason")
    if s.prepared_dose_mg is None:
        problems.append("Dose not prepared")
    elif s.verified_at is None:
        problems.append("Dose not independently verified by a second clinician")
    return problems


@use_case
def start_dose(*, actor: Actor, session: TreatmentSession, at: datetime | None = None) -> TreatmentSession:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="start dosing")
    s = _lock(session)
    if s.dose_started_at:
        raise TreatmentError("Dosing has already started.")
    pre = list(s.vitals.filter(phase=Phase.PRE_DOSE).order_by("taken_at", "pk"))
    problems = start_blockers(s, pre)
    if problems:
        raise TreatmentError({"start": "Start refused: " + "; ".join(problems) + "."})
    at = at or timezone.now()
    s.dose_started_at = at
    s.administered_by = actor.user
    s.status = S.DOSING
    fields = ["dose_started_at", "administered_by", "status"]
    if s.route == Route.IM:  # an injection: given and finished at once
        s.dose_ended_at = at
        s.administered_mg = s.prepared_dose_mg
        s.status = S.OBSERVATION
        fields += ["dose_ended_at", "administered_mg"]
    s.save(update_fields=fields)
    SessionEvent.objects.create(session=s, kind=SessionEvent.Kind.START if s.route != Route.INTRANASAL
                                else SessionEvent.Kind.DEVICE, at=at, rate_mL_per_h=s.rate_mL_per_h, by=actor.user,
                                note="first device" if s.route == Route.INTRANASAL else "")
    if s.route == Route.INTRANASAL:
        RemsForm.objects.get_or_create(session=s, defaults={
            "dose_mg": int(s.prepared_dose_mg or 0), "lot_number": s.lot_number, "devices": s.devices,
            "first_treatment": not TreatmentSession.objects.filter(patient=s.patient, drug=Drug.ESKETAMINE,
                                                                    dose_started_at__isnull=False)
            .exclude(pk=s.pk).exists()})
    audit.record(actor, "session.dose.started", subject=s, patient=s.patient,
                 details={"at": at.isoformat(), "prepared_mg": str(s.prepared_dose_mg)})
    return s


@use_case
def dosing_event(*, actor: Actor, session: TreatmentSession, kind: str, rate: object = None, note: str = "",
                 administered_mg: object = None, at: datetime | None = None) -> SessionEvent:
    """Pause, resume, rate change, next esketamine device, or stop (end of dosing)."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record dosing events")
    s = _lock(session)
    at = at or timezone.now()
    if s.dose_started_at is None or s.dose_ended_at is not None:
        raise TreatmentError("Dosing is not running.")
    if at < s.dose_started_at or at > timezone.now() + CLOCK_SKEW:
        raise TreatmentError({"at": "The time must be after the start and not in the future."})
    r = _dec(rate, "rate", "Rate (mL/h)")
    if kind == SessionEvent.Kind.PAUSE:
        if s.paused_at:
            raise TreatmentError("Already paused.")
        s.paused_at = at
    elif kind == SessionEvent.Kind.RESUME:
        if not s.paused_at:
            raise TreatmentError("Not paused.")
        s.paused_at = None
    elif kind == SessionEvent.Kind.RATE:
        if r is None or r <= 0:
            raise TreatmentError({"rate": "Enter the new rate in mL/h."})
        if s.route != Route.IV:
            raise TreatmentError("Rate changes apply to IV infusions.")
    elif kind == SessionEvent.Kind.DEVICE:
        if s.route != Route.INTRANASAL:
            raise TreatmentError("Devices apply to esketamine.")
        given = list(s.events.filter(kind=SessionEvent.Kind.DEVICE).order_by("at", "pk"))
        prepared = int(s.devices or 0)
        if len(given) >= prepared:
            raise TreatmentError({"device": f"All {prepared} device(s) prepared for {s.prepared_dose_mg:.0f} mg "
                                  "have been given: record the end of dosing."})
        gap = int(limits_for(s.patient)["dosing.esketamine_device_interval_minutes"])  # type: ignore[arg-type]
        if given and at - given[-1].at < timedelta(minutes=gap):
            due = given[-1].at + timedelta(minutes=gap)
            raise TreatmentError({"device": f"Wait {gap} min between devices (clinical.md §3b): the next device "
                                  f"is due at {timezone.localtime(due):%H:%M:%S}."})
    elif kind == SessionEvent.Kind.STOP:
        mg = _dec(administered_mg, "administered_mg", "Administered dose (mg)") if administered_mg not in (None, "") \
            else s.prepared_dose_mg
        if mg is None or mg < 0 or mg > (s.prepared_dose_mg or Decimal(0)):
            raise TreatmentError({"administered_mg": "Administered dose must be between 0 and the prepared dose."})
        s.dose_ended_at = at
        s.administered_mg = mg
        s.paused_at = None
        s.status = S.OBSERVATION
    else:
        raise TreatmentError("Unknown dosing event.")
    s.save()
    ev = SessionEvent.objects.create(session=s, kind=kind, at=at, rate_mL_per_h=r, note=note[:300], by=actor.user)
    audit.record(actor, f"session.dose.{kind}", subject=s, patient=s.patient,
                 details={"at": at.isoformat(), "rate": str(r) if r else None, "note": note,
                          "administered_mg": str(s.administered_mg) if kind == "stop" else None})
    return ev
