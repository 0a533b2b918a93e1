"""Treatment orders: a prescriber writes, signs and stops an order; an absolute contraindication stops them all.

Also what an order must be for a dose to be given (:func:`dosing_blockers`), checked again at prepare, verify and
start because the order or the patient's contraindications can change after a session is booked.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import dosing
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.inputs import InputError, parse_whole
from ketaclinic.patients.models import Patient
from ketaclinic.patients.services import latest_height_cm, latest_weight_kg
from ketaclinic.screening.models import EligibilityAssessment
from ketaclinic.screening.services import (
    absolute_in_force,
    absolute_message,
    current_assessment,
    latest_assessment,
)
from ketaclinic.treatments.models import Drug, Route, TreatmentOrder, TreatmentSession
from ketaclinic.treatments.services import titration
from ketaclinic.treatments.services._common import (
    ROUTES_FOR_DRUG,
    S,
    TreatmentError,
    _clinical,
    _dec,
    _intact,
    _roles,
    limits_for,
    use_case,
)

# field -> (label, lowest, highest, value when left blank): the counts an order is written with
ORDER_COUNTS: dict[str, tuple[str, int, int, int | None]] = {
    "sessions_planned": ("Number of sessions", 1, 52, 6),
    "sessions_per_week": ("Sessions per week", 1, 3, 2),
    "min_spacing_days": ("Minimum days between sessions", 1, 14, 1),
    "infusion_minutes": ("Infusion minutes", 1, 240, None),
}
INDICATIONS = (("trd", "Treatment-resistant depression"), ("mdsi", "MDD with acute suicidal ideation"))


#: Where a weight is recorded, for a refusal that needs one: any of these is the one weight history.
NEEDS_WEIGHT = ("Record the patient's weight before writing a weight-based order: on the chart ('Weight and "
                "height'), or at the consult's intake; either goes into the one weight history the order reads.")


def latest_weight(patient: Patient) -> tuple[Decimal | None, Decimal | None]:
    """(weight kg, height cm): the registry's latest final weight and latest final height, however far apart."""
    return latest_weight_kg(patient), latest_height_cm(patient)


@use_case
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

    def count(name: str) -> int | None:
        label, lo, hi, default = ORDER_COUNTS[name]
        try:
            value = parse_whole(data.get(name), label, min_value=lo, max_value=hi)
        except InputError as e:
            errors[name] = e.message
            return None
        return default if value is None else value

    sessions, per_week = count("sessions_planned"), count("sessions_per_week")
    spacing, minutes = count("min_spacing_days"), count("infusion_minutes")
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
    if indication not in dict(INDICATIONS):
        raise TreatmentError({"indication": "Choose the esketamine indication: treatment-resistant depression or "
                              "MDD with acute suicidal ideation."})
    cfg = limits_for(patient)
    weight, height = latest_weight(patient)
    try:
        if route == Route.IV:
            if per_kg is None or minutes is None or conc is None or bag is None:
                raise TreatmentError({"dose_mg_per_kg": "IV orders need mg/kg, infusion minutes, vial concentration "
                                      "and bag volume."})
            if weight is None:
                raise TreatmentError({"__all__": NEEDS_WEIGHT})
            calc = dosing.iv_infusion(float(weight), float(per_kg), minutes, float(conc), float(bag),
                                      override_reason=reason or None, settings=cfg)
        elif route == Route.IM:
            if per_kg is None or conc is None:
                raise TreatmentError({"dose_mg_per_kg": "IM orders need mg/kg and vial concentration."})
            if weight is None:
                raise TreatmentError({"__all__": NEEDS_WEIGHT})
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
    plan = titration.plan_for_order(route, indication, per_kg if route != Route.INTRANASAL else fixed, data, cfg)
    order = TreatmentOrder.objects.create(
        patient=patient, drug=drug, route=route, dose_mg_per_kg=per_kg, fixed_dose_mg=fixed if route ==
        Route.INTRANASAL else None, infusion_minutes=minutes, sessions_planned=sessions, sessions_per_week=per_week,
        min_spacing_days=spacing, created_by=actor.user, eligibility=assessment, indication=indication,
        concentration_mg_per_mL=conc if route != Route.INTRANASAL else None,
        bag_volume_mL=bag if route == Route.IV else None, dose_override_reason=reason,
        notes=str(data.get("notes", "") or "")[:2000],
    )
    audit.record(actor, AuditAction.ORDER_WRITTEN, subject=order, patient=patient,
                 details={"drug": drug, "route": route, "mg_per_kg": per_kg, "fixed_mg": fixed, "minutes": minutes,
                          "sessions": sessions, "per_week": per_week, "override_reason": reason,
                          "eligibility": str(assessment.external_id)})
    if plan is not None:
        titration.save_plan(actor, order, plan)
    if sign:
        order = sign_order.within(actor=actor, order=order)
    return order


@use_case
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
    seals.record(actor, AuditAction.ORDER_SIGNED, order, patient=order.patient)
    return order


@use_case
def stop_order(*, actor: Actor, order: TreatmentOrder, reason: str) -> TreatmentOrder:
    _roles(actor, Role.PRESCRIBER, what="stop a treatment order")
    if not reason.strip():
        raise TreatmentError({"reason": "Give the reason for stopping the order."})
    order = TreatmentOrder.objects.select_for_update().get(pk=order.pk)
    _intact(order)
    order.status = TreatmentOrder.Status.STOPPED
    order.save(update_fields=["status"])
    seals.record(actor, AuditAction.ORDER_STOPPED, order, patient=order.patient, details={"reason": reason})
    return order


@transaction.atomic
def stop_for_contraindication(*, actor: Actor, patient: Patient, assessment: EligibilityAssessment) -> None:
    """A prescriber signed an assessment with an absolute contraindication: stop the patient's active orders and
    cancel their sessions that have not started dosing (each audited).

    Not a use case of its own: a step of screening's ``sign_assessment``, run inside that use case's transaction
    (so it is not durable)."""
    reason = absolute_message([assessment])
    for order in TreatmentOrder.objects.select_for_update().filter(patient=patient,
                                                                   status=TreatmentOrder.Status.ACTIVE):
        _intact(order)
        order.status = TreatmentOrder.Status.STOPPED
        order.save(update_fields=["status"])
        seals.record(actor, AuditAction.ORDER_STOPPED, order, patient=patient,
                     details={"reason": reason, "assessment": str(assessment.external_id), "automatic": True})
    pending = (TreatmentSession.objects.select_for_update()
               .filter(patient=patient, status__in=(S.BOOKED, S.CHECKED_IN, S.PRE_CHECKS), dose_started_at__isnull=True))
    for s in pending:
        s.status = S.CANCELLED
        s.save(update_fields=["status"])
        audit.record(actor, AuditAction.SESSION_CANCELLED, subject=s, patient=patient,
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
