"""What every treatment use case shares: the error, the role check, the strict decimal reader, the session lock
and the :func:`use_case` transaction wrapper.

Every use case validates, writes and audits in one durable transaction and raises :class:`TreatmentError` (a
``ValueError`` carrying ``errors: {field: message}``) for anything refused; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

from ketaclinic import loading
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.vitals import VitalReading
from ketaclinic.inputs import InputError, field_bounds, parse_decimal
from ketaclinic.patients.models import Patient
from ketaclinic.treatments.models import (
    Drug,
    Phase,
    Route,
    SessionEvent,
    TreatmentOrder,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.usecases import Refused, use_case  # noqa: F401  (re-exported for the treatments services)

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


def _intact(record) -> bool:
    """A signed session or order changed outside KetaClinic is neither signed over nor changed further
    (``audit/seals.py``); returns whether the record is sealed."""
    try:
        return seals.require_intact(record)
    except seals.TamperedRecord as e:
        raise TreatmentError(str(e)) from None


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


_SESSION_PATIENT = TreatmentSession._meta.get_field("patient")
_PATIENT_CLINIC = Patient._meta.get_field("clinic")


def limits_for(patient: Patient) -> dict[str, object]:
    return patient.clinic.limits()


def _lock(session: TreatmentSession, *, only: Sequence[str] = ()) -> TreatmentSession:
    # The session's row and its order's are locked (``of``): the dose checks read the order's status, which
    # stopping the order changes under the order's lock; the patient and clinic rows stay free, so a session write
    # does not hold up writes that refer to the clinic (PostgreSQL; SQLite locks the whole file). Those two rows are
    # not locked, so they are read again only when the caller has not just read them: a view loads the session with
    # its patient and clinic to check who may open it, and a session never changes patient. Reading the 46 columns
    # again cost a third of a vitals save (the query's compilation, mostly).
    # ``only``: a use case that reads nothing of the order (a vitals save) names the session's columns it reads;
    # the session's row alone is then locked and read with those, by a statement written once (loading.rows).
    known = (_SESSION_PATIENT.is_cached(session) and session.patient_id is not None
             and _PATIENT_CLINIC.is_cached(session.patient))
    if only and known:
        found = loading.rows(TreatmentSession, only, "{id} = %s", [session.pk], for_update=True)
        if not found:
            raise TreatmentSession.DoesNotExist
        s = found[0]
    else:
        related = ("order",) if known else ("patient", "patient__clinic", "order")
        s = (TreatmentSession.objects.select_for_update(of=("self", "order")).select_related(*related)
             .get(pk=session.pk))
    if known and s.patient_id == session.patient_id:  # else (never) the patient is read when first used
        s.patient = session.patient
    if s.is_signed:
        raise TreatmentError("The session note is signed: it is read-only. Add an addendum to correct it.")
    return s


def _phase_for(s: TreatmentSession) -> str:
    if s.dose_started_at is None:
        return Phase.PRE_DOSE
    if s.dose_ended_at is None:
        return Phase.DURING
    return Phase.RECOVERY


def _reading(r: VitalsReading) -> VitalReading:
    return VitalReading(**{f: getattr(r, f) for f in VITAL_FIELDS})


def _clear_preparation(s: TreatmentSession) -> None:
    s.prepared_dose_mg = s.prepared_by = s.prepared_at = None  # type: ignore[assignment]
    s.verified_by = s.verified_at = s.verified_weight_kg = s.verified_dose_mg = None  # type: ignore[assignment]
    s.calculated_dose_mg = s.verified_concentration_mg_per_mL = s.verified_bag_volume_mL = None  # type: ignore
