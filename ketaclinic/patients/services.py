"""Use cases of the patient registry. Each validates, writes and audits in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, next_number
from ketaclinic.patients.models import (
    CM_PER_IN,
    KG_PER_LB,
    BodyMeasurement,
    Diagnosis,
    Patient,
    format_mrn,
    name_key,
)
from ketaclinic.usecases import use_case


class RegistryError(ValueError):
    """Bad input to a registry use case; ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


# Data-entry plausibility for height (not a clinical threshold). The weight range comes from the clinical
# core's settings (dosing.min_weight_kg / dosing.max_weight_kg), so registry and dose maths agree.
HEIGHT_CM_RANGE = (Decimal("100"), Decimal("250"))
OLDEST_AGE_YEARS = 120

PATIENT_FIELDS = (
    "legal_given_name", "legal_family_name", "preferred_name", "pronouns", "date_of_birth", "sex_at_birth",
    "gender_identity", "phone", "email", "address_line1", "address_line2", "city", "state", "postal_code",
    "emergency_contact_name", "emergency_contact_phone", "emergency_contact_relationship", "escort_name",
    "escort_phone", "allergies", "current_medications",
)


def validate_date_of_birth(dob: date, today: date | None = None) -> None:
    today = today or timezone.localdate()
    if dob > today:
        raise RegistryError({"date_of_birth": "Date of birth is in the future."})
    if dob.year < today.year - OLDEST_AGE_YEARS:
        raise RegistryError({"date_of_birth": f"Date of birth is more than {OLDEST_AGE_YEARS} years ago; check the year."})


def find_duplicates(clinic: Clinic, given: str, family: str, dob: date, exclude: Patient | None = None) -> QuerySet[Patient]:
    qs = Patient.objects.filter(
        clinic=clinic, family_key=name_key(family), given_key=name_key(given), date_of_birth=dob
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs


@use_case
def register_patient(
    *, actor: Actor, clinic: Clinic, data: Mapping[str, object], confirm_duplicate: bool = False, is_demo: bool = False
) -> Patient:
    validate_date_of_birth(data["date_of_birth"])  # type: ignore[arg-type]
    dupes = find_duplicates(clinic, str(data["legal_given_name"]), str(data["legal_family_name"]), data["date_of_birth"])  # type: ignore[arg-type]
    if dupes.exists() and not confirm_duplicate:
        mrns = ", ".join(p.mrn for p in dupes[:5])
        raise RegistryError(
            {"confirm_duplicate": f"A patient with this name and date of birth is already registered ({mrns}). "
             "Open that chart, or tick 'register anyway' if this is a different person."}
        )
    patient = Patient(clinic=clinic, created_by=actor.user if actor.user_id else None, is_demo=is_demo)
    for name in PATIENT_FIELDS:
        if name in data:
            setattr(patient, name, data[name])
    patient.mrn = format_mrn(next_number("mrn"))
    patient.save()
    seals.record(actor, AuditAction.PATIENT_REGISTERED, patient, patient=patient,
                 details={"mrn": patient.mrn, "duplicate_confirmed": bool(dupes.exists() and confirm_duplicate)})
    return patient


@use_case
def update_patient(*, actor: Actor, patient: Patient, data: Mapping[str, object], confirm_duplicate: bool = False) -> Patient:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    try:
        seals.require_intact(patient)
    except seals.TamperedRecord:
        raise RegistryError({"__all__": "This patient's record was changed outside KetaClinic since it was last saved "
                                        "(verify_records names it); nothing more can be saved on it. Tell the "
                                        "compliance lead."}) from None
    new = {k: v for k, v in data.items() if k in PATIENT_FIELDS}
    if "date_of_birth" in new:
        validate_date_of_birth(new["date_of_birth"])  # type: ignore[arg-type]
    diff = audit.changes(patient, new)
    if not diff:
        return patient
    if {"legal_given_name", "legal_family_name", "date_of_birth"} & diff.keys() and not confirm_duplicate:
        dupes = find_duplicates(
            patient.clinic,
            str(new.get("legal_given_name", patient.legal_given_name)),
            str(new.get("legal_family_name", patient.legal_family_name)),
            new.get("date_of_birth", patient.date_of_birth),  # type: ignore[arg-type]
            exclude=patient,
        )
        if dupes.exists():
            raise RegistryError({"confirm_duplicate": "Another patient has this name and date of birth "
                                 f"({', '.join(p.mrn for p in dupes[:5])}). Tick 'save anyway' if they are different people."})
    for name, value in new.items():
        setattr(patient, name, value)
    patient.save()
    seals.record(actor, AuditAction.PATIENT_UPDATED, patient, patient=patient, details={"changes": diff})
    return patient


def to_metric(unit: str, weight: Decimal | None, height: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """Convert what was typed to kg and cm (1 lb = 0.45359237 kg exactly; 1 in = 2.54 cm exactly)."""
    if unit == BodyMeasurement.Unit.IMPERIAL:
        weight = None if weight is None else (weight * KG_PER_LB).quantize(Decimal("0.01"), ROUND_HALF_UP)
        height = None if height is None else (height * CM_PER_IN).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return weight, height


@dataclass(frozen=True)
class MeasurementResult:
    measurement: BodyMeasurement
    warnings: tuple[str, ...]


@use_case
def record_measurement(
    *, actor: Actor, patient: Patient, unit: str, weight: Decimal | None, height: Decimal | None,
    measured_at: datetime | None = None,
) -> MeasurementResult:
    if weight is None and height is None:
        raise RegistryError({"weight": "Enter a weight, a height or both."})
    weight_kg, height_cm = to_metric(unit, weight, height)
    limits = patient.clinic.limits()
    low, high = Decimal(str(limits["dosing.min_weight_kg"])), Decimal(str(limits["dosing.max_weight_kg"]))
    errors = {}
    if weight_kg is not None and not low <= weight_kg <= high:
        errors["weight"] = (f"{weight} {'lb' if unit == 'imperial' else 'kg'} is not a plausible adult weight "
                            f"({low}–{high} kg).")
    if height_cm is not None and not HEIGHT_CM_RANGE[0] <= height_cm <= HEIGHT_CM_RANGE[1]:
        errors["height"] = (f"{height} {'in' if unit == 'imperial' else 'cm'} is not a plausible adult height "
                            f"({HEIGHT_CM_RANGE[0]}–{HEIGHT_CM_RANGE[1]} cm).")
    when = measured_at or timezone.now()
    if when > timezone.now() + timedelta(minutes=5):
        errors["measured_at"] = "A measurement cannot be in the future."
    if errors:
        raise RegistryError(errors)
    warnings: tuple[str, ...] = ()
    if weight_kg is not None:
        previous = latest_weight_kg(patient)
        from ketaclinic.clinical.dosing import check_weight

        warnings = tuple(check_weight(float(weight_kg), float(previous) if previous is not None else None, limits))
    m = BodyMeasurement.objects.create(
        patient=patient, measured_at=when, weight_kg=weight_kg, height_cm=height_cm, entered_unit=unit,
        entered_weight=weight, entered_height=height, recorded_by=actor.user,
    )
    audit.record(actor, AuditAction.PATIENT_MEASUREMENT_RECORDED, subject=m, patient=patient, details={
        "weight_kg": weight_kg, "height_cm": height_cm, "entered": f"{weight or ''} {height or ''} ({unit})".strip(),
        "warnings": list(warnings),
    })
    return MeasurementResult(m, warnings)


def latest_weight_kg(patient: Patient, before: datetime | None = None) -> Decimal | None:
    """The patient's latest final weight (kg), wherever it was recorded (registry, consult, cockpit); with
    ``before``, the latest measured before that moment."""
    rows = BodyMeasurement.objects.filter(patient=patient, status=BodyMeasurement.Status.FINAL, weight_kg__isnull=False)
    if before is not None:
        rows = rows.filter(measured_at__lt=before)
    return rows.order_by("-measured_at").values_list("weight_kg", flat=True).first()


def latest_weight_entry(patient: Patient) -> BodyMeasurement | None:
    """The latest final weight with its date and who recorded it (for 'weight 70 kg, measured 2 June')."""
    return (BodyMeasurement.objects.filter(patient=patient, status=BodyMeasurement.Status.FINAL,
                                           weight_kg__isnull=False).select_related("recorded_by")
            .order_by("-measured_at").first())


@use_case
def mark_measurement_entered_in_error(*, actor: Actor, measurement: BodyMeasurement, reason: str) -> BodyMeasurement:
    """A weight or height recorded by mistake stays in the history, marked entered-in-error (never deleted)."""
    m = BodyMeasurement.objects.select_for_update().get(pk=measurement.pk)
    if m.status == BodyMeasurement.Status.ENTERED_IN_ERROR:
        return m
    m.status = BodyMeasurement.Status.ENTERED_IN_ERROR
    m.save(update_fields=["status"])
    audit.record(actor, AuditAction.PATIENT_MEASUREMENT_ENTERED_IN_ERROR, subject=m, patient=m.patient,
                 details={"reason": reason[:300], "weight_kg": m.weight_kg, "height_cm": m.height_cm})
    return m


def latest_height_cm(patient: Patient) -> Decimal | None:
    return (
        BodyMeasurement.objects.filter(patient=patient, status=BodyMeasurement.Status.FINAL, height_cm__isnull=False)
        .order_by("-measured_at").values_list("height_cm", flat=True).first()
    )


def diagnosis_catalogue() -> dict[str, str]:
    """The built-in ICD-10-CM list (codes from the reference, clinical.md §5c)."""
    from ketaclinic.clinical.eligibility import ICD10_CODES

    return dict(ICD10_CODES)


@use_case
def add_diagnosis(*, actor: Actor, patient: Patient, code: str, note: str = "", noted_on: date | None = None) -> Diagnosis:
    catalogue = diagnosis_catalogue()
    code = code.strip().upper()
    if code not in catalogue:
        raise RegistryError({"code": f"{code or 'That'} is not in the clinic's ICD-10-CM list."})
    if patient.diagnoses.filter(code=code, status=Diagnosis.Status.ACTIVE).exists():
        raise RegistryError({"code": f"{code} is already an active diagnosis for this patient."})
    dx = Diagnosis.objects.create(
        patient=patient, code=code, label=catalogue[code], note=note, noted_on=noted_on or timezone.localdate(),
        recorded_by=actor.user,
    )
    audit.record(actor, AuditAction.PATIENT_DIAGNOSIS_ADDED, subject=dx, patient=patient, details={"code": code, "label": dx.label})
    return dx


@use_case
def mark_diagnosis_entered_in_error(*, actor: Actor, diagnosis: Diagnosis, reason: str) -> Diagnosis:
    if not reason.strip():
        raise RegistryError({"reason": "Say why this diagnosis was entered in error."})
    diagnosis = Diagnosis.objects.select_for_update().get(pk=diagnosis.pk)
    if diagnosis.is_entered_in_error:
        raise RegistryError({"reason": "This diagnosis is already marked entered in error."})
    old = diagnosis.mark_entered_in_error(reason.strip())
    audit.record(actor, AuditAction.PATIENT_DIAGNOSIS_ENTERED_IN_ERROR, subject=diagnosis, patient=diagnosis.patient,
                 details={"code": diagnosis.code, "old_status": old, "reason": diagnosis.error_reason})
    return diagnosis


def search(clinic: Clinic, term: str, limit: int = 50) -> list[Patient]:
    """Find patients by MRN, date of birth (YYYY-MM-DD or MM/DD/YYYY) or name prefix ("jan do", "doe, jane").

    Each way a name can match is its own query: an equality on the clinic plus a range on one
    composite index ((clinic, family, given), (clinic, given, family) or (clinic, preferred)), read in
    index order and cut at ``limit``. The branches are merged in Python. This keeps every query an index
    seek at 100,000 patients on SQLite and PostgreSQL alike, whatever the planner's statistics say.
    """
    term = term.strip()
    base = Patient.objects.filter(clinic=clinic)
    if not term:
        return []
    mrn = term.upper().replace("-", "").replace(" ", "")
    if mrn.startswith("KC") and mrn[2:].isdigit():
        return list(base.filter(mrn=mrn)[:limit])
    dob = parse_date(term)
    if dob is not None:
        return sorted(base.filter(date_of_birth=dob).order_by(), key=_sort_key)[:limit]
    branches: list[tuple[Q, tuple[str, ...]]] = []
    if "," in term:
        family, _, given = term.partition(",")
        f, g = name_key(family), name_key(given)
        if not f:
            return []
        branches.append((_prefix("family_key", f) & (_prefix("given_key", g) if g else Q()), ("family_key", "given_key")))
    else:
        tokens = name_key(term).split()
        if not tokens:
            return []
        if len(tokens) == 1:
            t = tokens[0]
            branches += [
                (_prefix("family_key", t), ("family_key", "given_key")),
                (_prefix("given_key", t), ("given_key", "family_key")),
                (_prefix("preferred_key", t), ("preferred_key",)),
            ]
        else:
            first, rest = tokens[0], " ".join(tokens[1:])
            branches += [
                (Q(given_key=first) & _prefix("family_key", rest), ("given_key", "family_key")),
                (_prefix("given_key", first) & _prefix("family_key", rest), ("given_key", "family_key")),
                (Q(preferred_key=first) & _prefix("family_key", rest), ("preferred_key",)),
                (Q(family_key=first) & _prefix("given_key", rest), ("family_key", "given_key")),
                (_prefix("family_key", " ".join(tokens)), ("family_key", "given_key")),
            ]
    found: dict[int, Patient] = {}
    for q, order in branches:
        for p in base.filter(q).order_by(*order)[:limit]:
            found[p.pk] = p
    return sorted(found.values(), key=_sort_key)[:limit]


def _sort_key(p: Patient) -> tuple[str, str, str]:
    return (p.family_key, p.given_key, p.mrn)


def _prefix(field: str, value: str) -> Q:
    return Q(**{f"{field}__gte": value, f"{field}__lt": value + "\uffff"})


def parse_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None
