"""The Spravato REMS monitoring form of an esketamine session: the nurse's answers during the session, the form
completed at discharge or emergency transfer, marked submitted, and the forms due."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.clinical import discharge as discharge_rules
from ketaclinic.clinical import dosing, sedation
from ketaclinic.clinical import session as session_rules
from ketaclinic.inputs import InputError, parse_whole
from ketaclinic.treatments.models import (
    AdverseEvent,
    Phase,
    RemsForm,
    Route,
    SessionEvent,
    SessionRating,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services._common import (
    READY_TO_LEAVE_MAX_MINUTES,
    TreatmentError,
    _lock,
    _roles,
    limits_for,
    use_case,
)
from ketaclinic.treatments.services.session import recorded


def _bp(r: VitalsReading | None) -> str:
    return r.bp if r is not None and r.systolic_mmHg is not None else ""


def predose_vitals_acceptable(s: TreatmentSession, rows: list[VitalsReading]) -> bool:
    """REMS 'vital signs acceptable before administration'
    (:func:`ketaclinic.clinical.session.predose_vitals_acceptable`)."""
    return session_rules.predose_vitals_acceptable(recorded([r for r in rows if r.phase == Phase.PRE_DOSE]))


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


def given(s: TreatmentSession) -> tuple[int, int]:
    """The REMS form's number of devices and dose (clinical.md §3c 'Form fields': dose): what was administered,
    never what was prepared, since dosing may end before the last device. The devices are those the session's
    events record as given; the dose is the one recorded at the end of dosing (the devices' by default, the
    nurse's with a reason when it differs) and, while dosing runs, the devices given so far x 28 mg
    (:data:`ketaclinic.clinical.dosing.ESKETAMINE_DEVICE_MG`)."""
    devices = s.events.filter(kind=SessionEvent.Kind.DEVICE).count()
    mg = s.administered_mg if s.administered_mg is not None else Decimal(devices * dosing.ESKETAMINE_DEVICE_MG)
    return devices, int(mg)


def record_given(s: TreatmentSession) -> None:
    """Keep the form being captured in step with the dose given (the first device at the start, each next device,
    the end of dosing), so that it, and its PDF, never report the prepared devices as given."""
    devices, mg = given(s)
    RemsForm.objects.filter(session=s, status=RemsForm.Status.DRAFT).update(devices=devices, dose_mg=mg)


def _complete_rems(s: TreatmentSession, now: datetime, *, transferred: bool = False) -> None:
    """Fill the REMS form at the end of the session. A form is never 'complete' with less than the minimum
    monitoring (clinical.md §3c 'Form fields': >= 2 h): discharge home below it is refused; an emergency transfer
    gets a form marked with the adverse event and the transfer."""
    minimum = int(limits_for(s.patient)["observation.esketamine_min_minutes"])  # type: ignore[arg-type]
    # The form's own minutes run from the FIRST device (the discharge clock runs from the last one).
    monitored = discharge_rules.rems_minutes_monitored(s.dose_started_at, now) if s.dose_started_at else None
    if not transferred and (monitored is None or monitored < minimum):
        raise TreatmentError({"discharge": f"The REMS form needs at least {minimum} minutes of monitoring from the "
                              f"first device ({monitored or 0} so far)."})
    form, _ = RemsForm.objects.select_for_update().get_or_create(session=s)
    rows = list(s.vitals.order_by("taken_at", "pk"))
    form.bp_before, form.bp_40min, form.bp_before_completion = rems_bp_points(s, rows)
    form.devices, form.dose_mg = given(s)  # what was administered, not what was prepared
    form.lot_number = s.lot_number
    post = [r for r in rows if r.phase != Phase.PRE_DOSE]
    form.vitals_acceptable_before = predose_vitals_acceptable(s, rows)
    form.vitals_acceptable_completion = session_rules.completion_vitals_acceptable(recorded(post))
    form.minutes_monitored = monitored
    if transferred:
        form.ready_to_leave_minutes = None  # never ready to leave home: transferred to emergency care
    elif form.ready_to_leave_minutes is None:
        form.ready_to_leave_minutes = max(monitored or 0, minimum)
    ratings = list(s.ratings.all())
    if form.sedation is None:
        form.sedation = sedation_from_ratings(ratings, limits_for(s.patient))
    if form.dissociation is None:
        form.dissociation = session_rules.dissociation_observed(
            [int(r.total) for r in ratings if r.scale == "cadss" and r.total is not None])
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


def sedation_from_ratings(ratings: list[SessionRating], settings: Mapping[str, object] | None = None) -> bool:
    """REMS 'sedation': any MOAA/S after dosing below the pre-dose MOAA/S (below 5 without one) or at or below the
    clinic's deep-sedation level (``settings``: the clinic's limits)
    (:func:`ketaclinic.clinical.sedation.sedation_occurred`, SPR-PI §5.1)."""
    moaas = [r for r in ratings if r.scale == "moaas" and r.total is not None]
    pre = [r.total for r in moaas if r.timepoint == SessionRating.Timepoint.PRE]
    after = [int(r.total) for r in moaas if r.timepoint != SessionRating.Timepoint.PRE]  # type: ignore[arg-type]
    return sedation.sedation_occurred(int(pre[-1]) if pre else None, after,  # type: ignore[arg-type]
                                      settings=settings)


@use_case
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
    audit.record(actor, AuditAction.SESSION_REMS_UPDATED, subject=s, patient=s.patient,
                 details={k: str(v) for k, v in data.items()})
    return form


@use_case
def mark_rems_submitted(*, actor: Actor, form: RemsForm) -> RemsForm:
    _roles(actor, Role.NURSE, Role.PRESCRIBER, Role.COMPLIANCE, what="mark a REMS form submitted")
    form = RemsForm.objects.select_for_update(of=("self",)).select_related("session", "session__patient").get(pk=form.pk)
    if form.status not in (RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED):
        raise TreatmentError("Only a completed form can be marked submitted.")
    form.status = RemsForm.Status.SUBMITTED
    form.submitted_at = timezone.now()
    form.submitted_by = actor.user
    form.save(update_fields=["status", "submitted_at", "submitted_by"])
    audit.record(actor, AuditAction.REMS_FORM_SUBMITTED, subject=form.session, patient=form.session.patient)
    return form


def rems_due(clinic: Clinic, within_days: int = 7, today: date | None = None):
    today = today or timezone.localdate()
    return (RemsForm.objects.filter(status__in=(RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED),
                                    session__patient__clinic=clinic,
                                    due_by__lte=today + timedelta(days=within_days))
            .select_related("session", "session__patient").order_by("due_by"))
