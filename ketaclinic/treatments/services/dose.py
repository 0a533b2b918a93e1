"""The dose: computed with its working by the clinical core and prepared, verified independently by a second
clinician, started, and the dosing events (pause, resume, rate change, next esketamine device, stop)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import dosing
from ketaclinic.clinical import session as rules
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.guards import GuardDecision
from ketaclinic.clinical.vitals import Level
from ketaclinic.measures import safety
from ketaclinic.patients.services import latest_height_cm, latest_weight_kg
from ketaclinic.treatments import stock
from ketaclinic.treatments.models import (
    Drug,
    Phase,
    PredoseOverride,
    RemsForm,
    Route,
    SessionEvent,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services import titration
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
from ketaclinic.treatments.services.consent import valid_consent
from ketaclinic.treatments.services.orders import _require_dosable, dosing_blockers
from ketaclinic.treatments.services.rems import record_given
from ketaclinic.treatments.services.session import _has_bp, precheck_missing, predose_hold, visit_began


def weight_guard(s: TreatmentSession) -> GuardDecision | None:
    """The clinical core's check of today's weight against the previous weight (or the height at a first visit),
    cleared by a second clinician's confirmation; None when no weight is used (esketamine) or none is recorded."""
    if s.route == Route.INTRANASAL or s.weight_kg is None:
        return None
    # the weight recorded before this visit (today's own entry in the history is the one judged); the latest height
    # only without one (the clinical core judges the weight by the height only when there is no previous weight)
    previous = latest_weight_kg(s.patient, before=visit_began(s))
    height = latest_height_cm(s.patient) if previous is None else None
    try:
        return dosing.weight_plausibility(s.weight_kg, previous_weight_kg=previous, height_cm=height,
                                          second_clinician_confirmed=s.weight_confirmed_at is not None,
                                          settings=limits_for(s.patient))
    except ClinicalInputError as e:
        raise _clinical(e, "weight_kg") from None


def compute_dose(s: TreatmentSession, *, prepared: titration.Preparation | None,
                 concentration: Decimal | None = None, bag: Decimal | None = None, minutes: int | None = None,
                 override_reason: str | None = None,
                 stocked: tuple[Decimal, ...] | None = None) -> dosing.DoseCalculation:
    """The dose and its working: the order's dose (``prepared`` None: no titration plan), or the titrated
    session's (``prepared``: :func:`titration.preparation`, whose problem the caller has already refused)."""
    order = s.order
    cfg = limits_for(s.patient)
    titrated = prepared.dose if prepared is not None else None
    reason = override_reason or (prepared.reason if prepared else "") or order.dose_override_reason or None
    if s.route == Route.INTRANASAL:
        first = not TreatmentSession.objects.filter(patient=s.patient, drug=Drug.ESKETAMINE,
                                                    dose_started_at__isnull=False).exclude(pk=s.pk).exists()
        mg = titrated if titrated is not None else order.fixed_dose_mg
        return dosing.esketamine(int(mg or 0), first_session=first, indication=order.indication,
                                 override_reason=reason, settings=cfg)
    if s.weight_kg is None:
        raise ClinicalInputError("record today's weight first (Before: 'Today's weight (kg)')", "weight_kg")
    conc = float(concentration or order.concentration_mg_per_mL or 0)
    # The weight itself is judged by weight_guard (a block, not a warning), so no previous weight here.
    if s.route == Route.IV:
        per_kg = titrated if titrated is not None else order.dose_mg_per_kg
        return dosing.iv_infusion(float(s.weight_kg), float(per_kg or 0),
                                  int(minutes or order.infusion_minutes or 0), conc,
                                  float(bag or order.bag_volume_mL or 0),
                                  override_reason=reason, settings=cfg, stocked_concentrations=stocked)
    per_kg = titrated if titrated is not None else order.dose_mg_per_kg
    return dosing.im_injection(float(s.weight_kg), float(per_kg or 0), conc,
                               override_reason=reason, settings=cfg, stocked_concentrations=stocked)


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
    prepared = titration.preparation(s)  # under a titration plan: the prescriber's signed dose, still holding
    if prepared is not None and prepared.problem:
        raise TreatmentError({"__all__": prepared.problem})
    weighed = weight_guard(s)
    if weighed is not None and not weighed.ok:
        raise TreatmentError({"weight_kg": weighed.reason})
    if s.weight_confirmed_by_id is not None and s.weight_confirmed_by_id == actor.user_id:
        raise TreatmentError({"weight_kg": "You confirmed today's weight as the second clinician: another "
                              "clinician must prepare the dose."})
    conc = _dec(data.get("concentration_mg_per_mL"), "concentration_mg_per_mL", "Vial concentration (mg/mL)")
    bag = _dec(data.get("bag_volume_mL"), "bag_volume_mL", "Bag volume (mL)")
    vial = str(data.get("vial_or_device", "") or "").strip()[:120]
    lot = str(data.get("lot_number", "") or "").strip()[:40]
    if not lot:
        raise TreatmentError({"lot_number": "Record the lot number of the vial or device used."})
    if not vial:
        raise TreatmentError({"vial_or_device": "Record the vial or device used (product and strength)."})
    account = stock.account(s)
    strengths = None
    if s.route != Route.INTRANASAL:
        strengths = stock.strengths(s, account)
        if not strengths:
            raise TreatmentError({"concentration_mg_per_mL": f"No {s.drug} vial with volume left and an unexpired "
                                  "lot is in stock. Receive stock under Controlled substances, then prepare."})
        if conc is None:
            raise TreatmentError({"concentration_mg_per_mL": "Choose the strength on the vial label ("
                                  + ", ".join(f"{v.normalize():f}" for v in strengths) + " mg/mL)."})
    override = str(data.get("override_reason") or "") or None
    try:
        calc = compute_dose(s, concentration=conc, bag=bag, override_reason=override, stocked=strengths,
                            prepared=prepared)
    except ClinicalInputError as e:
        raise _clinical(e, "weight_kg") from None
    if (calc.needs_override and not s.order.dose_override_reason and not (prepared and prepared.reason)
            and Role.PRESCRIBER not in actor.roles):
        # Going past a limit that needs an override is the prescriber's decision: on the order, or at the chair.
        raise TreatmentError({"override_reason": " ".join(calc.warnings) + " Ask the prescriber to prepare it "
                              "with their reason, or to change the order."})
    if calc.blocked:
        raise TreatmentError({"override_reason": " ".join(calc.warnings)})
    lot_problem = _lot_not_in_stock(s, account, lot, conc)  # after the strength: a lot of a stocked strength
    if lot_problem:
        raise TreatmentError({"lot_number": lot_problem})
    _clear_preparation(s)
    # The recorded dose is the measured dose: the syringe volume (0.01 mL) x the vial strength.
    s.calculated_dose_mg = Decimal(str(calc.total_mg)).quantize(Decimal("0.01"))
    s.prepared_dose_mg = Decimal(str(calc.measured_mg if calc.measured_mg is not None else calc.total_mg)
                                 ).quantize(Decimal("0.01"))
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
    audit.record(actor, AuditAction.SESSION_DOSE_PREPARED, subject=s, patient=s.patient,
                 details={"mg": str(s.prepared_dose_mg), "calculated_mg": calc.total_mg, "mL": calc.drug_mL, "rate_mL_per_h": calc.rate_mL_per_h,
                          "devices": calc.devices, "lot": lot, "vial_or_device": vial, "working": list(calc.working)})
    return calc


@use_case
def verify_dose(*, actor: Actor, session: TreatmentSession, weight_kg: object, dose_mg: object,
                concentration_mg_per_mL: object = None, bag_volume_mL: object = None) -> TreatmentSession | Refused:
    """Independent verification by a second clinician who enters weight, dose, vial strength and bag volume
    themselves. Refused for the person who prepared the dose and on any mismatch or missing entry
    (:func:`ketaclinic.clinical.session.verification_mismatches`: weight 0.1 kg, dose 0.1 mg, strength and bag
    exactly; only what the preparation has: esketamine has a dose only, IM no bag).

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
        audit.record(actor, AuditAction.SESSION_DOSE_VERIFICATION_REFUSED, subject=s, patient=s.patient,
                     details={"reason": "same user as preparer"})
        return Refused(TreatmentError("You prepared this dose: a second clinician, signed in as themselves, must "
                                      "verify it."))
    if s.verified_at:
        raise TreatmentError("This dose is already verified.")
    _require_dosable(s)
    raw = {"weight_kg": weight_kg, "dose_mg": dose_mg, "concentration_mg_per_mL": concentration_mg_per_mL,
           "bag_volume_mL": bag_volume_mL}
    refusal, entered = _verification_errors(s, raw)
    if refusal is not None:
        audit.record(actor, AuditAction.SESSION_DOSE_VERIFICATION_REFUSED, subject=s, patient=s.patient,
                     details={"entered_mg": str(entered.get("dose_mg") or dose_mg)[:40],
                              "entered_kg": str(entered.get("weight_kg") or weight_kg)[:40],
                              "entered_mg_per_mL": str(entered.get("concentration_mg_per_mL")
                                                       or concentration_mg_per_mL)[:40],
                              "entered_bag_mL": str(entered.get("bag_volume_mL") or bag_volume_mL)[:40],
                              "errors": refusal.errors})
        return Refused(refusal)
    s.verified_by = actor.user
    s.verified_at = timezone.now()
    s.verified_weight_kg = entered.get("weight_kg")
    s.verified_dose_mg = entered.get("dose_mg")
    s.verified_concentration_mg_per_mL = entered.get("concentration_mg_per_mL")
    s.verified_bag_volume_mL = entered.get("bag_volume_mL")
    s.save(update_fields=["verified_by", "verified_at", "verified_weight_kg", "verified_dose_mg",
                          "verified_concentration_mg_per_mL", "verified_bag_volume_mL"])
    audit.record(actor, AuditAction.SESSION_DOSE_VERIFIED, subject=s, patient=s.patient,
                 details={k: str(v) for k, v in entered.items()})
    return s


VERIFY_LABELS = {"weight_kg": "Weight (kg)", "dose_mg": "Dose (mg)",
                 "concentration_mg_per_mL": "Vial strength (mg/mL)", "bag_volume_mL": "Bag volume (mL)"}


@dataclass(frozen=True)
class PrescribedDose:
    """The dose a session was prescribed and prepared at, which the second clinician verifies against: mg for
    esketamine (with the 28 mg devices it makes), mg/kg for IV and IM (with the infusion minutes for IV);
    ``titrated``: the prescriber's signed dose under the order's titration plan, not the order's own."""

    dose: Decimal
    unit: str
    titrated: bool
    minutes: int | None = None
    devices: int | None = None
    device_mg: int | None = None

    @property
    def text(self) -> str:
        return f"{self.dose.normalize():f} {self.unit}"


def prescribed_dose(s: TreatmentSession) -> PrescribedDose | None:
    """The dose this session was prepared at, as :func:`prepare_dose` worked it out (:func:`compute_dose`): the
    prescriber's signed dose under the order's titration plan (the plan's start for its first session), else the
    order's. It is what the prepared dose the verifier must match (:func:`prepared_entries`) was calculated from,
    so the verify page names it rather than the order's starting dose. None before the dose is prepared."""
    if s.prepared_dose_mg is None:
        return None
    titrated = titration.plan_of(s.order) is not None
    if s.route == Route.INTRANASAL:
        mg = s.calculated_dose_mg if s.calculated_dose_mg is not None else s.prepared_dose_mg
        return PrescribedDose(mg, "mg", titrated, devices=s.devices, device_mg=dosing.ESKETAMINE_DEVICE_MG)
    if s.dose_mg_per_kg is None:
        return None
    return PrescribedDose(s.dose_mg_per_kg, "mg/kg", titrated,
                          minutes=s.infusion_minutes if s.route == Route.IV else None)


def prepared_entries(s: TreatmentSession) -> rules.DoseEntries:
    """What the verifier must match: the dose always; weight and vial strength for IV and IM; the bag for IV."""
    return rules.DoseEntries(
        weight_kg=s.weight_kg if s.route != Route.INTRANASAL else None, dose_mg=s.prepared_dose_mg,
        concentration_mg_per_mL=s.concentration_mg_per_mL if s.route != Route.INTRANASAL else None,
        bag_volume_mL=s.bag_volume_mL if s.route == Route.IV else None)


def _verification_errors(s: TreatmentSession, raw: Mapping[str, object]
                         ) -> tuple[TreatmentError | None, dict[str, Decimal | None]]:
    """(refusal or None, the values entered) for the second clinician's entries."""
    prepared = prepared_entries(s)
    errors: dict[str, str] = {}
    entered: dict[str, Decimal | None] = {}
    for name, label in VERIFY_LABELS.items():
        if getattr(prepared, name) is None:
            continue
        try:
            entered[name] = _dec(raw.get(name), name, label)
        except TreatmentError as e:
            errors.update(e.errors)
    mismatches = rules.verification_mismatches(prepared, rules.DoseEntries(**entered))
    for name, message in mismatches.items():
        errors.setdefault(name, message)
    return (TreatmentError(errors) if errors else None), entered


def _lot_not_in_stock(s: TreatmentSession, account: stock.DrugAccount | None, lot: str, conc: Decimal | None) -> str:
    """Why ``lot`` may not be used for this session's dose ('' when it may): where the clinic keeps its stock of
    the drug in KetaClinic, the lot must be one the session could draw from now (in stock, unexpired, within its
    beyond-use time, in a store serving the room) and, for a vial, of the strength chosen."""
    if account is None or not account.stock_known:
        return ""
    if any(o.lot_number == lot and (s.route == Route.INTRANASAL or o.strength_mg_per_mL == conc)
           for o in account.options):
        return ""
    held = sorted({o.lot_number + ("" if o.strength_mg_per_mL is None else f" ({o.strength_mg_per_mL.normalize():f} "
                                   "mg/mL)") for o in account.options})
    strength = "" if s.route == Route.INTRANASAL or conc is None else f" at {conc.normalize():f} mg/mL"
    return (f"Lot {lot}{strength} is not in stock for this session (none left, expired, past its beyond-use time or "
            "kept in a store that does not supply this room). "
            + (f"Lots you can use: {', '.join(held)}." if held else "Receive stock under Controlled substances first."))


def start_blockers(s: TreatmentSession, pre_rows: list[VitalsReading], missing: list[str] | None = None,
                   overrides: list[PredoseOverride] | None = None) -> list[str]:
    """Why the dose may not start now (``missing``: :func:`precheck_missing`, ``overrides``: the session's pre-dose
    overrides, when the caller has them already)."""
    problems = dosing_blockers(s) + (precheck_missing(s) if missing is None else missing)
    raised = [f"raised {timezone.localtime(at):%Y-%m-%d %H:%M}" for at in safety.open_tasks_raised_at(s.patient_id)]
    if held_for_safety := rules.safety_task_hold(raised):
        problems.append(held_for_safety)
    if not pre_rows:
        problems.append("No pre-dose vital signs recorded")
    elif not _has_bp(pre_rows[-1]):
        problems.append("The latest pre-dose reading has no blood pressure: record systolic and diastolic "
                        "before dosing")
    held = predose_hold(s, pre_rows, overrides)
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
    s.consent = valid_consent(s)  # the signed version this dose relied on
    fields = ["dose_started_at", "administered_by", "status", "consent"]
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
            "lot_number": s.lot_number,
            "first_treatment": not TreatmentSession.objects.filter(patient=s.patient, drug=Drug.ESKETAMINE,
                                                                    dose_started_at__isnull=False)
            .exclude(pk=s.pk).exists()})
        record_given(s)  # the form reports the first device as given, not the devices prepared
    audit.record(actor, AuditAction.SESSION_DOSE_STARTED, subject=s, patient=s.patient,
                 details={"at": at.isoformat(), "prepared_mg": str(s.prepared_dose_mg)})
    return s


#: The audit action of each dosing event.
EVENT_ACTIONS = {SessionEvent.Kind.PAUSE: AuditAction.SESSION_DOSE_PAUSE,
                 SessionEvent.Kind.RESUME: AuditAction.SESSION_DOSE_RESUME,
                 SessionEvent.Kind.RATE: AuditAction.SESSION_DOSE_RATE,
                 SessionEvent.Kind.DEVICE: AuditAction.SESSION_DOSE_DEVICE,
                 SessionEvent.Kind.STOP: AuditAction.SESSION_DOSE_STOP}


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
        if s.paused_at and s.pause_level >= Level.HOLD and s.pump_pause_confirmed_at is None:
            return _confirm_pump_paused(actor, s, at, note)
        if s.paused_at:
            raise TreatmentError("Already paused.")
        s.paused_at = at
        s.pause_level = 0
    elif kind == SessionEvent.Kind.RESUME:
        if not s.paused_at:
            raise TreatmentError("Not paused.")
        if s.pause_level >= Level.HOLD:
            _may_resume(actor, s, note)
        s.paused_at = None
        s.pause_level = 0
        s.pump_pause_confirmed_at = s.pump_pause_confirmed_by = None  # type: ignore[assignment]
    elif kind == SessionEvent.Kind.RATE:
        if r is None or r <= 0:
            raise TreatmentError({"rate": "Enter the new rate in mL/h."})
        if s.route != Route.IV:
            raise TreatmentError("Rate changes apply to IV infusions.")
        _pump_rate_allowed(actor, s, r, note)
    elif kind == SessionEvent.Kind.DEVICE:
        if s.route != Route.INTRANASAL:
            raise TreatmentError("Devices apply to esketamine.")
        if s.paused_at:
            raise TreatmentError({"device": "Dosing is paused for the vital signs: do not give the next device "
                                  "until it may resume."})
        tz = s.patient.clinic.tz
        given = [timezone.localtime(t, tz) for t in
                 s.events.filter(kind=SessionEvent.Kind.DEVICE).order_by("at", "pk").values_list("at", flat=True)]
        try:
            spacing = rules.next_device(given, int(s.devices or 0), timezone.localtime(at, tz),
                                        settings=limits_for(s.patient))
        except ClinicalInputError as e:
            raise _clinical(e, "device") from None
        if spacing.blocked:
            raise TreatmentError({"device": spacing.reason})
    elif kind == SessionEvent.Kind.STOP:
        given = dose_given(s, at)
        mg = _dec(administered_mg, "administered_mg", "Administered dose (mg)") if administered_mg not in (None, "") \
            else given
        if mg is None or mg < 0 or mg > (s.prepared_dose_mg or Decimal(0)):
            raise TreatmentError({"administered_mg": "Administered dose must be between 0 and the prepared dose."})
        short = mg < (s.prepared_dose_mg or Decimal(0))
        if (short or (given is not None and mg != given)) and len(note.strip()) < 10:
            what = (f"The recorded events give {given.normalize():f} mg" if given is not None else "")
            raise TreatmentError({"note": (
                f"{what + ' of' if what else 'Less than'} the {s.prepared_dose_mg.normalize():f} mg prepared"
                if short else f"{what}, not {mg.normalize():f} mg") + ": say why the dose was stopped early or "
                "differs (e.g. 'patient asked to stop', 'BP at STOP', 'pump read 28 mg')."})
        s.dose_ended_at = at
        s.administered_mg = mg
        s.paused_at = None
        s.pause_level = 0
        s.status = S.OBSERVATION
    else:
        raise TreatmentError("Unknown dosing event.")
    s.save()
    ev = SessionEvent.objects.create(session=s, kind=kind, at=at, rate_mL_per_h=r, note=note[:300], by=actor.user)
    if s.route == Route.INTRANASAL and kind in (SessionEvent.Kind.DEVICE, SessionEvent.Kind.STOP):
        record_given(s)  # the REMS form being captured reports the devices and dose given so far
    audit.record(actor, EVENT_ACTIONS[kind], subject=s, patient=s.patient,
                 details={"at": at.isoformat(), "rate": str(r) if r else None, "note": note,
                          "administered_mg": str(s.administered_mg) if kind == "stop" else None})
    return ev


def dose_given(s: TreatmentSession, at: datetime, events: list[SessionEvent] | None = None) -> Decimal | None:
    """What the recorded events say was given by ``at``: for IV the pump's rate x running time across pauses and
    rate changes (:func:`ketaclinic.clinical.dosing.infused_dose`), for esketamine the devices given x 28 mg;
    None when the events cannot tell (an IM injection is given at once). ``events``: the session's, if loaded."""
    events = list(s.events.order_by("at", "pk")) if events is None else events
    if s.route == Route.INTRANASAL:
        return Decimal(dosing.ESKETAMINE_DEVICE_MG * sum(1 for e in events if e.kind == SessionEvent.Kind.DEVICE))
    if s.route != Route.IV or not (s.rate_mL_per_h and s.prepared_dose_mg is not None and s.dose_started_at):
        return None
    volume = (s.bag_volume_mL or Decimal(0)) + (s.prepared_volume_mL or Decimal(0))
    return dosing.infused_dose(
        start=s.dose_started_at, stop=at, start_rate_mL_per_h=s.rate_mL_per_h, dose_mg=s.prepared_dose_mg,
        infused_volume_mL=volume, planned_minutes=s.infusion_minutes,
        events=[(e.kind, e.at, e.rate_mL_per_h) for e in events if e.kind in ("pause", "resume", "rate")]).mg


def _confirm_pump_paused(actor: Actor, s: TreatmentSession, at: datetime, note: str) -> SessionEvent | None:
    """The nurse confirms the pump is paused (or stopped) after an automatic pause for a vitals reading."""
    s.pump_pause_confirmed_at = at
    s.pump_pause_confirmed_by = actor.user
    s.save(update_fields=["pump_pause_confirmed_at", "pump_pause_confirmed_by"])
    audit.record(actor, AuditAction.SESSION_DOSE_PUMP_PAUSE_CONFIRMED, subject=s, patient=s.patient,
                 details={"at": at.isoformat(), "level": VitalsReading.LEVELS.get(s.pause_level), "note": note})
    return None


def _may_resume(actor: Actor, s: TreatmentSession, note: str) -> None:
    """Resume after a pause for vitals at HOLD or STOP only on a repeat reading below HOLD taken after the pause,
    or on a prescriber's override with a written reason (:func:`ketaclinic.clinical.session.may_resume`)."""
    tz = s.patient.clinic.tz
    readings = [(timezone.localtime(v.taken_at, tz), int(v.level))
                for v in s.vitals.filter(phase=Phase.DURING, taken_at__gt=s.paused_at).order_by("taken_at", "pk")]
    override = Role.PRESCRIBER in actor.roles and len(note.strip()) >= 10
    decision = rules.may_resume(paused_at=timezone.localtime(s.paused_at, tz), pause_level=int(s.pause_level),
                                readings=readings, prescriber_override=override)
    if not decision.ok:
        extra = (" A prescriber may resume with a written reason (at least 10 characters) in the note."
                 if Role.PRESCRIBER in actor.roles else "")
        raise TreatmentError({"resume": decision.reason + extra})
    if override:
        audit.record(actor, AuditAction.SESSION_DOSE_RESUME_OVERRIDDEN, subject=s, patient=s.patient,
                     details={"reason": note.strip(), "level": VitalsReading.LEVELS.get(s.pause_level)})


def _pump_rate_allowed(actor: Actor, s: TreatmentSession, rate: Decimal, note: str) -> None:
    """A new pump rate meets the same speed limits as the prepared infusion (:func:`dosing.pump_rate_check`):
    at the label's induction rate never; above the clinic's maximum only by a prescriber with a reason."""
    drug_ml = s.prepared_volume_mL or Decimal(0)
    volume = (s.bag_volume_mL or Decimal(0)) + drug_ml
    if not (s.prepared_dose_mg and s.weight_kg and volume > 0):
        raise TreatmentError({"rate": "The prepared dose, bag and weight are needed to check a new rate."})
    try:
        d = dosing.pump_rate_check(rate, infused_volume_mL=volume, dose_mg=s.prepared_dose_mg,
                                   weight_kg=s.weight_kg, settings=limits_for(s.patient))
    except ClinicalInputError as e:
        raise _clinical(e, "rate") from None
    if d.blocked:
        raise TreatmentError({"rate": d.reason})
    if d.needs_override and not (Role.PRESCRIBER in actor.roles and len(note.strip()) >= 10):
        raise TreatmentError({"rate": d.reason + " (A prescriber writes the reason in the note, at least 10 "
                              "characters.)"})


def auto_pause_for_reading(actor: Actor, s: TreatmentSession, row: VitalsReading, level: int | None = None) -> str:
    """Hold means hold: a reading at HOLD or STOP while the dose is running pauses the dose record at once
    (:func:`ketaclinic.clinical.session.infusion_pause_required`) and waits for the nurse to confirm the pump is
    paused (stopped, for STOP). Returns the instruction to show ("" when the dose may go on). Part of
    ``add_vitals``'s transaction; ``s`` is locked by it. ``level``: the level the session is at now when it is
    above the reading's own (a back-dated reading that makes the newest reading's run of high values long enough
    for STOP)."""
    if s.dose_started_at is None or s.dose_ended_at is not None or row.phase != Phase.DURING:
        return ""
    level = max(int(row.level), int(level or 0))
    name = Level(level).name
    d = rules.infusion_pause_required(level)
    if d.ok:
        return ""
    if s.paused_at is None:
        s.paused_at = row.taken_at
        s.pause_level = level
        s.pump_pause_confirmed_at = s.pump_pause_confirmed_by = None  # type: ignore[assignment]
        SessionEvent.objects.create(session=s, kind=SessionEvent.Kind.PAUSE, at=row.taken_at, by=actor.user,
                                    reading=row, note=f"automatic: vital signs at {name.upper()} "
                                    f"({d.details.get('action')})")
        audit.record(actor, AuditAction.SESSION_DOSE_PAUSED_AUTOMATICALLY, subject=s, patient=s.patient,
                     details={"reading": row.pk, "level": name.lower(), "action": d.details.get("action")})
    elif level > s.pause_level:
        s.pause_level = level
        s.pump_pause_confirmed_at = s.pump_pause_confirmed_by = None  # type: ignore[assignment]
    s.save(update_fields=["paused_at", "pause_level", "pump_pause_confirmed_at", "pump_pause_confirmed_by"])
    return d.reason
