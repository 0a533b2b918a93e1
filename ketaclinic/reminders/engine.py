"""The reminder run: plan what is due, then send it, each message exactly once.

``plan`` writes one :class:`Reminder` row per (kind, target, channel, due moment) that has come due, its send time
moved past the patient's quiet hours; the key is unique, so planning twice writes nothing new. ``send_due`` takes
each row whose time has come through claim -> send -> mark: the claim is a conditional UPDATE committed before the
message leaves (a second worker finds the row taken), the mark records the outcome. A failed send is tried again
after the clinic's retry wait, up to its cap; a row left "sending" by a worker that stopped mid-send is marked
"outcome unknown" and never sent again (a patient may get one reminder too few, never one twice).

Run it outside any transaction (the task worker, the management command) so each claim commits before its send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.measures.models import DueItem
from ketaclinic.reminders import channels, contacts
from ketaclinic.reminders.models import Channel, Kind, Reminder
from ketaclinic.reminders.wording import compose
from ketaclinic.scheduling.models import Appointment
from ketaclinic.treatments.models import TreatmentSession

#: A row still "sending" this long after its claim was left by a worker that stopped.
STALE_CLAIM = timedelta(minutes=15)
SESSION_KINDS = (Kind.SESSION, Kind.PREPARATION, Kind.RIDE)
#: The ride confirmation asks for a reply by text, so it goes by SMS only.
KIND_CHANNELS = {Kind.RIDE: (Channel.SMS,)}
ACTOR_LABEL = "reminders"


@dataclass
class RunResult:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def key_for(kind: str, target, channel: str, due: datetime) -> str:
    return f"{kind}:{target._meta.label_lower}:{target.pk}:{channel}:{due.astimezone(UTC):%Y%m%dT%H%MZ}"


def _due_targets(clinic: Clinic, now: datetime):
    """(kind, target, patient, due moment) for everything of ``clinic`` whose reminder has come due by ``now``."""
    cfg = contacts.settings_for(clinic)
    lead = timedelta(hours=cfg.appointment_lead_hours)
    for a in (Appointment.objects.filter(clinic=clinic, status=Appointment.Status.BOOKED, start__gt=now,
                                         start__lte=now + lead).select_related("patient__clinic")):
        yield Kind.APPOINTMENT, a, a.patient, a.start - lead
    longest = timedelta(hours=max(cfg.lead_hours(k) for k in SESSION_KINDS))
    sessions = list(TreatmentSession.objects.filter(patient__clinic=clinic, status=TreatmentSession.Status.BOOKED,
                                                    scheduled_start__gt=now, scheduled_start__lte=now + longest)
                    .select_related("patient__clinic"))
    for kind in SESSION_KINDS:
        lead = timedelta(hours=cfg.lead_hours(kind))
        for s in sessions:
            if s.scheduled_start <= now + lead:
                yield kind, s, s.patient, s.scheduled_start - lead
    newest: dict[int, DueItem] = {}  # one questionnaire reminder per patient, for their newest open item
    for item in _open_items(DueItem.objects.filter(patient__clinic=clinic), now).select_related("patient__clinic"):
        if item.patient_id not in newest or item.available_from > newest[item.patient_id].available_from:
            newest[item.patient_id] = item
    for item in newest.values():
        yield Kind.QUESTIONNAIRE, item, item.patient, item.available_from


def _open_items(items, now: datetime):
    """The questionnaires a portal patient may fill in now."""
    return items.filter(status=DueItem.Status.OPEN, available_from__lte=now, due_at__gt=now,
                        patient__portal_account__isnull=False)


def _target_fields(kind: str, target) -> dict:
    if kind == Kind.APPOINTMENT:
        return {"appointment": target}
    if kind == Kind.QUESTIONNAIRE:
        return {"due_item": target}
    return {"session": target}


def plan(now: datetime | None = None) -> int:
    """Write a row for every reminder that has come due on a channel the patient allows; returns how many are new."""
    now = now or timezone.now()
    rows: list[Reminder] = []
    choices_of: dict[int, dict] = {}
    tz_of: dict[int, object] = {}
    for clinic in Clinic.objects.all():
        cfg = contacts.settings_for(clinic)
        for kind, target, patient, due in _due_targets(clinic, now):
            if patient.pk not in choices_of:
                choices_of[patient.pk] = contacts.latest_choices(patient)
                tz_of[patient.pk] = contacts.patient_tz(patient)
            for channel in KIND_CHANNELS.get(kind, (Channel.EMAIL, Channel.SMS)):
                if not contacts.channel_allowed(patient, channel, choices_of[patient.pk]):
                    continue
                if (kind == Kind.QUESTIONNAIRE and channel == Channel.EMAIL and not _open_items(
                        DueItem.objects.filter(patient=patient, reminder_sent_at__isnull=True), now).exists()):
                    continue  # measures' own questionnaire e-mail already went
                send_after = contacts.after_quiet_hours(max(due, now), tz_of[patient.pk], cfg.quiet_start,
                                                        cfg.quiet_end)
                rows.append(Reminder(key=key_for(kind, target, channel, due), kind=kind, channel=channel,
                                     patient=patient, due_at=due, send_after=send_after, created_at=now,
                                     **_target_fields(kind, target)))
    if not rows:
        return 0
    keys = [r.key for r in rows]
    before = set(Reminder.objects.filter(key__in=keys).values_list("key", flat=True))
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(set(keys) - before)


def claim(reminder: Reminder, now: datetime) -> bool:
    """Take ``reminder`` for sending: True for exactly one caller, however many try at once."""
    with transaction.atomic():
        return bool(Reminder.objects.filter(pk=reminder.pk, status__in=(Reminder.Status.PENDING, Reminder.Status.FAILED),
                                            send_after__lte=now)
                    .update(status=Reminder.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1))


def _still_wanted(r: Reminder, now: datetime) -> str:
    """Why ``r`` is no longer to be sent ("" when it is)."""
    if r.kind == Kind.APPOINTMENT:
        a = r.appointment
        if a.status != Appointment.Status.BOOKED or a.start <= now:
            return "The appointment is no longer booked ahead."
    elif r.kind == Kind.QUESTIONNAIRE:
        if not _open_items(DueItem.objects.filter(patient=r.patient), now).exists():
            return "No questionnaire is waiting any more."
    else:
        s = r.session
        if s.status != TreatmentSession.Status.BOOKED or s.scheduled_start <= now:
            return "The session is no longer booked ahead."
    if not contacts.channel_allowed(r.patient, r.channel):
        return f"The patient does not take reminders by {r.get_channel_display()} now."
    return ""


def _finish(r: Reminder, **fields) -> None:
    with transaction.atomic():
        Reminder.objects.filter(pk=r.pk).update(**fields)
        for k, v in fields.items():
            setattr(r, k, v)
        if r.status in (Reminder.Status.SENT, Reminder.Status.FAILED, Reminder.Status.GAVE_UP):
            action = AuditAction.REMINDER_SENT if r.status == Reminder.Status.SENT else AuditAction.REMINDER_FAILED
            audit.record(Actor.system(ACTOR_LABEL), action, subject=r, patient=r.patient,
                         details={"kind": r.kind, "channel": r.channel, "status": r.status, "attempts": r.attempts,
                                  "error": r.error})


def send_one(r: Reminder, now: datetime) -> str:
    """Claim, send and mark one row; returns its final status ("" when another worker holds it)."""
    if not claim(r, now):
        return ""
    r.refresh_from_db()
    why_not = _still_wanted(r, now)
    if not why_not and r.kind == Kind.QUESTIONNAIRE and r.channel == Channel.EMAIL:
        # the same claim as measures' own questionnaire e-mail: whichever claims the item first sends it
        with transaction.atomic():
            if not _open_items(DueItem.objects.filter(patient=r.patient, reminder_sent_at__isnull=True), now).update(
                    reminder_sent_at=now):
                why_not = "The questionnaire e-mail was already sent."
    if why_not:
        _finish(r, status=Reminder.Status.SKIPPED, error=why_not)
        return r.status
    tz = contacts.patient_tz(r.patient)
    subject, body = compose(r, tz)
    to = contacts.address_for(r.patient, r.channel)
    try:
        provider_id = (channels.send_email(to, subject, body) if r.channel == Channel.EMAIL
                       else channels.send_sms(to, body))
    except channels.SendError as problem:  # the provider refused it or was never reached: nothing went out
        cfg = contacts.settings_for(r.patient.clinic)
        gave_up = r.attempts >= cfg.max_attempts
        _finish(r, status=Reminder.Status.GAVE_UP if gave_up else Reminder.Status.FAILED, to=to, subject=subject,
                body=body, error=f"{type(problem).__name__}: {problem}"[:500],
                send_after=now + timedelta(minutes=cfg.retry_minutes))
        return r.status
    except Exception as problem:  # noqa: BLE001 - a timeout after the provider took it, a dropped connection...
        # It may have gone out: never sent again (the patient would get it twice); the worklist shows it.
        _finish(r, status=Reminder.Status.UNKNOWN, to=to, subject=subject, body=body,
                error=f"{type(problem).__name__}: {problem}"[:500])
        return r.status
    _finish(r, status=Reminder.Status.SENT, to=to, subject=subject, body=body, provider_id=provider_id[:200],
            error="", sent_at=now)
    return r.status


def send_due(now: datetime | None = None) -> RunResult:
    """Send every row whose time has come (quiet hours checked again at the patient's clock now)."""
    now = now or timezone.now()
    result = RunResult()
    Reminder.objects.filter(status=Reminder.Status.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=Reminder.Status.UNKNOWN, error="The worker stopped while sending; not sent again.")
    due = (Reminder.objects.filter(status__in=(Reminder.Status.PENDING, Reminder.Status.FAILED), send_after__lte=now)
           .select_related("patient__clinic", "appointment__type", "session", "due_item").order_by("send_after", "pk"))
    for r in due:
        cfg = contacts.settings_for(r.patient.clinic)
        later = contacts.after_quiet_hours(now, contacts.patient_tz(r.patient), cfg.quiet_start, cfg.quiet_end)
        if later > now:
            Reminder.objects.filter(pk=r.pk, status=r.status).update(send_after=later)
            continue
        status = send_one(r, now)
        if status == Reminder.Status.SENT:
            result.sent += 1
        elif status in (Reminder.Status.FAILED, Reminder.Status.GAVE_UP):
            result.failed += 1
        elif status == Reminder.Status.SKIPPED:
            result.skipped += 1
    return result


def run(now: datetime | None = None) -> RunResult:
    """One pass of the worker: plan, then send."""
    now = now or timezone.now()
    planned = plan(now)
    result = send_due(now)
    result.planned = planned
    return result
