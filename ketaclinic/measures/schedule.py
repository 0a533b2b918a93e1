"""Measurement schedules: the clinic's default plan and the due items it generates for a patient.

The plan follows the issue's example (baseline at consult, before each dosing session, 24 hours and 7 days
after, then weekly or monthly). The windows below (when an item opens and when it becomes overdue) are
operational choices of this app, not clinical thresholds: they decide when a reminder goes out and when the
item turns red on the worklist, never a treatment decision.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ketaclinic.measures import dosing_sessions
from ketaclinic.measures.dosing_sessions import Session
from ketaclinic.measures.models import Administration, DueItem, MeasureSchedule, Timing

#: The clinic default plan, copied onto a patient's schedule and then editable per patient.
DEFAULT_PLAN: dict[str, dict[str, object]] = {
    "phq9": {"baseline": True, "pre_dose": True, "after_24h": True, "after_7d": True, "repeat": "weekly"},
    "gad7": {"baseline": True, "pre_dose": False, "after_24h": False, "after_7d": False, "repeat": "monthly"},
}

#: Operational windows (hours): (opens this long before/after the anchor, overdue this long after it opens).
BASELINE_DUE_HOURS = 72
PRE_DOSE_OPENS_BEFORE_HOURS = 48
AFTER_DOSE_GRACE_HOURS = 24
REPEAT_GRACE_HOURS = 48
#: Session-anchored items are only generated for dosing this recent (no backfilling of old history).
LOOKBACK_DAYS = 14
REPEAT_DAYS = {"weekly": 7, "monthly": 30}


@dataclass(frozen=True)
class Slot:
    scale: str
    timing: str
    slot_key: str
    available_from: datetime
    due_at: datetime
    session: Session | None = None


def expected_slots(schedule: MeasureSchedule, sessions: list[Session], last_final: datetime | None,
                   has_baseline: bool, now: datetime) -> list[Slot]:
    """The due slots one schedule row implies right now (already-generated slots are skipped by their key)."""
    out: list[Slot] = []
    s = schedule.scale
    if schedule.baseline and not has_baseline:
        out.append(Slot(s, Timing.BASELINE, "baseline", schedule.started_at,
                        schedule.started_at + timedelta(hours=BASELINE_DUE_HOURS)))
    for session in sessions:
        if dosing_sessions.is_called_off(session):
            continue
        key = str(session.external_id)
        if schedule.pre_dose and dosing_sessions.is_upcoming(session) and session.scheduled_start > now:
            out.append(Slot(s, Timing.PRE_DOSE, f"pre:{key}",
                            session.scheduled_start - timedelta(hours=PRE_DOSE_OPENS_BEFORE_HOURS),
                            session.scheduled_start, session))
        end = session.dose_ended_at
        if end is None or end < now - timedelta(days=LOOKBACK_DAYS):
            continue
        if schedule.after_24h:
            opens = end + timedelta(hours=24)
            out.append(Slot(s, Timing.H24, f"24h:{key}", opens, opens + timedelta(hours=AFTER_DOSE_GRACE_HOURS),
                            session))
        if schedule.after_7d:
            opens = end + timedelta(days=7)
            out.append(Slot(s, Timing.D7, f"7d:{key}", opens, opens + timedelta(hours=AFTER_DOSE_GRACE_HOURS), session))
    days = REPEAT_DAYS.get(schedule.repeat)
    if days:
        period = int((now - schedule.started_at).total_seconds() // (days * 86400))
        if period >= 1:
            opens = schedule.started_at + timedelta(days=days * period)
            # A score given in the last few days already covers this period.
            recent = last_final is not None and last_final >= opens - timedelta(days=min(3, days - 1))
            if not recent:
                out.append(Slot(s, schedule.repeat, f"{schedule.repeat}:{period}", opens,
                                opens + timedelta(hours=REPEAT_GRACE_HOURS)))
    return out


@transaction.atomic
def refresh_due_items(patient, now: datetime | None = None) -> list[DueItem]:
    """Create the due items the patient's schedule implies and retire those that no longer apply.

    Idempotent: each slot has a key, generated once. Runs a fixed number of queries per patient.
    """
    now = now or timezone.now()
    schedules = list(MeasureSchedule.objects.filter(patient=patient, active=True))
    sessions = list(dosing_sessions.scheduled_since(patient, now - timedelta(days=LOOKBACK_DAYS + 7)))
    finals = Administration.objects.filter(
        patient=patient, status__in=[Administration.Status.FINAL, Administration.Status.AMENDED])
    last_final: dict[str, datetime] = {}
    baselines: set[str] = set()
    given: dict[str, list[tuple[datetime, int]]] = {}
    for pk, scale, timing, at in finals.values_list("pk", "scale", "timing", "administered_at"):
        given.setdefault(scale, []).append((at, pk))
        if scale not in last_final or at > last_final[scale]:
            last_final[scale] = at
        if timing == Timing.BASELINE:
            baselines.add(scale)
    for rows in given.values():
        rows.sort()
    existing = set(DueItem.objects.filter(patient=patient).values_list("scale", "slot_key"))
    created = []
    for schedule in schedules:
        for slot in expected_slots(schedule, sessions, last_final.get(schedule.scale),
                                   schedule.scale in baselines or schedule.scale in last_final, now):
            if (slot.scale, slot.slot_key) in existing:
                continue
            item = DueItem(patient=patient, scale=slot.scale, timing=slot.timing, slot_key=slot.slot_key,
                           available_from=slot.available_from, due_at=slot.due_at, session=slot.session)
            # A slot generated late may already be filled by a score given after it opened.
            rows = given.get(slot.scale, [])
            k = bisect_left(rows, (slot.available_from, 0))
            if k < len(rows):
                item.status, item.administration_id = DueItem.Status.DONE, rows[k][1]
            created.append(item)
    if created:
        DueItem.objects.bulk_create(created, ignore_conflicts=True)
    # Retire items that cannot be done any more: pre-dose items of cancelled or already-dosed sessions,
    # and items of scales taken off the schedule.
    gone = [s.pk for s in sessions if dosing_sessions.is_called_off(s) or s.dose_started_at is not None]
    open_items = DueItem.objects.filter(patient=patient, status=DueItem.Status.OPEN)
    open_items.filter(timing=Timing.PRE_DOSE, session_id__in=gone).update(status=DueItem.Status.CANCELLED)
    open_items.exclude(scale__in=[s.scale for s in schedules]).update(status=DueItem.Status.CANCELLED)
    return created


def close_due_items(administration: Administration, due_item: DueItem | None = None) -> int:
    """A final score fills the open slots of its scale that had opened by the time it was given."""
    qs = DueItem.objects.filter(patient_id=administration.patient_id, scale=administration.scale,
                                status=DueItem.Status.OPEN, available_from__lte=administration.administered_at)
    ids = set(qs.values_list("pk", flat=True))
    if due_item is not None and due_item.status == DueItem.Status.OPEN:
        ids.add(due_item.pk)
    return DueItem.objects.filter(pk__in=ids).update(status=DueItem.Status.DONE, administration=administration)
