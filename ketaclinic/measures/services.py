"""Use cases of measurement-based care. Each validates, writes and audits in one transaction.

Scoring, bands, safety flags and the loss-of-response rule are the clinical core's
(``ketaclinic.clinical.scales.score`` and ``ketaclinic.clinical.outcomes.relapse_after_induction``), always
called with the clinic's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User, staff_holding
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.outcomes import RELAPSE_KEY, relapse_after_induction
from ketaclinic.clinical.scales import (
    SCALES,
    SUICIDALITY_TASK_FLAGS,
    ScaleResult,
    get_scale,
    required_items,
    score,
)
from ketaclinic.inputs import InputError, check_email_address
from ketaclinic.measures import dosing_sessions
from ketaclinic.measures.dosing_sessions import Session
from ketaclinic.measures.models import (
    Administration,
    BoosterPrompt,
    DueItem,
    ItemAnswer,
    MeasureSchedule,
    OnCall,
    SafetyTask,
    Timing,
)
from ketaclinic.measures.schedule import DEFAULT_PLAN, close_due_items, refresh_due_items
from ketaclinic.patients.models import Patient
from ketaclinic.usecases import use_case

#: The safety flags of the clinical core that open an urgent task for the clinician on call (issue 5 §3).
SAFETY_TASK_FLAGS = SUICIDALITY_TASK_FLAGS
#: Scales a patient may complete in the portal: self-report instruments.
PORTAL_SCALES = tuple(code for code, s in SCALES.items() if s.rater == "patient")
#: Scales with a trajectory (a total that can be trended).
TREND_SCALES = ("phq9", "gad7", "qids_sr16", "pcl5", "madrs")


class MeasureError(ValueError):
    """Bad input to a measures use case; ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


#: How far before a patient's registration a result may be back-dated (a paper form from a referring clinician,
#: entered late). A data-entry sanity rule, not a clinical threshold: never before the date of birth either.
BACK_ENTRY_WINDOW = timedelta(days=365)


def earliest_administered_at(patient: Patient) -> datetime:
    """The earliest time a result for ``patient`` may carry: their registration minus ``BACK_ENTRY_WINDOW``,
    and never before the start of their date of birth (clinic time)."""
    tz = patient.clinic.tz
    born = datetime.combine(patient.date_of_birth, datetime.min.time(), tz)
    return max(born, patient.created_at - BACK_ENTRY_WINDOW)


def check_administered_at(patient: Patient, when: datetime, now: datetime | None = None) -> None:
    """Refuse a time in the future, before the patient's date of birth, or more than a year before the
    patient's registration; the message says which rule and the earliest accepted date."""
    now = now or timezone.now()
    if when > now + timedelta(minutes=5):
        raise MeasureError({"administered_at": "The time given cannot be in the future."})
    tz = patient.clinic.tz
    if when < datetime.combine(patient.date_of_birth, datetime.min.time(), tz):
        raise MeasureError({"administered_at": f"The time given is before the patient's date of birth "
                                               f"({patient.date_of_birth:%Y-%m-%d})."})
    earliest = earliest_administered_at(patient)
    if when < earliest:
        raise MeasureError({"administered_at": (
            f"The time given is more than a year before the patient was registered "
            f"({timezone.localtime(patient.created_at, tz):%Y-%m-%d}); results may be back-dated to "
            f"{timezone.localtime(earliest, tz):%Y-%m-%d} at the earliest. Check the date.")})


@dataclass
class SaveOutcome:
    administration: Administration
    result: ScaleResult
    submitted: bool
    missing: tuple[str, ...] = ()
    safety_tasks: list[SafetyTask] = field(default_factory=list)
    booster: BoosterPrompt | None = None

    @property
    def crisis(self) -> bool:
        return any(f.code in SAFETY_TASK_FLAGS and f.urgent for f in self.result.flags)


def parse_answers(scale_code: str, raw: Mapping[str, object]) -> dict[str, int | None]:
    """Form values ("0".."3", "" for unanswered) to the core's answer mapping; only the scale's item ids."""
    scale = get_scale(scale_code)
    answers: dict[str, int | None] = {}
    errors = {}
    for item in scale.items:
        value = raw.get(item.id)
        if value in (None, ""):
            continue
        try:
            answers[item.id] = int(str(value))
        except ValueError:
            errors[item.id] = f"'{value}' is not one of the answer options."
    if errors:
        raise MeasureError(errors)
    return answers


def _flag_dicts(result: ScaleResult) -> list[dict]:
    return [{"code": f.code, "message": f.message, "urgent": f.urgent, "source": f.source} for f in result.flags]


def clinician_on_call(clinic, when: datetime | None = None) -> User | None:
    """The prescriber on call on ``when``'s date in the clinic's time zone; else the first active prescriber."""
    day = timezone.localtime(when or timezone.now(), clinic.tz).date()
    entry = OnCall.objects.filter(clinic=clinic, day=day).select_related("clinician").first()
    if entry is not None and entry.clinician.is_active:
        return entry.clinician
    return staff_holding(Role.PRESCRIBER, clinic_id=clinic.pk).order_by("pk").first()


@use_case
def set_on_call(*, actor: Actor, day: date, clinician: User, clinic: Clinic | None = None) -> OnCall:
    clinic = clinic or current_clinic()
    if not staff_holding(Role.PRESCRIBER, clinic_id=clinic.pk).filter(pk=clinician.pk).exists():
        raise MeasureError({"clinician": "The clinician on call must be an active prescriber at this clinic."})
    entry, created = OnCall.objects.update_or_create(
        clinic=clinic, day=day, defaults={"clinician": clinician, "set_by": actor.user if actor.user_id else None,
                           "set_at": timezone.now()})
    audit.record(actor, AuditAction.MEASURES_ON_CALL_SET, subject=entry, details={"day": day, "clinician": clinician.username})
    return entry


# ------------------------------------------------------------------------------------------ administering
@use_case
def start_administration(*, actor: Actor, patient: Patient, scale: str, source: str,
                         timing: str = Timing.AD_HOC, session: Session | None = None,
                         due_item: DueItem | None = None) -> Administration:
    """Open a draft (or return the patient's open draft of the same scale and source)."""
    if scale not in SCALES:
        raise MeasureError({"scale": f"Unknown scale {scale!r}."})
    if source == Administration.Source.PORTAL and scale not in PORTAL_SCALES:
        raise MeasureError({"scale": f"{SCALES[scale].name} is not a self-report scale."})
    if due_item is not None:
        if due_item.patient_id != patient.pk or due_item.scale != scale:
            raise MeasureError({"due_item": "That due item belongs to another patient or scale."})
        timing, session = due_item.timing, due_item.session
    if session is not None and session.patient_id != patient.pk:
        raise MeasureError({"session": "That session belongs to another patient."})
    existing = Administration.objects.filter(patient=patient, scale=scale, source=source,
                                             status=Administration.Status.DRAFT).order_by("-created_at").first()
    if existing is not None:
        return existing
    admin = Administration.objects.create(
        patient=patient, scale=scale, source=source, timing=timing, session=session,
        entered_by=actor.user if actor.user_id else None,
    )
    audit.record(actor, AuditAction.MEASURES_ADMINISTRATION_STARTED, subject=admin, patient=patient,
                 details={"scale": scale, "source": source, "timing": timing})
    return admin


def _write_answers(admin: Administration, scale_code: str, answers: Mapping[str, int | None]) -> None:
    scale = get_scale(scale_code)
    admin.answers.all().delete()  # a draft's answers are replaced wholesale; a final form is never rewritten
    rows = []
    for item in scale.items:
        value = answers.get(item.id)
        if value is None:
            continue
        option = next((o for o in item.options if o.value == value), None)
        rows.append(ItemAnswer(administration=admin, item_id=item.id, value=int(value), loinc_code=item.loinc or "",
                               loinc_answer=(option.loinc_answer or "") if option else ""))
    ItemAnswer.objects.bulk_create(rows)


def _open_safety_tasks(actor: Actor, admin: Administration, result: ScaleResult) -> list[SafetyTask]:
    tasks = []
    flags = [f for f in result.flags if f.urgent and f.code in SAFETY_TASK_FLAGS]
    if not flags:
        return tasks
    clinic = admin.patient.clinic
    on_call = clinician_on_call(clinic)
    for flag in flags:
        task, created = SafetyTask.objects.get_or_create(
            administration=admin, flag_code=flag.code,
            defaults={"patient": admin.patient, "message": flag.message, "source": flag.source,
                      "assigned_to": on_call},
        )
        if created:
            audit.record(actor, AuditAction.MEASURES_SAFETY_TASK_OPENED, subject=task, patient=admin.patient, details={
                "flag": flag.code, "scale": admin.scale, "assigned_to": on_call.username if on_call else None,
                "administration": str(admin.external_id)})
            tasks.append(task)
    return tasks


@use_case
def save_answers(*, actor: Actor, administration: Administration, answers: Mapping[str, int | None],
                 submit: bool, administered_at: datetime | None = None, due_item: DueItem | None = None
                 ) -> SaveOutcome:
    """Save a draft's answers; on ``submit`` score it with the clinical core and make it final.

    An incomplete form stays a draft and is not scored (no total, no band). Safety answers open an urgent
    task for the clinician on call as soon as they are saved, draft or not, in this same transaction.
    """
    admin = Administration.objects.select_for_update(of=("self",)).select_related("patient__clinic").get(pk=administration.pk)
    if admin.status != Administration.Status.DRAFT:
        raise MeasureError({"status": "This questionnaire was already submitted; it cannot be changed."})
    clinic = admin.patient.clinic
    try:
        result = score(admin.scale, answers, settings=clinic.limits())
        asked = set(required_items(admin.scale, answers))
    except ClinicalInputError as e:
        raise MeasureError({e.field or "answers": e.message}) from None
    now = timezone.now()
    if administered_at is not None:
        check_administered_at(admin.patient, administered_at, now)
        admin.administered_at = administered_at
    elif admin.source == Administration.Source.PORTAL or submit:
        admin.administered_at = now
    _write_answers(admin, admin.scale, {k: v for k, v in answers.items() if k in asked or v is not None})
    admin.flags = _flag_dicts(result)
    admin.updated_at = now
    submitted = bool(submit and result.complete)
    if submitted:
        admin.status = Administration.Status.FINAL
        admin.total = result.total
        admin.band = result.band or ""
        admin.complete = True
        admin.scoring_detail = result.detail
        admin.finalized_at = now
    admin.save()
    tasks = _open_safety_tasks(actor, admin, result)
    booster = None
    action = (AuditAction.MEASURES_ADMINISTRATION_SUBMITTED if submitted
              else AuditAction.MEASURES_ADMINISTRATION_DRAFT_SAVED)
    details = {"scale": admin.scale, "source": admin.source, "answered": len(result.answered), "total": admin.total,
               "band": admin.band, "flags": [f.code for f in result.flags],
               "missing": list(result.missing) if not submitted else []}
    if submitted:  # the answers as submitted are sealed (audit/seals.py)
        seals.record(actor, action, admin, patient=admin.patient, details=details)
    else:
        audit.record(actor, action, subject=admin, patient=admin.patient, details=details)
    if submitted:
        close_due_items(admin, due_item)
        booster = evaluate_booster(actor=actor, administration=admin)
    return SaveOutcome(admin, result, submitted, () if submitted else result.missing, tasks, booster)


@use_case
def record_administration(*, actor: Actor, patient: Patient, scale: str, answers: Mapping[str, int | None],
                          source: str = Administration.Source.STAFF, timing: str = Timing.AD_HOC,
                          administered_at: datetime | None = None, session: Session | None = None,
                          due_item: DueItem | None = None) -> SaveOutcome:
    """Start and submit in one step (staff entry of a complete paper form; demo data)."""
    admin = start_administration.within(actor=actor, patient=patient, scale=scale, source=source, timing=timing,
                                        session=session, due_item=due_item)
    return save_answers.within(actor=actor, administration=admin, answers=answers, submit=True,
                               administered_at=administered_at, due_item=due_item)


@use_case
def enter_staff_answers(*, actor: Actor, patient: Patient, scale: str, answers: Mapping[str, int | None],
                        submit: bool, timing: str = Timing.AD_HOC, session: Session | None = None,
                        administered_at: datetime | None = None) -> SaveOutcome:
    """Staff enter a scale in the clinic: open (or continue) the staff draft, give it the timing and session
    chosen on the page, save the answers and, on ``submit``, score it. Bad input changes nothing, not even the
    draft."""
    admin = start_administration.within(actor=actor, patient=patient, scale=scale,
                                        source=Administration.Source.STAFF, timing=timing, session=session)
    if admin.timing != timing or admin.session_id != (session.pk if session else None):
        Administration.objects.filter(pk=admin.pk).update(timing=timing, session=session)
    return save_answers.within(actor=actor, administration=admin, answers=answers, submit=submit,
                               administered_at=administered_at)


@use_case
def mark_entered_in_error(*, actor: Actor, administration: Administration, reason: str) -> Administration:
    reason = (reason or "").strip()
    if not reason:
        raise MeasureError({"reason": "Say why this result was entered in error."})
    admin = Administration.objects.select_for_update().get(pk=administration.pk)
    if admin.is_entered_in_error:
        raise MeasureError({"status": "Already marked entered in error."})
    try:
        seals.require_intact(admin)
    except seals.TamperedRecord as e:
        raise MeasureError({"status": str(e)}) from None
    admin.updated_at = timezone.now()
    old = admin.mark_entered_in_error(reason[:300], "updated_at")
    seals.record(actor, AuditAction.MEASURES_ADMINISTRATION_ENTERED_IN_ERROR, admin, patient=admin.patient,
                 details={"old_status": old, "reason": reason, "total": admin.total})
    return admin


# ------------------------------------------------------------------------------------------ safety tasks
@use_case
def raise_safety_task(*, actor: Actor, patient: Patient, flag_code: str, message: str, source: str, origin: str,
                      origin_path: str = "") -> SafetyTask:
    """Open an urgent task raised outside a questionnaire (words of self-harm in a secure message): assigned to
    the clinician on call and audited as the questionnaire's tasks are. ``origin`` says where it came from in
    words and ``origin_path`` links there; the caller passes both (measures imports no higher app)."""
    errors = {}
    if not (flag_code or "").strip():
        errors["flag_code"] = "Name the rule that raised the task."
    if not (message or "").strip():
        errors["message"] = "Say what the clinician must do."
    if not (origin or "").strip():
        errors["origin"] = "Say where the task came from."
    if errors:
        raise MeasureError(errors)
    on_call = clinician_on_call(patient.clinic)
    task = SafetyTask.objects.create(patient=patient, administration=None, flag_code=flag_code.strip(),
                                     message=message.strip(), source=source, origin=origin.strip()[:120],
                                     origin_path=(origin_path or "")[:300], assigned_to=on_call)
    audit.record(actor, AuditAction.MEASURES_SAFETY_TASK_OPENED, subject=task, patient=patient, details={
        "flag": task.flag_code, "origin": task.origin, "assigned_to": on_call.username if on_call else None})
    return task


@use_case
def acknowledge_safety_task(*, actor: Actor, task: SafetyTask, action: str, note: str) -> SafetyTask:
    """Record who acknowledged an urgent task, when, and what they did (action and a note are required)."""
    errors = {}
    if action not in SafetyTask.Action.values:
        errors["action_taken"] = "Choose what you did."
    if not (note or "").strip():
        errors["action_note"] = "Describe what you did and the outcome."
    if errors:
        raise MeasureError(errors)
    task = SafetyTask.objects.select_for_update().get(pk=task.pk)
    if task.status != SafetyTask.Status.OPEN:
        raise MeasureError({"status": f"Already acknowledged by {task.acknowledged_by} at "
                                      f"{timezone.localtime(task.acknowledged_at):%Y-%m-%d %H:%M}."})
    task.status = SafetyTask.Status.ACKNOWLEDGED
    task.acknowledged_by = actor.user
    task.acknowledged_at = timezone.now()
    task.action_taken = action
    task.action_note = note.strip()
    task.save()
    audit.record(actor, AuditAction.MEASURES_SAFETY_TASK_ACKNOWLEDGED, subject=task, patient=task.patient,
                 details={"action": action, "note": task.action_note, "flag": task.flag_code})
    return task


# ------------------------------------------------------------------------------------------ booster prompts
def _session_day(s: Session, tz) -> date:
    when = s.dose_ended_at or s.discharged_at or s.transferred_at or s.dose_started_at or s.scheduled_start
    return timezone.localtime(when, tz).date()


def induction_end(patient: Patient, tz) -> date | None:
    """End of induction: the last dosing session of the patient's first order, once that order has no session
    still to come; later dosing sessions (boosters) move the reference point to the latest one.

    Returns None while the first series is still running (or never started).
    """
    first_order = dosing_sessions.first_order_id(patient)
    if first_order is None:
        return None
    sessions = list(dosing_sessions.not_called_off(patient).only(*dosing_sessions.TIMELINE))
    of_first = [s for s in sessions if s.order_id == first_order]
    dosed_first = [s for s in of_first if dosing_sessions.dose_given(s)]
    if not dosed_first or len(dosed_first) < len(of_first):
        return None
    dosed = [s for s in sessions if dosing_sessions.dose_given(s)]
    return max(_session_day(s, tz) for s in dosed)


def evaluate_booster(*, actor: Actor, administration: Administration) -> BoosterPrompt | None:
    """Run the core's loss-of-response rule after a final score; open a prompt when it fires."""
    admin = administration
    key = RELAPSE_KEY.get(admin.scale)
    clinic = admin.patient.clinic
    limits = clinic.limits()
    if key is None or int(limits.get(key, 0)) <= 0:
        return None
    tz = clinic.tz
    end = induction_end(admin.patient, tz)
    if end is None:
        return None
    rows = Administration.objects.filter(
        patient_id=admin.patient_id, scale=admin.scale, total__isnull=False,
        status__in=[Administration.Status.FINAL, Administration.Status.AMENDED],
    ).values_list("administered_at", "total")
    scores = [(timezone.localtime(at, tz).date(), total) for at, total in rows]
    signal = relapse_after_induction(admin.scale, scores, end, settings=limits)
    if not signal.fired:
        return None
    previous = BoosterPrompt.objects.filter(patient_id=admin.patient_id, scale=admin.scale,
                                            induction_end=end).order_by("-created_at").first()
    if previous is not None and (previous.status == BoosterPrompt.Status.OPEN
                                 or signal.latest_total <= previous.latest_total):
        return None  # already prompted for this loss of response; re-prompt only if it got worse
    prompt = BoosterPrompt.objects.create(
        patient_id=admin.patient_id, scale=admin.scale, administration=admin, induction_end=end,
        nadir_total=signal.nadir_total, nadir_on=signal.nadir_on, latest_total=signal.latest_total,
        latest_on=signal.latest_on, rise=signal.rise, detail=signal.detail,
    )
    audit.record(actor, AuditAction.MEASURES_BOOSTER_PROMPT_OPENED, subject=prompt, patient=admin.patient,
                 details={"scale": admin.scale, "detail": signal.detail})
    return prompt


@use_case
def resolve_booster(*, actor: Actor, prompt: BoosterPrompt, decision: str, reason: str) -> BoosterPrompt:
    if decision not in (BoosterPrompt.Status.BOOKED, BoosterPrompt.Status.DISMISSED):
        raise MeasureError({"decision": "Choose 'booster planned' or 'dismiss'."})
    if not (reason or "").strip():
        raise MeasureError({"reason": "Give a reason (what you decided and why)."})
    prompt = BoosterPrompt.objects.select_for_update().get(pk=prompt.pk)
    if prompt.status != BoosterPrompt.Status.OPEN:
        raise MeasureError({"status": "This prompt was already resolved."})
    prompt.status = decision
    prompt.reason = reason.strip()
    prompt.resolved_by = actor.user
    prompt.resolved_at = timezone.now()
    prompt.save()
    audit.record(actor, AuditAction.MEASURES_BOOSTER_PROMPT_RESOLVED, subject=prompt, patient=prompt.patient,
                 details={"decision": decision, "reason": prompt.reason})
    return prompt


# ------------------------------------------------------------------------------------------ schedules
@use_case
def apply_default_schedule(*, actor: Actor, patient: Patient) -> list[MeasureSchedule]:
    """Give the patient the clinic's default plan for every scale they do not already have a schedule for."""
    have = set(MeasureSchedule.objects.filter(patient=patient).values_list("scale", flat=True))
    made = []
    for scale, plan in DEFAULT_PLAN.items():
        if scale in have:
            continue
        made.append(MeasureSchedule.objects.create(patient=patient, scale=scale, updated_by=actor.user, **plan))
    if made:
        audit.record(actor, AuditAction.MEASURES_SCHEDULE_DEFAULTS_APPLIED, patient=patient, subject=patient,
                     details={"scales": [m.scale for m in made]})
    refresh_due_items(patient)
    return made


SCHEDULE_FIELDS = ("baseline", "pre_dose", "after_24h", "after_7d", "repeat", "active")


@use_case
def update_schedule(*, actor: Actor, patient: Patient, scale: str, values: Mapping[str, object]) -> MeasureSchedule:
    if scale not in SCALES:
        raise MeasureError({"scale": "Unknown scale."})
    if values.get("repeat", "none") not in MeasureSchedule.Repeat.values:
        raise MeasureError({"repeat": "Choose none, weekly or monthly."})
    sched = MeasureSchedule.objects.filter(patient=patient, scale=scale).first()
    created = sched is None
    if created:
        sched = MeasureSchedule(patient=patient, scale=scale)
    new = {k: values[k] for k in SCHEDULE_FIELDS if k in values}
    diff = {} if created else audit.changes(sched, new)
    for k, v in new.items():
        setattr(sched, k, v)
    sched.updated_by = actor.user if actor.user_id else None
    sched.updated_at = timezone.now()
    sched.save()
    audit.record(actor, AuditAction.MEASURES_SCHEDULE_UPDATED, subject=sched, patient=patient,
                 details={"scale": scale, "created": created, "changes": diff or new})
    refresh_due_items(patient)
    return sched


# ------------------------------------------------------------------------------------------ reminders
def send_reminders(now: datetime | None = None, *, portal_url: str = "") -> int:
    """Email each portal patient once for each newly open due item; returns the number of emails sent.

    The email carries no clinical detail (no scale name, no scores): it only says a questionnaire is waiting.
    It goes only to exactly one address (:func:`ketaclinic.inputs.check_email_address`): a patient whose details
    hold a list, a line break or no valid address is skipped, their items stay unclaimed (reminded once the
    address is corrected), and the skip is audited once for each newly open item, not at every run.
    """
    now = now or timezone.now()
    due = (DueItem.objects.filter(status=DueItem.Status.OPEN, available_from__lte=now, reminder_sent_at__isnull=True,
                                  patient__portal_account__isnull=False)
           .exclude(patient__email="").select_related("patient__clinic"))
    by_patient: dict[int, list[DueItem]] = {}
    for item in due:
        by_patient.setdefault(item.patient_id, []).append(item)
    sent = 0
    actor = Actor.system("measure reminders")
    for items in by_patient.values():
        patient = items[0].patient
        try:
            address = check_email_address(patient.email, where=" on the patient's details")
        except InputError as refused:
            _record_skipped_reminder(actor, patient, items, refused.message)
            continue
        with transaction.atomic():
            # Claim the items first, so two overlapping runs cannot both email.
            claimed = DueItem.objects.filter(pk__in=[i.pk for i in items], reminder_sent_at__isnull=True).update(
                reminder_sent_at=now)
            if not claimed:
                continue
            n = len(items)
            body = (f"Hello,\n\nYou have {n} questionnaire{'s' if n != 1 else ''} waiting in your "
                    f"{patient.clinic.name} patient portal. It takes a few minutes and helps your care team see "
                    f"how you are doing.\n\n{portal_url or 'Sign in to your patient portal.'}\n\n"
                    f"If you are in crisis, call or text 988 now, or call the clinic: {patient.clinic.phone}.\n")
            send_mail(f"A questionnaire is waiting for you at {patient.clinic.name}", body, None, [address])
            audit.record(actor, AuditAction.MEASURES_REMINDER_SENT, subject=patient, patient=patient,
                         details={"due_items": [str(i.external_id) for i in items]})
            sent += 1
    return sent


def _record_skipped_reminder(actor: Actor, patient: Patient, items: list[DueItem], problem: str) -> None:
    """Audit a reminder not sent for ``problem`` with the patient's address, unless a skip was already recorded
    since the newest of ``items`` opened (the reminder run repeats every few minutes)."""
    newest = max(item.available_from for item in items)
    with transaction.atomic():
        if AuditEntry.objects.filter(action=AuditAction.MEASURES_REMINDER_SKIPPED, patient=patient,
                                     at__gte=newest).exists():
            return
        audit.record(actor, AuditAction.MEASURES_REMINDER_SKIPPED, subject=patient, patient=patient,
                     details={"due_items": [str(i.external_id) for i in items], "problem": problem})
