"""The session before the dose: check-in, the pre-dose checklist, and the pre-dose hold with a prescriber's
override of one specific blocker."""

from __future__ import annotations

from collections.abc import Mapping
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
from ketaclinic.patients.models import BodyMeasurement
from ketaclinic.patients.services import (
    RegistryError,
    latest_weight_kg,
    mark_measurement_entered_in_error,
    record_measurement,
)
from ketaclinic.treatments.models import (
    ConsentSignature,
    Phase,
    PredoseOverride,
    Route,
    TreatmentOrder,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services._common import (
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
from ketaclinic.treatments.services.consent import UNREAD, consent_missing
from ketaclinic.treatments.services.readiness import _refresh_readiness


@use_case
def check_in(*, actor: Actor, session: TreatmentSession) -> TreatmentSession:
    s = _lock(session)
    if s.status != S.BOOKED:
        raise TreatmentError(f"The session is {s.get_status_display().lower()}, not booked.")
    if s.order.status != TreatmentOrder.Status.ACTIVE:
        raise TreatmentError("The order is no longer active: ask the prescriber.")
    s.status = S.CHECKED_IN
    s.checked_in_at = timezone.now()
    if not s.escort_name and s.patient.escort_name:
        s.escort_name, s.escort_phone = s.patient.escort_name, s.patient.escort_phone
    s.save(update_fields=["status", "checked_in_at", "escort_name", "escort_phone"])
    audit.record(actor, AuditAction.SESSION_CHECKED_IN, subject=s, patient=s.patient)
    return s


PRECHECK_BOOLS = ("identity_confirmed", "fasting_confirmed", "no_driving_acknowledged")


@use_case
def save_prechecks(*, actor: Actor, session: TreatmentSession, data: Mapping[str, object]) -> list[str]:
    """Record the before-dose checklist; returns weight warnings from the clinical core."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record pre-checks")
    s = _lock(session)
    if s.status not in (S.CHECKED_IN, S.PRE_CHECKS, S.DOSING, S.OBSERVATION, S.READY):
        raise TreatmentError("Check the patient in first.")
    new: dict[str, object] = {}
    for name in PRECHECK_BOOLS:
        if name in data:
            new[name] = bool(data[name])
    for name, limit in (("escort_name", 120), ("escort_phone", 32), ("music", 40), ("lighting", 40),
                        ("setting_notes", 300)):
        if name in data:
            new[name] = str(data[name] or "").strip()[:limit]
    warnings: list[str] = []
    if "pregnancy_test" in data and data["pregnancy_test"] not in (None, ""):
        if data["pregnancy_test"] not in ("negative", "positive", "not_applicable"):
            raise TreatmentError({"pregnancy_test": "Choose negative, positive or not applicable."})
        new["pregnancy_test"] = data["pregnancy_test"]
    if data.get("weight_kg") not in (None, ""):
        if s.dose_started_at:
            raise TreatmentError({"weight_kg": "Dosing has started: the weight used for the dose cannot change."})
        w = _dec(data.get("weight_kg"), "weight_kg", "Weight (kg)")
        previous = latest_weight_kg(s.patient, before=visit_began(s))
        try:
            warnings = list(dosing.check_weight(float(w), float(previous) if previous else None,  # type: ignore
                                                settings=limits_for(s.patient)))
        except ClinicalInputError as e:
            raise _clinical(e, "weight_kg") from None
        if w != s.weight_kg:  # a new weight (re-measured): any confirmation and preparation were for the old one
            if s.prepared_dose_mg is not None:
                _clear_preparation(s)
            new.update(weight_recorded_by=actor.user, weight_confirmed_by=None, weight_confirmed_at=None)
            _weigh_in_history(actor, s, w)
        new["weight_kg"] = w
    diff = audit.changes(s, {k: v for k, v in new.items() if not k.startswith("weight_") or k == "weight_kg"})
    for k, v in new.items():
        setattr(s, k, v)
    if s.status == S.CHECKED_IN:
        s.status = S.PRE_CHECKS
    s.save()
    audit.record(actor, AuditAction.SESSION_PRECHECKS_SAVED, subject=s, patient=s.patient,
                 details={"changes": diff, "warnings": warnings})
    if data.get("confirm_weight"):
        confirm_weight.within(actor=actor, session=s)
    _refresh_readiness(s)
    from ketaclinic.treatments.services.dose import weight_guard

    held = weight_guard(s)
    if held is not None and not held.ok:  # shown with the warnings; prepare_dose refuses until it is cleared
        warnings = [held.reason]
    return warnings


@use_case
def confirm_weight(*, actor: Actor, session: TreatmentSession) -> TreatmentSession:
    """A second clinician, signed in as themselves, confirms a weight the clinical core held back (pounds typed as
    kilograms, a change beyond the clinic's tolerance, an implausible BMI) after re-weighing the patient. Not the
    clinician who entered the weight, nor the one who prepared the dose; a weight outside the absolute limits
    cannot be confirmed. Who and when are stored and audited."""
    from ketaclinic.treatments.services.dose import weight_guard

    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="confirm a weight")
    s = _lock(session)
    if s.dose_started_at:
        raise TreatmentError({"weight_kg": "Dosing has started: the weight can no longer be confirmed."})
    if s.weight_kg is None:
        raise TreatmentError({"weight_kg": "Record today's weight first."})
    if actor.user_id in (s.weight_recorded_by_id, s.prepared_by_id):
        raise TreatmentError({"weight_kg": "You entered this weight (or prepared the dose): a second clinician, "
                              "signed in as themselves, must re-weigh the patient and confirm it."})
    s.weight_confirmed_at = None
    held = weight_guard(s)
    if held is not None and held.hard:
        raise TreatmentError({"weight_kg": held.reason})
    s.weight_confirmed_by = actor.user
    s.weight_confirmed_at = timezone.now()
    s.save(update_fields=["weight_confirmed_by", "weight_confirmed_at"])
    audit.record(actor, AuditAction.SESSION_WEIGHT_CONFIRMED, subject=s, patient=s.patient,
                 details={"weight_kg": str(s.weight_kg), "reason": held.reason if held is not None else ""})
    return s


def visit_began(s: TreatmentSession) -> datetime:
    """When this visit began (check-in, else the booked start): weights measured before it are the previous ones."""
    return s.checked_in_at or s.scheduled_start


def _weigh_in_history(actor: Actor, s: TreatmentSession, weight_kg: Decimal) -> None:
    """Today's weight is one entry of the patient's weight history (the registry's), not a copy on the session:
    the order, the chart and the next visit read it from there. A weight typed again in the same visit replaces
    the earlier one, which stays in the history marked entered-in-error."""
    same_visit = list(BodyMeasurement.objects.filter(
        patient=s.patient, status=BodyMeasurement.Status.FINAL, weight_kg__isnull=False,
        measured_at__gte=visit_began(s)).order_by("-measured_at"))
    if same_visit and same_visit[0].weight_kg == weight_kg:
        return
    for m in same_visit:
        if s.weight_kg is not None and m.weight_kg == s.weight_kg:
            mark_measurement_entered_in_error.within(actor=actor, measurement=m, reason="re-measured at the chair")
    try:
        record_measurement.within(actor=actor, patient=s.patient, unit="metric", weight=weight_kg, height=None)
    except RegistryError as e:
        raise TreatmentError({"weight_kg": e.errors.get("weight") or next(iter(e.errors.values()))}) from None


def precheck_missing(s: TreatmentSession, consent: ConsentSignature | None | object = UNREAD,
                     overrides: list[PredoseOverride] | None = None) -> list[str]:
    """The pre-checks not done yet, in a nurse's words (``consent``: :func:`valid_consent`, ``overrides``: the
    session's pre-dose overrides, when read already)."""
    missing = []
    if not s.identity_confirmed:
        missing.append("Identity not checked")
    if s.weight_kg is None and s.route != Route.INTRANASAL:
        missing.append("Today's weight not recorded")
    if not s.fasting_confirmed:
        missing.append("Fasting not confirmed")
    if (unsigned := consent_missing(s, consent)) is not None:
        missing.append(unsigned)
    if rules.pregnancy_test_applies(s.patient.sex_at_birth) and not s.pregnancy_test:
        missing.append("Pregnancy test result not recorded")
    if s.pregnancy_test == "positive" and not (
            s.predose_overrides.filter(kind=PredoseOverride.Kind.PREGNANCY).exists() if overrides is None
            else any(o.kind == PredoseOverride.Kind.PREGNANCY for o in overrides)):
        missing.append("Positive pregnancy test: prescriber override needed")
    if not s.no_driving_acknowledged:
        missing.append("No-driving acknowledgement not recorded")
    return missing


@use_case
def override_predose_hold(*, actor: Actor, session: TreatmentSession, reason: str, kind: str | None = None,
                          reading: VitalsReading | None = None) -> PredoseOverride:
    """A prescriber records why the dose may start despite ONE specific blocker (clinical.md §1: a recorded
    clinician override is required to proceed past a limit).

    ``kind`` 'vitals' overrides the current pre-dose hold (the worst reading since the last vitals override, at
    its level: a HOLD override never covers a later STOP); 'pregnancy' overrides a positive pregnancy test. When
    ``kind`` is not given it is the vitals hold if there is one, else the pregnancy test. ``reading`` (from the
    form) must still be the current blocker: a newer reading has to be reviewed first.
    """
    _roles(actor, Role.PRESCRIBER, what="override a pre-dose hold")
    s = _lock(session)
    reason = reason.strip()
    if s.dose_started_at:
        raise TreatmentError("Dosing has already started.")
    pre = list(s.vitals.filter(phase=Phase.PRE_DOSE).order_by("taken_at", "pk"))
    held = predose_hold(s, pre)
    pregnancy_open = s.pregnancy_test == "positive" and not s.predose_overrides.filter(
        kind=PredoseOverride.Kind.PREGNANCY).exists()
    if kind in (None, ""):
        kind = PredoseOverride.Kind.VITALS if held is not None or not pregnancy_open else PredoseOverride.Kind.PREGNANCY
    if kind not in PredoseOverride.Kind.values:
        raise TreatmentError({"kind": "Choose what is overridden: the vital signs or the pregnancy test."})
    if kind == PredoseOverride.Kind.VITALS:
        if held is None:
            raise TreatmentError({"predose_override_reason": "There is no pre-dose vitals hold to override."})
        if reading is not None and reading.pk != held.pk:
            raise TreatmentError({"predose_override_reason": "The pre-dose readings have changed since this page "
                                  f"was opened: review the newer reading ({held}) before overriding."})
    elif not pregnancy_open:
        raise TreatmentError({"predose_override_reason": "There is no positive pregnancy test to override."})
    if len(reason) < 10:
        what = (f"the {held.level_name.upper()} reading {held.bp}" if kind == PredoseOverride.Kind.VITALS and held
                else "the positive pregnancy test")
        raise TreatmentError({"predose_override_reason": f"Write the reason for starting despite {what} "
                              "(at least 10 characters)."})
    o = PredoseOverride.objects.create(
        session=s, kind=kind, reason=reason[:2000], by=actor.user,
        reading=held if kind == PredoseOverride.Kind.VITALS else None,
        covers_through=pre[-1] if kind == PredoseOverride.Kind.VITALS and pre else None,
        level=int(held.level) if kind == PredoseOverride.Kind.VITALS and held else 0)
    s.predose_override_reason = reason  # the latest override, shown on the session record
    s.predose_override_by = actor.user
    s.save(update_fields=["predose_override_reason", "predose_override_by"])
    audit.record(actor, AuditAction.SESSION_PREDOSE_HOLD_OVERRIDDEN, subject=s, patient=s.patient,
                 details={"kind": kind, "reason": reason, "level": VitalsReading.LEVELS.get(o.level),
                          "reading": o.reading_id, "reading_bp": o.reading.bp if o.reading else None,
                          "reading_taken_at": o.reading.taken_at.isoformat() if o.reading else None,
                          "covers_through": o.covers_through_id})
    return o


def predose_hold(s: TreatmentSession, pre_rows: list[VitalsReading],
                 overrides: list[PredoseOverride] | None = None) -> VitalsReading | None:
    """The pre-dose reading that holds the dose (:func:`ketaclinic.clinical.session.predose_hold`: the worst
    reading since the last vitals override)."""
    if overrides is None:
        overrides = list(s.predose_overrides.filter(kind=PredoseOverride.Kind.VITALS).order_by("at", "pk"))
    vitals_overrides = [o for o in overrides if o.kind == PredoseOverride.Kind.VITALS]
    since = vitals_overrides[-1].covers_through_id if vitals_overrides else None
    held = rules.predose_hold(recorded(pre_rows), since)
    return next(r for r in pre_rows if r.pk == held.id) if held is not None else None


def recorded(rows: list[VitalsReading]) -> list[rules.RecordedReading]:
    """Vitals rows as the clinical core's pre-dose rules read them."""
    return [rules.RecordedReading(id=r.pk, level=int(r.level), has_bp=_has_bp(r)) for r in rows]


def _has_bp(r: VitalsReading) -> bool:
    return r.systolic_mmHg is not None and r.diastolic_mmHg is not None
