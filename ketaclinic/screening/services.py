"""Consult and eligibility use cases. Each validates, writes and audits in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import eligibility as elig
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.vitals import VitalReading, validate_reading
from ketaclinic.inputs import InputError, parse_decimal, parse_whole
from ketaclinic.patients.models import Patient
from ketaclinic.patients.services import HEIGHT_CM_RANGE, RegistryError, record_measurement
from ketaclinic.screening.models import BaselineScale, Consult, EligibilityAssessment, TreatmentTrial
from ketaclinic.screening.signals import absolute_contraindication_signed
from ketaclinic.usecases import use_case

BASELINE_SCALES = ("phq9", "gad7", "pcl5", "qids_sr16", "madrs", "cssrs_screener")
HISTORY_FLAG_LABELS = {f: f.replace("_", " ").capitalize() for f in elig.HISTORY_FLAGS}
MEDICATION_CLASS_LABELS = {
    "benzodiazepine": "Benzodiazepine", "other_sedative": "Other sedative / hypnotic", "opioid": "Opioid",
    "stimulant": "Psychostimulant", "maoi": "MAOI",
}


class ScreeningError(ValueError):
    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _require(actor: Actor, *roles: str, what: str) -> None:
    if not (set(roles) & set(actor.roles)):
        raise ScreeningError({"__all__": f"Only a {' or '.join(Role(r).label.lower() for r in roles)} can {what}."})


def _locked(consult: Consult) -> Consult:
    consult = Consult.objects.select_for_update().get(pk=consult.pk)
    if consult.is_locked:
        raise ScreeningError({"__all__": "This consult's assessment is signed: it is read-only. Start a new consult "
                              "to reassess."})
    return consult


@use_case
def start_consult(*, actor: Actor, patient: Patient, drug: str) -> Consult:
    if drug not in elig.Drug._value2member_map_:
        raise ScreeningError({"drug": "Choose ketamine or esketamine."})
    codes = list(patient.diagnoses.filter(status="active").values_list("code", flat=True))
    # Carry the previous consult's history flags and medication classes forward (pre-filled, editable): a new
    # consult must not forget an earlier finding such as an absolute contraindication.
    previous = (Consult.objects.filter(patient=patient).exclude(status=Consult.Status.ENTERED_IN_ERROR)
                .order_by("-created_at", "-pk").first())
    flags = list(previous.history_flags) if previous else []
    meds = list(previous.medication_classes) if previous else []
    latest = patient.measurements.filter(status="final").exclude(weight_kg=None).order_by("-measured_at").first()
    height = patient.measurements.filter(status="final").exclude(height_cm=None).order_by("-measured_at").first()
    consult = Consult.objects.create(
        patient=patient, drug=drug, diagnoses=codes, created_by=actor.user, history_flags=flags,
        medication_classes=meds, weight_kg=latest.weight_kg if latest else None, height_cm=height.height_cm if height else None,
    )
    audit.record(actor, AuditAction.CONSULT_STARTED, subject=consult, patient=patient, details={"drug": drug, "diagnoses": codes,
                                                                               "carried_history_flags": flags,
                                                                               "carried_medication_classes": meds,
                                                                               "carried_from": str(previous.external_id)
                                                                               if previous else None})
    return consult


def _dec_or_none(value: object, field: str, label: str, lo: Decimal, hi: Decimal, places: int = 2
                 ) -> Decimal | None:
    """A plain finite number (no exponent, NaN or infinity) in the plausible range, via the one strict parser
    (:func:`ketaclinic.inputs.parse_decimal`)."""
    try:
        return parse_decimal(value, label, min_value=lo, max_value=hi, places=places)
    except InputError as e:
        raise ScreeningError({field: e.message + " Check the units." if "from" in e.message else e.message}) \
            from None


def _int_or_none(value: object, field: str, label: str) -> int | None:
    """A whole number; the clinical core's vital-sign validation checks the range."""
    try:
        return parse_whole(value, label, max_value=10**6)
    except InputError as e:
        raise ScreeningError({field: e.message}) from None


@use_case
def update_intake(*, actor: Actor, consult: Consult, data: Mapping[str, object]) -> Consult:
    """Record diagnoses, history flags, medication classes, weight, height and baseline vitals."""
    consult = _locked(consult)
    errors: dict[str, str] = {}
    codes = [str(c).strip().upper() for c in data.get("diagnoses", []) if str(c).strip()]  # type: ignore[union-attr]
    for c in codes:
        if c not in elig.ICD10_CODES:
            errors["diagnoses"] = f"{c} is not in the clinic's ICD-10-CM list."
    flags = [f for f in data.get("history_flags", [])]  # type: ignore[union-attr]
    bad = [f for f in flags if f not in elig.HISTORY_FLAGS]
    if bad:
        errors["history_flags"] = f"Unknown history flag(s): {', '.join(bad)}"
    meds = [m for m in data.get("medication_classes", [])]  # type: ignore[union-attr]
    bad = [m for m in meds if m not in elig.MEDICATION_CLASSES]
    if bad:
        errors["medication_classes"] = f"Unknown medication class(es): {', '.join(bad)}"
    try:
        # The same plausible ranges as the patient registry: weight from the clinical core's settings (the dose
        # maths refuses anything outside them), height from the registry's data-entry range.
        limits = consult.patient.clinic.limits()
        weight = _dec_or_none(data.get("weight_kg"), "weight_kg", "Weight (kg)",
                              Decimal(str(limits["dosing.min_weight_kg"])), Decimal(str(limits["dosing.max_weight_kg"])))
        height = _dec_or_none(data.get("height_cm"), "height_cm", "Height (cm)", *HEIGHT_CM_RANGE, places=1)
        vitals = {
            "systolic_mmHg": _int_or_none(data.get("baseline_systolic_mmHg"), "baseline_systolic_mmHg", "Systolic"),
            "diastolic_mmHg": _int_or_none(data.get("baseline_diastolic_mmHg"), "baseline_diastolic_mmHg",
                                           "Diastolic"),
            "heart_rate_bpm": _int_or_none(data.get("baseline_heart_rate_bpm"), "baseline_heart_rate_bpm",
                                           "Heart rate"),
            "spo2_percent": _int_or_none(data.get("baseline_spo2_percent"), "baseline_spo2_percent", "SpO2"),
        }
    except ScreeningError as e:
        errors.update(e.errors)
        vitals = {}
        weight = height = None
    if vitals:
        try:
            validate_reading(VitalReading(**vitals))
        except ClinicalInputError as e:
            errors[f"baseline_{e.field}"] = e.message
    if errors:
        raise ScreeningError(errors)
    new = {
        "diagnoses": sorted(set(codes)), "history_flags": sorted(set(flags), key=elig.HISTORY_FLAGS.index),
        "medication_classes": sorted(set(meds), key=elig.MEDICATION_CLASSES.index), "weight_kg": weight,
        "height_cm": height, "baseline_systolic_mmHg": vitals["systolic_mmHg"],
        "baseline_diastolic_mmHg": vitals["diastolic_mmHg"], "baseline_heart_rate_bpm": vitals["heart_rate_bpm"],
        "baseline_spo2_percent": vitals["spo2_percent"], "notes": str(data.get("notes", consult.notes))[:5000],
    }
    if "drug" in data and data["drug"] in elig.Drug._value2member_map_:
        new["drug"] = data["drug"]
    diff = audit.changes(consult, new)
    measured = (weight if weight != consult.weight_kg else None, height if height != consult.height_cm else None)
    for k, v in new.items():
        setattr(consult, k, v)
    consult.updated_at = timezone.now()
    consult.save()
    consult.weight_warnings = ()  # the clinical core's warnings on a new weight, for the page to show
    if any(v is not None for v in measured):
        # The consult's weight and height are entries of the patient's one measurement history, which the chart,
        # the order and the dose read (not a copy kept on the consult alone).
        try:
            consult.weight_warnings = record_measurement.within(actor=actor, patient=consult.patient, unit="metric",
                                                         weight=measured[0], height=measured[1]).warnings
        except RegistryError as e:
            raise ScreeningError({"weight_kg" if "weight" in e.errors else "height_cm": " ".join(e.errors.values())}
                                 ) from None
    audit.record(actor, AuditAction.CONSULT_INTAKE_UPDATED, subject=consult, patient=consult.patient, details={"changes": diff})
    return consult


@use_case
def add_trial(*, actor: Actor, consult: Consult, drug: str, dose: str, weeks: object, adequate_dose: bool,
              outcome: str) -> TreatmentTrial:
    consult = _locked(consult)
    errors = {}
    if not drug.strip():
        errors["drug"] = "Name the drug or treatment."
    w = None
    try:
        w = parse_decimal(weeks, "Weeks", max_value=Decimal(520), places=1)
    except InputError as e:
        errors["weeks"] = e.message
    else:
        if w is None:
            errors["weeks"] = "Enter the number of weeks."
    if outcome not in TreatmentTrial.Outcome.values:
        errors["outcome"] = "Choose the response."
    if errors:
        raise ScreeningError(errors)
    trial = TreatmentTrial.objects.create(consult=consult, drug=drug.strip()[:120], dose=dose.strip()[:60], weeks=w,
                                          adequate_dose=bool(adequate_dose), outcome=outcome, recorded_by=actor.user)
    audit.record(actor, AuditAction.CONSULT_TRIAL_ADDED, subject=consult, patient=consult.patient,
                 details={"drug": trial.drug, "dose": trial.dose, "weeks": str(w), "adequate_dose": adequate_dose,
                          "outcome": outcome})
    return trial


@use_case
def record_scale(*, actor: Actor, consult: Consult, scale: str, answers: Mapping[str, object]) -> BaselineScale:
    """Record a baseline scale through the measures app (item by item, timing 'baseline'), so it is the baseline
    of the patient's trajectory and its safety answers (PHQ-9 item 9, QIDS item 12, C-SSRS high risk) open the
    urgent safety task for the clinician on call. The consult keeps a linked summary row. Answers the measures
    app refuses change nothing."""
    from ketaclinic.measures import services as measures
    from ketaclinic.measures.models import Timing

    consult = _locked(consult)
    if scale not in BASELINE_SCALES:
        raise ScreeningError({"scale": "Choose a baseline scale."})
    try:
        outcome = measures.record_administration.within(actor=actor, patient=consult.patient, scale=scale,
                                                 answers=answers, timing=Timing.BASELINE)  # type: ignore[arg-type]
    except measures.MeasureError as e:
        raise ScreeningError({"scale" if k in ("answers", "status") else k: v for k, v in e.errors.items()}) \
            from None
    result = outcome.result
    row = BaselineScale.objects.create(
        consult=consult, scale=scale, answers=dict(result.answered), total=result.total, band=result.band or "",
        complete=result.complete, detail=result.detail, recorded_by=actor.user, administration=outcome.administration,
        flags=[{"code": f.code, "message": f.message, "urgent": f.urgent, "source": f.source} for f in result.flags],
    )
    audit.record(actor, AuditAction.CONSULT_SCALE_RECORDED, subject=consult, patient=consult.patient,
                 details={"scale": scale, "total": result.total, "flags": [f.code for f in result.flags],
                          "administration": str(outcome.administration.external_id),
                          "safety_tasks": len(outcome.safety_tasks)})
    return row


def eligibility_input(consult: Consult) -> elig.EligibilityInput:
    trials = [elig.TreatmentTrial(t.drug, t.dose, float(t.weeks), t.adequate_dose, t.outcome)
              for t in consult.trials.all()]
    return elig.EligibilityInput(
        drug=elig.Drug(consult.drug), diagnoses=list(consult.diagnoses), trials=trials,
        history_flags=frozenset(consult.history_flags), medication_classes=frozenset(consult.medication_classes),
        baseline_systolic_mmHg=consult.baseline_systolic_mmHg, baseline_diastolic_mmHg=consult.baseline_diastolic_mmHg,
        age_years=consult.patient.age,
    )


def preview(consult: Consult) -> elig.EligibilityDecision:
    """The core's decision for the consult as it stands (not stored)."""
    return elig.assess_eligibility(eligibility_input(consult), settings=consult.patient.clinic.limits())


@use_case
def assess(*, actor: Actor, consult: Consult) -> EligibilityAssessment:
    """Snapshot the clinical core's decision with every reason and source, awaiting the prescriber's signature."""
    consult = _locked(consult)
    try:
        decision = preview(consult)
    except ClinicalInputError as e:
        raise ScreeningError({e.field or "__all__": e.message}) from None
    data = eligibility_input(consult)
    a = EligibilityAssessment.objects.create(
        consult=consult, patient=consult.patient, drug=consult.drug, outcome=decision.outcome,
        reasons=[{"code": r.code, "text": r.text, "severity": r.severity, "source": r.source} for r in decision.reasons],
        adequate_trials=decision.adequate_trials, assessed_by=actor.user,
        inputs={"diagnoses": list(data.diagnoses), "history_flags": sorted(data.history_flags),
                "medication_classes": sorted(data.medication_classes), "trials": len(data.trials),
                "baseline_bp": [data.baseline_systolic_mmHg, data.baseline_diastolic_mmHg], "age": data.age_years},
    )
    audit.record(actor, AuditAction.ELIGIBILITY_ASSESSED, subject=a, patient=consult.patient,
                 details={"outcome": a.outcome, "reasons": [r["code"] for r in a.reasons]})
    return a


@use_case
def sign_assessment(*, actor: Actor, assessment: EligibilityAssessment, decision: str,
                    override_reason: str = "") -> EligibilityAssessment:
    """Prescriber signs: accept (eligible), accept over relative contraindications with a written reason, or
    decline. An absolute contraindication can only be declined."""
    _require(actor, Role.PRESCRIBER, what="sign an eligibility assessment")
    a = EligibilityAssessment.objects.select_for_update().select_related("consult").get(pk=assessment.pk)
    if a.signed_at:
        raise ScreeningError({"__all__": "This assessment is already signed."})
    if a.consult.assessments.filter(signed_at__isnull=False).exists():
        raise ScreeningError({"__all__": "Another assessment of this consult is already signed."})
    reason = (override_reason or "").strip()
    if decision == "accept":
        if a.has_absolute:
            raise ScreeningError({"decision": "An absolute contraindication cannot be overridden: the patient is not "
                                  "eligible and no order can be written."})
        if a.outcome == EligibilityAssessment.Outcome.REVIEW:
            if len(reason) < 10:
                raise ScreeningError({"override_reason": "Write why treatment is appropriate despite the relative "
                                      "contraindication(s) or missing items (at least 10 characters)."})
            a.decision = EligibilityAssessment.Decision.OVERRIDDEN
        else:
            a.decision = EligibilityAssessment.Decision.ACCEPTED
    elif decision == "decline":
        a.decision = EligibilityAssessment.Decision.DECLINED
    else:
        raise ScreeningError({"decision": "Choose accept or decline."})
    a.override_reason = reason
    a.signed_by = actor.user
    a.signed_at = timezone.now()
    a.save()
    Consult.objects.filter(pk=a.consult_id).update(status=Consult.Status.SIGNED, updated_at=a.signed_at)
    seals.record(actor, AuditAction.ELIGIBILITY_SIGNED, a, patient=a.patient,
                 details={"decision": a.decision, "outcome": a.outcome, "override_reason": reason})
    if a.has_absolute:
        # A signed absolute contraindication stops the patient's active orders and cancels their booked
        # sessions, in this same transaction (the treatments app's receiver, ketaclinic/treatments/receivers.py).
        absolute_contraindication_signed.send(sender=EligibilityAssessment, actor=actor, patient=a.patient,
                                              assessment=a)
    return a


@use_case
def retract_absolute(*, actor: Actor, assessment: EligibilityAssessment, reason: str) -> EligibilityAssessment:
    """A prescriber marks a signed assessment's absolute finding entered-in-error, with a reason. The assessment
    itself is not changed otherwise; the finding stops blocking orders."""
    _require(actor, Role.PRESCRIBER, what="retract an absolute contraindication")
    a = EligibilityAssessment.objects.select_for_update().get(pk=assessment.pk)
    try:
        seals.require_intact(a)
    except seals.TamperedRecord as e:
        raise ScreeningError({"__all__": str(e)}) from None
    reason = (reason or "").strip()
    if not a.signed_at or not a.has_absolute:
        raise ScreeningError({"__all__": "Only a signed assessment with an absolute contraindication can be "
                              "retracted."})
    if a.absolute_retracted_at:
        raise ScreeningError({"__all__": "This absolute finding has already been marked entered in error."})
    if len(reason) < 10:
        raise ScreeningError({"reason": "Write why the absolute finding was entered in error (at least 10 "
                              "characters)."})
    a.absolute_retracted_at = timezone.now()
    a.absolute_retracted_by = actor.user
    a.absolute_retraction_reason = reason[:2000]
    a.save(update_fields=["absolute_retracted_at", "absolute_retracted_by", "absolute_retraction_reason"])
    seals.record(actor, AuditAction.ELIGIBILITY_ABSOLUTE_RETRACTED, a, patient=a.patient,
                 details={"reason": reason, "reasons": [r.get("code") for r in a.absolute_reasons]})
    return a


def absolute_in_force(patient: Patient) -> list[EligibilityAssessment]:
    """Every signed assessment of the patient that recorded an absolute contraindication not retracted since."""
    return [a for a in EligibilityAssessment.objects.filter(patient=patient, signed_at__isnull=False,
                                                            absolute_retracted_at__isnull=True)
            .select_related("signed_by", "consult").order_by("-signed_at", "-pk") if a.has_absolute]


def absolute_message(assessments: list[EligibilityAssessment]) -> str:
    """Names each absolute contraindication and the signed assessment it comes from."""
    parts = []
    for a in assessments:
        what = "; ".join(r.get("text") or r.get("code", "") for r in a.absolute_reasons)
        who = a.signed_by.label if a.signed_by is not None else "a prescriber"
        parts.append(f"{what} (eligibility assessment for {a.get_drug_display()} signed "
                     f"{timezone.localtime(a.signed_at):%Y-%m-%d} by {who})")
    return ("An absolute contraindication is on file: " + " | ".join(parts) +
            ". No order can be written or given unless a prescriber marks the finding entered in error.")


def current_assessment(patient: Patient, drug: str | None = None) -> EligibilityAssessment | None:
    """The latest signed assessment for the patient (for ``drug`` if given)."""
    qs = EligibilityAssessment.objects.filter(patient=patient, signed_at__isnull=False)
    if drug:
        qs = qs.filter(drug=drug)
    return qs.order_by("-signed_at", "-pk").first()


def latest_assessment(patient: Patient) -> EligibilityAssessment | None:
    """The most recent assessment, signed or not (an absolute contraindication in it blocks any order)."""
    return EligibilityAssessment.objects.filter(patient=patient).order_by("-assessed_at", "-pk").first()
