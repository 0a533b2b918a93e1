"""Treatment journey use cases: orders, series booking, the session cockpit, discharge, REMS and signing.

Every function validates, writes and audits in one transaction and raises :class:`TreatmentError` (a
``ValueError`` carrying ``errors: {field: message}``) for anything refused; nothing is changed then.
Clinical rules come from :mod:`ketaclinic.clinical` with the clinic's limits passed as ``settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Chair, Clinic, Room
from ketaclinic.clinical import discharge as discharge_rules
from ketaclinic.clinical import dosing, schedules
from ketaclinic.clinical import session as rules
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.scales import score
from ketaclinic.clinical.vitals import (
    Level,
    VitalReading,
    classify_reading,
    classify_series,
    validate_reading,
)
from ketaclinic.inputs import InputError, field_bounds, parse_decimal, parse_id, parse_whole
from ketaclinic.patients.models import Patient
from ketaclinic.screening.models import EligibilityAssessment
from ketaclinic.screening.services import (
    absolute_in_force,
    absolute_message,
    current_assessment,
    latest_assessment,
)
from ketaclinic.treatments.models import (
    Addendum,
    AdverseEvent,
    Drug,
    Observation,
    Phase,
    PredoseOverride,
    RemsForm,
    Route,
    SessionEvent,
    SessionRating,
    TreatmentOrder,
    TreatmentSession,
    VitalsReading,
)

S = TreatmentSession.Status
ROUTES_FOR_DRUG = {Drug.KETAMINE: {Route.IV, Route.IM}, Drug.ESKETAMINE: {Route.INTRANASAL}}
CLOCK_SKEW = timedelta(minutes=2)  # readings up to this far "in the future" are accepted (device clocks)
VITAL_FIELDS = ("systolic_mmHg", "diastolic_mmHg", "heart_rate_bpm", "spo2_percent", "respiratory_rate_per_min")
VITAL_LABELS = {"systolic_mmHg": "Systolic", "diastolic_mmHg": "Diastolic", "heart_rate_bpm": "Heart rate",
                "spo2_percent": "SpO2", "respiratory_rate_per_min": "Respiratory rate"}
CLOSED = (S.CANCELLED, S.NO_SHOW)
FINISHED = (S.DISCHARGED, S.TRANSFERRED)


class TreatmentError(ValueError):
    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _roles(actor: Actor, *roles: str, what: str) -> None:
    if not (set(roles) & set(actor.roles)):
        names = " or ".join(Role(r).label.lower() for r in roles)
        raise TreatmentError(f"Only a {names} can {what}.")


# field -> (model, model field): the largest value and the decimals the record can store bound each entry
DECIMAL_FIELDS = {
    "dose_mg_per_kg": (TreatmentOrder, "dose_mg_per_kg"),
    "fixed_dose_mg": (TreatmentOrder, "fixed_dose_mg"),
    "concentration_mg_per_mL": (TreatmentSession, "concentration_mg_per_mL"),
    "bag_volume_mL": (TreatmentSession, "bag_volume_mL"),
    "weight_kg": (TreatmentSession, "weight_kg"),
    "dose_mg": (TreatmentSession, "verified_dose_mg"),
    "administered_mg": (TreatmentSession, "administered_mg"),
    "rate": (SessionEvent, "rate_mL_per_h"),
}
READY_TO_LEAVE_MAX_MINUTES = 24 * 60  # a REMS form covers one session day; not a clinical threshold


def _dec(value: object, field: str, label: str) -> Decimal | None:
    """The one decimal parser for treatment fields: plain, finite, non-negative, within what the record stores
    (see :mod:`ketaclinic.inputs`); a TreatmentError naming the field otherwise."""
    model, name = DECIMAL_FIELDS[field]
    top, places = field_bounds(model, name)
    try:
        return parse_decimal(value, label, max_value=top, places=places)
    except InputError as e:
        raise TreatmentError({field: e.message}) from None


def _clinical(e: ClinicalInputError, default: str = "__all__") -> TreatmentError:
    return TreatmentError({e.field or default: e.message})


def limits_for(patient: Patient) -> dict[str, object]:
    return patient.clinic.limits()


# ============================================================================================ orders
def latest_weight(patient: Patient) -> tuple[Decimal | None, Decimal | None]:
    """(weight kg, height cm) from the registry's latest final measurements."""
    ms = list(patient.measurements.filter(status="final").order_by("-measured_at")[:10])
    w = next((m.weight_kg for m in ms if m.weight_kg is not None), None)
    h = next((m.height_cm for m in ms if m.height_cm is not None), None)
    return w, h


@transaction.atomic
def write_order(*, actor: Actor, patient: Patient, data: Mapping[str, object], sign: bool = True) -> TreatmentOrder:
    """A prescriber writes (and by default signs) an order. Requires a signed eligibility assessment that allows
    treatment with this drug: an absolute contraindication blocks any order."""
    _roles(actor, Role.PRESCRIBER, what="write a treatment order")
    drug, route = str(data.get("drug", "")), str(data.get("route", ""))
    errors: dict[str, str] = {}
    if drug not in Drug.values:
        errors["drug"] = "Choose racemic ketamine or esketamine."
    elif route not in ROUTES_FOR_DRUG[Drug(drug)]:
        errors["route"] = ("Esketamine is given intranasally." if drug == Drug.ESKETAMINE
                           else "Racemic ketamine is ordered IV or IM here.")
    if errors:
        raise TreatmentError(errors)
    assessment = current_assessment(patient, drug)
    on_file = absolute_in_force(patient)
    if on_file:
        raise TreatmentError({"__all__": absolute_message(on_file)})
    absolute = latest_assessment(patient)
    if absolute is not None and absolute.has_absolute and absolute.absolute_retracted_at is None:
        raise TreatmentError({"__all__": "An absolute contraindication is recorded in the latest eligibility "
                              "assessment: no order can be written."})
    if assessment is None:
        raise TreatmentError({"__all__": f"No signed eligibility assessment for {Drug(drug).label}: complete the "
                              "consult and have a prescriber sign it first."})
    if not assessment.allows_orders:
        raise TreatmentError({"__all__": f"The signed eligibility assessment is '{assessment.get_decision_display()}'"
                              f" ({assessment.get_outcome_display()}): no order can be written."})

    def int_field(name: str, label: str, lo: int, hi: int, default: int | None = None) -> int | None:
        raw = data.get(name)
        if raw in (None, ""):
            return default
        try:
            v = int(str(raw))
        except ValueError:
            errors[name] = f"{label} must be a whole number."
            return None
        if not lo <= v <= hi:
            errors[name] = f"{label} must be from {lo} to {hi}."
        return v

    sessions = int_field("sessions_planned", "Number of sessions", 1, 52, 6)
    per_week = int_field("sessions_per_week", "Sessions per week", 1, 3, 2)
    spacing = int_field("min_spacing_days", "Minimum days between sessions", 1, 14, 1)
    minutes = int_field("infusion_minutes", "Infusion minutes", 1, 240)
    try:
        per_kg = _dec(data.get("dose_mg_per_kg"), "dose_mg_per_kg", "Dose (mg/kg)")
        fixed = _dec(data.get("fixed_dose_mg"), "fixed_dose_mg", "Dose (mg)")
        conc = _dec(data.get("concentration_mg_per_mL"), "concentration_mg_per_mL", "Vial concentration (mg/mL)")
        bag = _dec(data.get("bag_volume_mL"), "bag_volume_mL", "Bag volume (mL)")
    except TreatmentError as e:
        raise TreatmentError({**errors, **e.errors}) from None
    if errors:
        raise TreatmentError(errors)
    reason = str(data.get("dose_override_reason", "") or "").strip()
    indication = str(data.get("indication", "trd") or "trd")
    cfg = limits_for(patient)
    weight, height = latest_weight(patient)
    try:
        if route == Route.IV:
            if per_kg is None or minutes is None or conc is None or bag is None:
                raise TreatmentError({"dose_mg_per_kg": "IV orders need mg/kg, infusion minutes, vial concentration "
                                      "and bag volume."})
            if weight is None:
                raise TreatmentError({"__all__": "Record the patient's weight before writing a weight-based order."})
            calc = dosing.iv_infusion(float(weight), float(per_kg), minutes, float(conc), float(bag),
                                      override_reason=reason or None, settings=cfg)
        elif route == Route.IM:
            if per_kg is None or conc is None:
                raise TreatmentError({"dose_mg_per_kg": "IM orders need mg/kg and vial concentration."})
            if weight is None:
                raise TreatmentError({"__all__": "Record the patient's weight before writing a weight-based order."})
            calc = dosing.im_injection(float(weight), float(per_kg), float(conc), override_reason=reason or None,
                                       settings=cfg)
            minutes = None
        else:
            if fixed is None or fixed != fixed.to_integral_value():
                raise TreatmentError({"fixed_dose_mg": "Esketamine orders need a fixed dose in whole mg (56 or 84)."})
            first = not TreatmentSession.objects.filter(patient=patient, drug=Drug.ESKETAMINE,
                                                        dose_started_at__isnull=False).exists()
            calc = dosing.esketamine(int(fixed), first_session=first, indication=indication,
                                     override_reason=reason or None, settings=cfg)
            per_kg, minutes = None, None
    except ClinicalInputError as e:
        raise _clinical(e, "dose_mg_per_kg") from None
    if calc.blocked:
        raise TreatmentError({"dose_override_reason": " ".join(calc.warnings) or "Override reason required."})
    order = TreatmentOrder.objects.create(
        patient=patient, drug=drug, route=route, dose_mg_per_kg=per_kg, fixed_dose_mg=fixed if route ==
        Route.INTRANASAL else None, infusion_minutes=minutes, sessions_planned=sessions, sessions_per_week=per_week,
        min_spacing_days=spacing, created_by=actor.user, eligibility=assessment, indication=indication,
        concentration_mg_per_mL=conc if route != Route.INTRANASAL else None,
        bag_volume_mL=bag if route == Route.IV else None, dose_override_reason=reason,
        notes=str(data.get("notes", "") or "")[:2000],
    )
    audit.record(actor, "order.written", subject=order, patient=patient,
                 details={"drug": drug, "route": route, "mg_per_kg": per_kg, "fixed_mg": fixed, "minutes": minutes,
                          "sessions": sessions, "per_week": per_week, "override_reason": reason,
                          "eligibility": str(assessment.external_id)})
    if sign:
        order = sign_order(actor=actor, order=order)
    return order


@transaction.atomic
def sign_order(*, actor: Actor, order: TreatmentOrder) -> TreatmentOrder:
    _roles(actor, Role.PRESCRIBER, what="sign a treatment order")
    order = TreatmentOrder.objects.select_for_update().get(pk=order.pk)
    if order.status != TreatmentOrder.Status.DRAFT:
        raise TreatmentError("This order is already signed.")
    on_file = absolute_in_force(order.patient)
    if on_file:
        raise TreatmentError({"__all__": absolute_message(on_file)})
    order.status = TreatmentOrder.Status.ACTIVE
    order.signed_by = actor.user
    order.signed_at = timezone.now()
    order.save(update_fields=["status", "signed_by", "signed_at"])
    audit.record(actor, "order.signed", subject=order, patient=order.patient)
    return order


@transaction.atomic
def stop_order(*, actor: Actor, order: TreatmentOrder, reason: str) -> TreatmentOrder:
    _roles(actor, Role.PRESCRIBER, what="stop a treatment order")
    if not reason.strip():
        raise TreatmentError({"reason": "Give the reason for stopping the order."})
    order = TreatmentOrder.objects.select_for_update().get(pk=order.pk)
    order.status = TreatmentOrder.Status.STOPPED
    order.save(update_fields=["status"])
    audit.record(actor, "order.stopped", subject=order, patient=order.patient, details={"reason": reason})
    return order


@transaction.atomic
def stop_for_contraindication(*, actor: Actor, patient: Patient, assessment: EligibilityAssessment) -> None:
    """A prescriber signed an assessment with an absolute contraindication: stop the patient's active orders and
    cancel their sessions that have not started dosing (each audited)."""
    reason = absolute_message([assessment])
    for order in TreatmentOrder.objects.select_for_update().filter(patient=patient,
                                                                   status=TreatmentOrder.Status.ACTIVE):
        order.status = TreatmentOrder.Status.STOPPED
        order.save(update_fields=["status"])
        audit.record(actor, "order.stopped", subject=order, patient=patient,
                     details={"reason": reason, "assessment": str(assessment.external_id), "automatic": True})
    pending = (TreatmentSession.objects.select_for_update()
               .filter(patient=patient, status__in=(S.BOOKED, S.CHECKED_IN, S.PRE_CHECKS), dose_started_at__isnull=True))
    for s in pending:
        s.status = S.CANCELLED
        s.save(update_fields=["status"])
        audit.record(actor, "session.cancelled", subject=s, patient=patient,
                     details={"reason": reason, "assessment": str(assessment.external_id), "automatic": True})


def dosing_blockers(s: TreatmentSession) -> list[str]:
    """The order must be signed and active and no absolute contraindication may be on file (checked at prepare,
    verify and start, because either can change after the session was booked)."""
    problems = []
    order = s.order
    if order.status != TreatmentOrder.Status.ACTIVE or order.signed_at is None:
        problems.append(f"The treatment order is {order.get_status_display().lower()}, not signed and active: "
                        "no dose can be given")
    on_file = absolute_in_force(s.patient)
    if on_file:
        problems.append(absolute_message(on_file).rstrip("."))
    return problems


def _require_dosable(s: TreatmentSession) -> None:
    problems = dosing_blockers(s)
    if problems:
        raise TreatmentError({"__all__": "; ".join(problems) + "."})


# ============================================================================================ series and booking
def default_minutes(order: TreatmentOrder, cfg: Mapping[str, object]) -> int:
    """Chair time to book: 30 min of pre-checks + dosing + the route's minimum observation (a booking default,
    the front desk can change it)."""
    obs = {"iv": "observation.iv_min_minutes", "im": "observation.im_min_minutes",
           "intranasal": "observation.esketamine_min_minutes"}[order.route]
    return 30 + int(order.infusion_minutes or 0) + int(cfg[obs])  # type: ignore[arg-type]


def propose_series(order: TreatmentOrder, start: date, clinic: Clinic) -> list[tuple[date, str]]:
    """Dates for the remaining sessions of the order, from the clinical core's schedules."""
    booked = order.sessions.exclude(status__in=CLOSED).count()
    remaining = max(0, order.sessions_planned - booked)
    if remaining == 0:
        return []
    weekdays = clinic.weekdays() or schedules.WEEKDAYS
    try:
        if order.drug == Drug.ESKETAMINE:
            cfg = clinic.limits()
            weeks = 12
            cal = schedules.esketamine_calendar(
                start, working_weekdays=weekdays, total_weeks=max(weeks, remaining),
                maintenance_every_weeks=int(cfg["schedules.esketamine_maintenance_every_weeks"]))  # type: ignore
            return cal[:remaining]
        dates = schedules.induction_series(start, remaining, order.sessions_per_week,
                                           min_spacing_days=order.min_spacing_days, working_weekdays=weekdays)
        return [(d, "induction") for d in dates]
    except ClinicalInputError as e:
        raise _clinical(e) from None


def booking_conflicts(*, order: TreatmentOrder, start: datetime, minutes: int, room: Room, chair: Chair | None,
                      exclude_pk: int | None = None) -> list[str]:
    """Every reason the booking is refused (empty when it can be booked)."""
    problems: list[str] = []
    end = start + timedelta(minutes=minutes)
    live = TreatmentSession.objects.exclude(status__in=CLOSED)
    if exclude_pk:
        live = live.exclude(pk=exclude_pk)
    overlap = live.filter(scheduled_start__lt=end).select_related("patient", "chair", "room")
    candidates = [s for s in overlap.filter(Q(room=room) | Q(patient=order.patient)) if s.scheduled_end > start]
    for s in candidates:
        if chair is not None and s.chair_id == chair.pk:
            problems.append(f"{chair} is already booked {timezone.localtime(s.scheduled_start):%H:%M}-"
                            f"{timezone.localtime(s.scheduled_end):%H:%M}.")
        elif s.room_id == room.pk and (chair is None or s.chair_id is None):
            problems.append(f"{room.name} is already booked {timezone.localtime(s.scheduled_start):%H:%M}-"
                            f"{timezone.localtime(s.scheduled_end):%H:%M}.")
    tz = order.patient.clinic.tz
    day = start.astimezone(tz).date()
    same_day = [s for s in live.filter(patient=order.patient,
                                       scheduled_start__gte=start - timedelta(days=1),
                                       scheduled_start__lt=start + timedelta(days=1))
                if s.scheduled_start.astimezone(tz).date() == day]
    if same_day:
        problems.append(f"{order.patient.display_name} already has a session on {day:%Y-%m-%d}.")
    dates = sorted({s.scheduled_start.astimezone(tz).date()
                    for s in live.filter(order=order)} | {day})
    for p in schedules.check_spacing(dates, order.min_spacing_days):
        if str(day) in p and "two sessions" not in p:
            problems.append(f"Spacing: {p} (the order allows at least {order.min_spacing_days} day(s)).")
    if order.drug == Drug.KETAMINE:
        week = [d for d in dates if abs((d - day).days) < 7]
        # at most sessions_per_week in any 7-day window containing the new date
        for anchor in week:
            window = [d for d in dates if 0 <= (d - anchor).days < 7]
            if day in window and len(window) > order.sessions_per_week:
                problems.append(f"More than {order.sessions_per_week} sessions in the 7 days from {anchor}: the "
                                "order's frequency does not allow it.")
                break
    return problems


@transaction.atomic
def book_session(*, actor: Actor, order: TreatmentOrder, start: datetime, room: Room, chair: Chair | None = None,
                 minutes: int | None = None) -> TreatmentSession:
    _roles(actor, Role.FRONT_DESK, Role.PRESCRIBER, Role.NURSE, Role.CLINIC_ADMIN, what="book a session")
    order = TreatmentOrder.objects.select_for_update().select_related("patient", "patient__clinic").get(pk=order.pk)
    if order.status != TreatmentOrder.Status.ACTIVE:
        raise TreatmentError("Only a signed, active order can be booked.")
    if timezone.is_naive(start):
        raise TreatmentError({"start": "Give a date and time."})
    if room.kind not in (Room.Kind.INFUSION, Room.Kind.INTRANASAL, Room.Kind.RECOVERY):
        raise TreatmentError({"room": f"{room.name} is a {room.get_kind_display().lower()}, not a dosing room."})
    if chair is not None and chair.room_id != room.pk:
        raise TreatmentError({"chair": f"{chair} is not in {room.name}."})
    if chair is None and room.chairs.filter(active=True).exists():
        raise TreatmentError({"chair": f"Choose a chair in {room.name}."})
    cfg = limits_for(order.patient)
    minutes = minutes or default_minutes(order, cfg)
    if not 15 <= minutes <= 600:
        raise TreatmentError({"minutes": "Booked minutes must be from 15 to 600."})
    if start < timezone.now() - timedelta(hours=12):
        raise TreatmentError({"start": "That time is in the past."})
    taken = order.sessions.exclude(status__in=CLOSED).count()
    if taken >= order.sessions_planned:
        raise TreatmentError(f"All {order.sessions_planned} sessions of this order are already booked.")
    problems = booking_conflicts(order=order, start=start, minutes=minutes, room=room, chair=chair)
    if problems:
        raise TreatmentError({"start": " ".join(problems)})
    seq = (order.sessions.order_by("-sequence").values_list("sequence", flat=True).first() or 0) + 1
    session = TreatmentSession.objects.create(
        patient=order.patient, order=order, sequence=seq, drug=order.drug, route=order.route, room=room, chair=chair,
        scheduled_start=start, scheduled_minutes=minutes, booked_by=actor.user,
        escort_name="", escort_phone="",
    )
    audit.record(actor, "session.booked", subject=session, patient=order.patient,
                 details={"start": start.isoformat(), "room": room.name, "chair": chair.label if chair else "",
                          "minutes": minutes, "sequence": seq})
    return session


@transaction.atomic
def cancel_session(*, actor: Actor, session: TreatmentSession, reason: str, no_show: bool = False) -> TreatmentSession:
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status not in (S.BOOKED, S.CHECKED_IN):
        raise TreatmentError("Only a session that has not started can be cancelled.")
    if not reason.strip():
        raise TreatmentError({"reason": "Give the reason."})
    session.status = S.NO_SHOW if no_show else S.CANCELLED
    session.save(update_fields=["status"])
    audit.record(actor, "session.cancelled", subject=session, patient=session.patient,
                 details={"reason": reason, "no_show": no_show})
    return session


# ============================================================================================ the session
def _lock(session: TreatmentSession) -> TreatmentSession:
    s = (TreatmentSession.objects.select_for_update()
         .select_related("patient", "patient__clinic", "order").get(pk=session.pk))
    if s.is_signed:
        raise TreatmentError("The session note is signed: it is read-only. Add an addendum to correct it.")
    return s


@transaction.atomic
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
    audit.record(actor, "session.checked_in", subject=s, patient=s.patient)
    return s


PRECHECK_BOOLS = ("identity_confirmed", "fasting_confirmed", "no_driving_acknowledged", "consent_on_file")


@transaction.atomic
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
        previous = (s.patient.measurements.filter(status="final").exclude(weight_kg=None)
                    .order_by("-measured_at").values_list("weight_kg", flat=True).first())
        try:
            warnings = list(dosing.check_weight(float(w), float(previous) if previous else None,  # type: ignore
                                                settings=limits_for(s.patient)))
        except ClinicalInputError as e:
            raise _clinical(e, "weight_kg") from None
        if w != s.weight_kg and s.prepared_dose_mg is not None:
            _clear_preparation(s)
        new["weight_kg"] = w
    diff = audit.changes(s, new)
    for k, v in new.items():
        setattr(s, k, v)
    if s.status == S.CHECKED_IN:
        s.status = S.PRE_CHECKS
    s.save()
    audit.record(actor, "session.prechecks.saved", subject=s, patient=s.patient,
                 details={"changes": diff, "warnings": warnings})
    _refresh_readiness(s)
    return warnings


def precheck_missing(s: TreatmentSession) -> list[str]:
    missing = []
    if not s.identity_confirmed:
        missing.append("Identity not checked")
    if s.weight_kg is None and s.route != Route.INTRANASAL:
        missing.append("Today's weight not recorded")
    if not s.fasting_confirmed:
        missing.append("Fasting not confirmed")
    if not s.consent_on_file:
        missing.append("Consent on file not confirmed")
    if rules.pregnancy_test_applies(s.patient.sex_at_birth) and not s.pregnancy_test:
        missing.append("Pregnancy test result not recorded")
    if s.pregnancy_test == "positive" and not s.predose_overrides.filter(kind=PredoseOverride.Kind.PREGNANCY).exists():
        missing.append("Positive pregnancy test: prescriber override needed")
    if not s.no_driving_acknowledged:
        missing.append("No-driving acknowledgement not recorded")
    return missing


@transaction.atomic
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
    audit.record(actor, "session.predose_hold.overridden", subject=s, patient=s.patient,
                 details={"kind": kind, "reason": reason, "level": VitalsReading.LEVELS.get(o.level),
                          "reading": o.reading_id, "reading_bp": o.reading.bp if o.reading else None,
                          "reading_taken_at": o.reading.taken_at.isoformat() if o.reading else None,
                          "covers_through": o.covers_through_id})
    return o


def _phase_for(s: TreatmentSession) -> str:
    if s.dose_started_at is None:
        return Phase.PRE_DOSE
    if s.dose_ended_at is None:
        return Phase.DURING
    return Phase.RECOVERY


def _reading(r: VitalsReading) -> VitalReading:
    return VitalReading(**{f: getattr(r, f) for f in VITAL_FIELDS})


@transaction.atomic
def add_vitals(*, actor: Actor, session: TreatmentSession, values: Mapping[str, object],
               taken_at: datetime | None = None) -> VitalsReading:
    """Save one row of vital signs on its own, classified by the clinical core."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record vital signs")
    s = _lock(session)
    now = timezone.now()
    taken_at = taken_at or now
    started = s.checked_in_at
    if started is None or s.status in (S.BOOKED, *CLOSED):
        raise TreatmentError({"taken_at": "Check the patient in before recording vital signs."})
    if s.status in FINISHED:
        raise TreatmentError({"taken_at": f"The patient has been {s.get_status_display().lower()}."})
    if taken_at > now + CLOCK_SKEW:
        raise TreatmentError({"taken_at": f"{timezone.localtime(taken_at):%H:%M} is in the future; check the time."})
    if taken_at < started:
        raise TreatmentError({"taken_at": f"{timezone.localtime(taken_at):%H:%M} is before the session started "
                              f"({timezone.localtime(started):%H:%M})."})
    clean: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for f in VITAL_FIELDS:
        raw = values.get(f)
        if raw in (None, ""):
            clean[f] = None
            continue
        try:
            clean[f] = int(str(raw).strip())
        except ValueError:
            errors[f] = f"{VITAL_LABELS[f]} must be a whole number."
    if errors:
        raise TreatmentError(errors)
    if all(v is None for v in clean.values()):
        raise TreatmentError({"systolic_mmHg": "Enter at least one vital sign."})
    reading = VitalReading(**clean)  # type: ignore[arg-type]
    try:
        validate_reading(reading)
    except ClinicalInputError as e:
        raise TreatmentError({e.field or "systolic_mmHg": f"{VITAL_LABELS.get(e.field or '', '')} {e.message}".strip()}) \
            from None
    if clean["heart_rate_bpm"] == 0:  # validate_reading already refuses 0; kept explicit for clarity
        raise TreatmentError({"heart_rate_bpm": "Heart rate 0 in a conscious patient is not possible; re-measure."})
    phase = _phase_for(s)
    cfg = limits_for(s.patient)
    rows = list(s.vitals.order_by("taken_at", "pk").only("taken_at", "phase", *VITAL_FIELDS))
    pre_rows = [r for r in rows if r.phase == Phase.PRE_DOSE]
    baseline = _reading(pre_rows[-1]) if pre_rows else None  # the reading the dose was started on
    try:
        if phase == Phase.PRE_DOSE:
            assessment = classify_reading(reading, phase=phase, settings=cfg)
        else:
            series = [(r.taken_at, _reading(r)) for r in rows if r.phase != Phase.PRE_DOSE] + [(taken_at, reading)]
            assessment = classify_series(series, phase=phase, baseline=baseline, settings=cfg)
    except ClinicalInputError as e:
        raise _clinical(e) from None
    row = VitalsReading.objects.create(
        session=s, taken_at=taken_at, phase=phase, level=int(assessment.level), recorded_by=actor.user,
        findings=[{"vital": f.vital, "level": int(f.level), "message": f.message, "source": f.source}
                  for f in assessment.findings], **clean,
    )
    latest_at = max([r.taken_at for r in rows] + [taken_at])
    fields = ["last_vitals_at"]
    s.last_vitals_at = latest_at
    if taken_at >= latest_at:
        s.alert_level = int(assessment.level)
        fields.append("alert_level")
    s.save(update_fields=fields)
    audit.record(actor, "session.vitals.recorded", subject=s, patient=s.patient,
                 details={"phase": phase, "level": assessment.level.name, **clean, "taken_at": taken_at.isoformat()})
    _refresh_readiness(s)
    return row


def predose_hold(s: TreatmentSession, pre_rows: list[VitalsReading],
                 overrides: list[PredoseOverride] | None = None) -> VitalsReading | None:
    """The pre-dose reading that holds the dose: the WORST pre-dose reading recorded since the last vitals
    override (or since check-in), when it is at HOLD or worse. A later normal reading does not erase it, and an
    override covers only the readings recorded up to it (clinical.md §1, §3c)."""
    if overrides is None:
        overrides = list(s.predose_overrides.filter(kind=PredoseOverride.Kind.VITALS).order_by("at", "pk"))
    vitals_overrides = [o for o in overrides if o.kind == PredoseOverride.Kind.VITALS]
    since = vitals_overrides[-1].covers_through_id if vitals_overrides else None
    uncovered = [r for r in pre_rows if since is None or r.pk > since]
    if not uncovered:
        return None
    worst = max(r.level for r in uncovered)
    if worst < Level.HOLD:
        return None
    return [r for r in uncovered if r.level == worst][-1]


def _has_bp(r: VitalsReading) -> bool:
    return r.systolic_mmHg is not None and r.diastolic_mmHg is not None


def predose_vitals_acceptable(s: TreatmentSession, rows: list[VitalsReading]) -> bool:
    """REMS 'vital signs acceptable before administration': the latest pre-dose reading includes a blood pressure
    and no pre-dose reading was at HOLD or worse (an overridden hold was not within the limits)."""
    pre = [r for r in rows if r.phase == Phase.PRE_DOSE]
    return bool(pre) and _has_bp(pre[-1]) and max(r.level for r in pre) < Level.HOLD


# ------------------------------------------------------------------------------------------- dose
def _clear_preparation(s: TreatmentSession) -> None:
    s.prepared_dose_mg = s.prepared_by = s.prepared_at = None  # type: ignore[assignment]
    s.verified_by = s.verified_at = s.verified_weight_kg = s.verified_dose_mg = None  # type: ignore[assignment]


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


@transaction.atomic
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


def verify_dose(*, actor: Actor, session: TreatmentSession, weight_kg: object, dose_mg: object) -> TreatmentSession:
    """Independent verification by a second clinician who enters weight and dose themselves. Refused for the
    person who prepared the dose and on any mismatch (tolerances in :mod:`ketaclinic.clinical.session`).

    A refusal is decided inside the transaction and its audit entry committed with it; the refusal is raised only
    after the commit, so the attempt stays in the audit trail (as ``accounts.services.sign_in`` does)."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="verify a dose")
    refusal: TreatmentError | None = None
    with transaction.atomic():
        s = _lock(session)
        if s.prepared_dose_mg is None:
            raise TreatmentError("No dose has been prepared yet.")
        if s.dose_started_at:
            raise TreatmentError("Dosing has already started.")
        if actor.user_id == s.prepared_by_id:
            audit.record(actor, "session.dose.verification_refused", subject=s, patient=s.patient,
                         details={"reason": "same user as preparer"})
            refusal = TreatmentError("You prepared this dose: a second clinician, signed in as themselves, must "
                                     "verify it.")
        else:
            if s.verified_at:
                raise TreatmentError("This dose is already verified.")
            _require_dosable(s)
            refusal, dose, weight = _verification_errors(s, weight_kg, dose_mg)
            if refusal is not None:
                audit.record(actor, "session.dose.verification_refused", subject=s, patient=s.patient,
                             details={"entered_mg": str(dose if dose is not None else dose_mg)[:40],
                                      "entered_kg": str(weight if weight is not None else weight_kg)[:40],
                                      "errors": refusal.errors})
            else:
                s.verified_by = actor.user
                s.verified_at = timezone.now()
                s.verified_weight_kg = weight
                s.verified_dose_mg = dose
                s.save(update_fields=["verified_by", "verified_at", "verified_weight_kg", "verified_dose_mg"])
                audit.record(actor, "session.dose.verified", subject=s, patient=s.patient,
                             details={"dose_mg": str(dose), "weight_kg": str(weight)})
    if refusal is not None:
        raise refusal
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
def add_adverse_event(*, actor: Actor, session: TreatmentSession, data: Mapping[str, object]) -> AdverseEvent:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record adverse events")
    s = _lock(session)
    kind = str(data.get("kind", ""))
    if kind not in AdverseEvent.Kind.values:
        raise TreatmentError({"kind": "Choose the adverse event."})
    severity = str(data.get("severity", "mild"))
    if severity not in AdverseEvent.Severity.values:
        raise TreatmentError({"severity": "Choose mild, moderate or severe."})
    if kind == AdverseEvent.Kind.OTHER and not str(data.get("description", "")).strip():
        raise TreatmentError({"description": "Describe the event."})
    ae = AdverseEvent.objects.create(
        session=s, kind=kind, severity=severity, description=str(data.get("description", ""))[:300],
        action_taken=str(data.get("action_taken", ""))[:300],
        rescue_medication=str(data.get("rescue_medication", ""))[:200], recorded_by=actor.user,
        resolved_at=timezone.now() if data.get("resolved") else None)
    audit.record(actor, "session.adverse_event.recorded", subject=s, patient=s.patient,
                 details={"kind": kind, "severity": severity, "action": ae.action_taken,
                          "rescue_medication": ae.rescue_medication})
    _refresh_readiness(s)
    return ae


@transaction.atomic
def resolve_adverse_event(*, actor: Actor, session: TreatmentSession, event_id: object) -> AdverseEvent:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="resolve adverse events")
    s = _lock(session)
    pk = parse_id(event_id)
    ae = AdverseEvent.objects.select_for_update().filter(pk=pk, session=s).first() if pk is not None else None
    if ae is None:
        raise TreatmentError({"event": "That adverse event is not recorded in this session; reload the page."})
    if ae.resolved_at:
        raise TreatmentError("Already resolved.")
    ae.resolved_at = timezone.now()
    ae.save(update_fields=["resolved_at"])
    audit.record(actor, "session.adverse_event.resolved", subject=s, patient=s.patient, details={"kind": ae.kind})
    _refresh_readiness(s)
    return ae


@transaction.atomic
def add_rating(*, actor: Actor, session: TreatmentSession, scale: str, timepoint: str,
               answers: Mapping[str, object]) -> SessionRating:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record ratings")
    s = _lock(session)
    if scale not in ("cadss", "moaas"):
        raise TreatmentError({"scale": "Choose CADSS or MOAA/S."})
    if timepoint not in SessionRating.Timepoint.values:
        raise TreatmentError({"timepoint": "Choose when the rating was made."})
    try:
        result = score(scale, answers, settings=limits_for(s.patient))  # type: ignore[arg-type]
    except ClinicalInputError as e:
        raise _clinical(e, "scale") from None
    if not result.complete:
        raise TreatmentError({"scale": result.detail})
    row = SessionRating.objects.create(
        session=s, scale=scale, timepoint=timepoint, answers=dict(result.answered), total=result.total,
        band=result.band or "", recorded_by=actor.user,
        flags=[{"code": f.code, "message": f.message, "urgent": f.urgent} for f in result.flags])
    audit.record(actor, "session.rating.recorded", subject=s, patient=s.patient,
                 details={"scale": scale, "timepoint": timepoint, "total": result.total})
    return row


@transaction.atomic
def add_observation(*, actor: Actor, session: TreatmentSession, text: str) -> Observation:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record observations")
    s = _lock(session)
    if not text.strip():
        raise TreatmentError({"text": "Write the observation."})
    obs = Observation.objects.create(session=s, text=text.strip()[:4000], recorded_by=actor.user)
    audit.record(actor, "session.observation.recorded", subject=s, patient=s.patient)
    return obs


# ------------------------------------------------------------------------------------------- discharge
def discharge_decision(s: TreatmentSession, rows: list[VitalsReading] | None = None,
                       active_ae: bool | None = None, now: datetime | None = None
                       ) -> discharge_rules.DischargeDecision | None:
    """The clinical core's readiness check for the session (None before the dose has ended)."""
    if s.dose_ended_at is None or s.dose_started_at is None:
        return None
    now = now or timezone.now()
    rows = rows if rows is not None else list(s.vitals.order_by("taken_at", "pk"))
    if active_ae is None:
        active_ae = s.adverse_events.filter(resolved_at__isnull=True).exists()
    clock = s.dose_started_at if s.route == Route.INTRANASAL else s.dose_ended_at
    minutes = max(0, int((now - clock).total_seconds() // 60))
    post = [r for r in rows if r.phase != Phase.PRE_DOSE]
    pre = [r for r in rows if r.phase == Phase.PRE_DOSE]
    return discharge_rules.discharge_readiness(discharge_rules.DischargeInput(
        route=s.route, minutes_since_dose_end=min(minutes, 24 * 60),
        latest=_reading(post[-1]) if post else None, baseline=_reading(pre[-1]) if pre else None,
        alert_and_oriented=s.alert_and_oriented, steady_gait=s.steady_gait, active_adverse_event=active_ae,
        escort_present=bool(s.escort_name.strip() and s.escort_phone.strip()),
        no_driving_acknowledged=s.no_driving_acknowledged), settings=limits_for(s.patient))


def _refresh_readiness(s: TreatmentSession) -> None:
    if s.status not in (S.OBSERVATION, S.READY):
        return
    d = discharge_decision(s)
    new = S.READY if d is not None and d.ready else S.OBSERVATION
    if new != s.status:
        s.status = new
        TreatmentSession.objects.filter(pk=s.pk).update(status=new)


@transaction.atomic
def record_recovery(*, actor: Actor, session: TreatmentSession, alert_and_oriented: bool,
                    steady_gait: bool) -> TreatmentSession:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record recovery status")
    s = _lock(session)
    s.alert_and_oriented, s.steady_gait = alert_and_oriented, steady_gait
    s.save(update_fields=["alert_and_oriented", "steady_gait"])
    audit.record(actor, "session.recovery.recorded", subject=s, patient=s.patient,
                 details={"alert_and_oriented": alert_and_oriented, "steady_gait": steady_gait})
    _refresh_readiness(s)
    return s


@transaction.atomic
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
    if s.route == Route.INTRANASAL:
        hard = esketamine_discharge_limits(s)
        if hard:
            raise TreatmentError({"discharge": "Esketamine: " + "; ".join(hard) + ". These label requirements "
                                  "cannot be overridden; if the patient must leave for emergency care, record the "
                                  "adverse event and use 'Transfer to emergency care'."})
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
    audit.record(actor, "session.discharged", subject=s, patient=s.patient,
                 details={"ready": d.ready, "missing": list(d.missing), "override_reason": s.discharge_override_reason})
    from ketaclinic.integration.services import offer_after

    offer_after(actor=actor, session=s)
    return s


def esketamine_discharge_limits(s: TreatmentSession, now: datetime | None = None) -> list[str]:
    """What the esketamine label requires before a patient goes home, which no discharge override can waive:
    monitoring for at least the minimum from the first device (clinical.md §3c 'Observation', >= 2 h; the clinic
    setting cannot go below 120), an escort to take the patient home and the no-driving acknowledgement
    (clinical.md §1 'Escort / driving', C label)."""
    now = now or timezone.now()
    problems = []
    minimum = int(limits_for(s.patient)["observation.esketamine_min_minutes"])  # type: ignore[arg-type]
    minutes = int((now - s.dose_started_at).total_seconds() // 60) if s.dose_started_at else 0
    if minutes < minimum:
        problems.append(f"monitored {minutes} of at least {minimum} min from the first device")
    if not (s.escort_name.strip() and s.escort_phone.strip()):
        problems.append("no escort (name and phone) recorded to take the patient home")
    if not s.no_driving_acknowledged:
        problems.append("no-driving acknowledgement not recorded")
    return problems


@transaction.atomic
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
    ae = add_adverse_event(actor=actor, session=s, data=adverse_event)
    now = timezone.now()
    if s.dose_ended_at is None:
        if administered_mg not in (None, ""):
            mg = _dec(administered_mg, "administered_mg", "Administered dose (mg)")
        elif s.route == Route.INTRANASAL:
            mg = Decimal(dosing.ESKETAMINE_DEVICE_MG * s.events.filter(kind=SessionEvent.Kind.DEVICE).count())
        else:
            mg = s.prepared_dose_mg
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
    audit.record(actor, "session.transferred_to_emergency", subject=s, patient=s.patient,
                 details={"note": s.transfer_note, "adverse_event": ae.kind, "severity": ae.severity,
                          "administered_mg": str(s.administered_mg)})
    return s


# ------------------------------------------------------------------------------------------- REMS
def _bp(r: VitalsReading | None) -> str:
    return r.bp if r is not None and r.systolic_mmHg is not None else ""


def rems_bp_points(s: TreatmentSession, rows: list[VitalsReading]) -> tuple[str, str, str]:
    """BP before administration, ~40 min after the first device (closest reading), and before completion."""
    pre = [r for r in rows if r.phase == Phase.PRE_DOSE and r.systolic_mmHg]
    post = [r for r in rows if r.phase != Phase.PRE_DOSE and r.systolic_mmHg]
    target_min = int(limits_for(s.patient)["vitals.esketamine_bp_check_minutes"])  # type: ignore[arg-type]
    at40 = None
    if s.dose_started_at and post:
        target = s.dose_started_at + timedelta(minutes=target_min)
        at40 = min(post, key=lambda r: abs((r.taken_at - target).total_seconds()))
    return _bp(pre[-1] if pre else None), _bp(at40), _bp(post[-1] if post else None)


def _complete_rems(s: TreatmentSession, now: datetime, *, transferred: bool = False) -> None:
    """Fill the REMS form at the end of the session. A form is never 'complete' with less than the minimum
    monitoring (clinical.md §3c 'Form fields': >= 2 h): discharge home below it is refused; an emergency transfer
    gets a form marked with the adverse event and the transfer."""
    minimum = int(limits_for(s.patient)["observation.esketamine_min_minutes"])  # type: ignore[arg-type]
    monitored = int((now - s.dose_started_at).total_seconds() // 60) if s.dose_started_at else None
    if not transferred and (monitored is None or monitored < minimum):
        raise TreatmentError({"discharge": f"The REMS form needs at least {minimum} minutes of monitoring from the "
                              f"first device ({monitored or 0} so far)."})
    form, _ = RemsForm.objects.select_for_update().get_or_create(session=s)
    rows = list(s.vitals.order_by("taken_at", "pk"))
    form.bp_before, form.bp_40min, form.bp_before_completion = rems_bp_points(s, rows)
    form.dose_mg = int(s.administered_mg or s.prepared_dose_mg or 0)
    form.lot_number, form.devices = s.lot_number, s.devices
    post = [r for r in rows if r.phase != Phase.PRE_DOSE]
    form.vitals_acceptable_before = predose_vitals_acceptable(s, rows)
    form.vitals_acceptable_completion = bool(post) and post[-1].level == Level.OK
    form.minutes_monitored = monitored
    if transferred:
        form.ready_to_leave_minutes = None  # never ready to leave home: transferred to emergency care
    elif form.ready_to_leave_minutes is None:
        form.ready_to_leave_minutes = max(monitored or 0, minimum)
    ratings = list(s.ratings.all())
    if form.sedation is None:
        form.sedation = any(r.scale == "moaas" and (r.total or 5) < 5 for r in ratings)
    if form.dissociation is None:
        form.dissociation = any(r.scale == "cadss" and (r.total or 0) > 0 for r in ratings)
    if form.respiratory_depression is None:
        form.respiratory_depression = any(ae.kind == AdverseEvent.Kind.DESATURATION for ae in s.adverse_events.all())
    form.adverse_events = "; ".join(f"{ae.get_kind_display()} ({ae.severity})" for ae in s.adverse_events.all())
    days = int(limits_for(s.patient)["custody.rems_form_days"])  # type: ignore[arg-type]
    form.transferred_to_emergency = transferred
    if transferred:
        form.adverse_events = ("Transferred to emergency care: " + s.transfer_note + ". " + form.adverse_events).strip()
    form.status = RemsForm.Status.TRANSFERRED if transferred else RemsForm.Status.COMPLETE
    form.completed_at = now
    form.due_by = (s.dose_started_at or now).astimezone(s.patient.clinic.tz).date() + timedelta(days=days)
    form.save()


@transaction.atomic
def update_rems(*, actor: Actor, session: TreatmentSession, data: Mapping[str, object]) -> RemsForm:
    """Answers the nurse gives during the session: sedation, dissociation, respiratory depression, ready-to-leave
    minutes (at least the label's minimum observation)."""
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="record REMS monitoring data")
    s = _lock(session)
    if s.route != Route.INTRANASAL:
        raise TreatmentError("REMS monitoring applies to esketamine sessions.")
    form, _ = RemsForm.objects.select_for_update().get_or_create(session=s)
    if form.status == RemsForm.Status.SUBMITTED:
        raise TreatmentError("The REMS form has been submitted.")

    def yn(name: str) -> bool | None:
        v = data.get(name)
        return None if v in (None, "") else v in ("yes", "true", "1", True)
    for name in ("sedation", "dissociation", "respiratory_depression"):
        if name in data:
            setattr(form, name, yn(name))
    if data.get("ready_to_leave_minutes") not in (None, ""):
        try:
            m = parse_whole(data["ready_to_leave_minutes"], "Ready to leave (minutes)",
                            max_value=READY_TO_LEAVE_MAX_MINUTES)
        except InputError as e:
            raise TreatmentError({"ready_to_leave_minutes": e.message}) from None
        minimum = int(limits_for(s.patient)["observation.esketamine_min_minutes"])  # type: ignore[arg-type]
        if m is None or m < minimum:
            raise TreatmentError({"ready_to_leave_minutes": f"The label requires at least {minimum} minutes of "
                                  "monitoring from the first device."})
        form.ready_to_leave_minutes = m
    form.save()
    audit.record(actor, "session.rems.updated", subject=s, patient=s.patient,
                 details={k: str(v) for k, v in data.items()})
    return form


@transaction.atomic
def mark_rems_submitted(*, actor: Actor, form: RemsForm) -> RemsForm:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, Role.COMPLIANCE, what="mark a REMS form submitted")
    form = RemsForm.objects.select_for_update().select_related("session", "session__patient").get(pk=form.pk)
    if form.status not in (RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED):
        raise TreatmentError("Only a completed form can be marked submitted.")
    form.status = RemsForm.Status.SUBMITTED
    form.submitted_at = timezone.now()
    form.submitted_by = actor.user
    form.save(update_fields=["status", "submitted_at", "submitted_by"])
    audit.record(actor, "rems.form.submitted", subject=form.session, patient=form.session.patient)
    return form


def rems_due(clinic: Clinic, within_days: int = 7, today: date | None = None):
    today = today or timezone.localdate()
    return (RemsForm.objects.filter(status__in=(RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED),
                                    session__patient__clinic=clinic,
                                    due_by__lte=today + timedelta(days=within_days))
            .select_related("session", "session__patient").order_by("due_by"))


# ------------------------------------------------------------------------------------------- signing
def sign_note(*, actor: Actor, session: TreatmentSession, as_role: str, summary: str = "") -> TreatmentSession:
    """Nurse signs first (with the summary), then the prescriber co-signs. After the first signature the session
    record is read-only; corrections are addenda. The co-signature is a second person's: someone holding both
    roles cannot co-sign the note they signed as the nurse (that refusal is audited and kept)."""
    refusal: TreatmentError | None = None
    with transaction.atomic():
        s = (TreatmentSession.objects.select_for_update().select_related("patient", "patient__clinic")
             .get(pk=session.pk))
        if s.status not in FINISHED:
            raise TreatmentError("The note is signed after discharge.")
        now = timezone.now()
        if as_role == Role.NURSE:
            _roles(actor, Role.NURSE, what="sign as the nurse")
            if s.nurse_signed_at:
                raise TreatmentError("The nurse has already signed; the note is read-only. Add an addendum.")
            if not summary.strip() and not s.note_summary:
                raise TreatmentError({"note_summary": "Write the session summary before signing."})
            if summary.strip():
                s.note_summary = summary.strip()[:8000]
            s.nurse_signed_by, s.nurse_signed_at = actor.user, now
        elif as_role == Role.PRESCRIBER:
            _roles(actor, Role.PRESCRIBER, what="co-sign as the prescriber")
            if s.prescriber_signed_at:
                raise TreatmentError("The prescriber has already signed.")
            if not s.nurse_signed_at:
                raise TreatmentError("The nurse signs the note first.")
            if summary.strip():
                raise TreatmentError({"note_summary": "The note is signed by the nurse: add an addendum instead of "
                                      "editing it."})
            if actor.user_id is not None and actor.user_id == s.nurse_signed_by_id:
                refusal = TreatmentError("You signed this note as the nurse: the co-signature must be another "
                                         "prescriber's.")
                audit.record(actor, "session.note.signature_refused", subject=s, patient=s.patient,
                             details={"as_role": as_role, "reason": "same user as the nurse signer"})
            else:
                s.prescriber_signed_by, s.prescriber_signed_at = actor.user, now
        else:
            raise TreatmentError("Sign as nurse or prescriber.")
        if refusal is None:
            s.save()
            audit.record(actor, f"session.note.signed.{as_role}", subject=s, patient=s.patient)
    if refusal is not None:
        raise refusal
    return s


@transaction.atomic
def add_addendum(*, actor: Actor, session: TreatmentSession, text: str) -> Addendum:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, what="add an addendum")
    s = TreatmentSession.objects.select_for_update().select_related("patient").get(pk=session.pk)
    if not s.is_signed:
        raise TreatmentError("The note is not signed yet: edit it directly.")
    if not text.strip():
        raise TreatmentError({"text": "Write the addendum."})
    a = Addendum.objects.create(session=s, text=text.strip()[:8000], by=actor.user)
    audit.record(actor, "session.addendum.added", subject=s, patient=s.patient, details={"text": a.text})
    return a


def next_vitals_due(s: TreatmentSession) -> datetime | None:
    """When the next vitals reading is due, for the phase the session is in."""
    if s.status not in (S.DOSING, S.OBSERVATION, S.READY) or s.dose_started_at is None:
        return None
    phase = _phase_for(s)
    interval = rules.vitals_interval_minutes(s.route, phase, limits_for(s.patient))
    base = s.last_vitals_at or s.dose_started_at
    if s.last_vitals_at and s.last_vitals_at < s.dose_started_at:
        base = s.dose_started_at
    return base + timedelta(minutes=interval)
