"""Today board: the day's rooms and chairs, each patient's phase, timers, overdue vitals and open alerts."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from ketaclinic import loading
from ketaclinic.access import can_open
from ketaclinic.clinic.models import Room
from ketaclinic.clinical import dosing, sedation
from ketaclinic.measures.models import SafetyTask
from ketaclinic.treatments import services
from ketaclinic.treatments.models import (
    AdverseEvent,
    AlertAcknowledgement,
    RemsForm,
    Route,
    SessionEvent,
    SessionRating,
    TreatmentSession,
    VitalsReading,
)

#: A session whose patient is still in the clinic (it stays on the board after midnight until they leave).
STILL_HERE = ("checked_in", "pre_checks", "dosing", "observation", "ready_for_discharge")

#: What the board reads of a session and of those it names: the tile, the next vitals due, the minutes of
#: infusion left, when the patient may go home and the prescriber's list of unseen alerts (the session with its
#: patient, room and chair is 117 columns; reading all of them for every tile was most of the board's own time).
#: A session column left out here would be read again for each tile: tests/treatments/test_today_budget.py builds
#: the tiles of a dosing day (booked, checked in, infusing, paused, in observation, esketamine) and holds the
#: queries. Of the patient, room and chair, only the columns named are read (naming none reads them whole).
BOARD_FIELDS = (
    "external_id", "patient", "room", "chair", "status", "route", "scheduled_start", "checked_in_at",
    "dose_started_at", "dose_ended_at", "last_vitals_at", "alert_level", "paused_at", "bag_volume_mL",
    "prepared_volume_mL", "rate_mL_per_h", "infusion_minutes",
    "patient__preferred_name", "patient__legal_given_name", "patient__legal_family_name", "patient__clinic",
)

PHASE_LABEL = {
    "booked": "Booked", "checked_in": "Checked in", "pre_checks": "Pre-checks", "dosing": "Dosing",
    "observation": "Observation", "ready_for_discharge": "Ready for discharge", "discharged": "Discharged",
    "cancelled": "Cancelled", "no_show": "No-show",
}


def board(clinic, now=None) -> dict:
    now = now or timezone.now()
    tz = clinic.tz
    start = datetime.combine(timezone.localtime(now, tz).date(), time.min, tzinfo=tz)
    sessions = list(
        TreatmentSession.objects.filter(patient__clinic=clinic, scheduled_start__lt=start + timedelta(days=1))
        # today's sessions, and a patient still in the clinic from yesterday (a late session past midnight)
        .filter(Q(scheduled_start__gte=start)
                | Q(scheduled_start__gte=start - timedelta(days=1), status__in=STILL_HERE))
        .exclude(status__in=services.CLOSED)
        # the room and chair of each session are the board's own (read below for the tiles), not joined to each row
        .select_related("patient").only(*BOARD_FIELDS)
        .annotate(open_ae=Exists(AdverseEvent.objects.filter(session=OuterRef("pk"), resolved_at__isnull=True)),
                  # an urgent suicidality task no clinician has acknowledged: no dose until one does
                  # (rule session.safety_task_before_dosing; services.start_blockers)
                  open_safety_task=Exists(SafetyTask.objects.filter(patient=OuterRef("patient_id"),
                                                                    status=SafetyTask.Status.OPEN)),
                  last_moaas=Subquery(SessionRating.objects.filter(session=OuterRef("pk"), scale="moaas")
                                      .order_by("-at", "-pk").values("total")[:1]),
                  last_device_at=Subquery(SessionEvent.objects.filter(session=OuterRef("pk"), kind="device")
                                          .order_by("-at").values("at")[:1]),
                  # the worst HOLD/STOP reading of the session that no prescriber has recorded as seen
                  unseen_level=Subquery(VitalsReading.objects.filter(session=OuterRef("pk"), level__gte=2)
                                        .exclude(Exists(AlertAcknowledgement.objects.filter(
                                            reading=OuterRef("pk"), kind=AlertAcknowledgement.Kind.SEEN)))
                                        .order_by("-level").values("level")[:1]))
        .order_by("scheduled_start"))
    limits = clinic.limits()
    pumps = _pump_events([s for s in sessions if _infusing(s) and not s.paused_at])
    rows = []
    for s in sessions:
        s.patient.clinic = clinic  # avoid a query per row in limits_for
        due = services.next_vitals_due(s, limits) if s.status in ("dosing", "observation", "ready_for_discharge") else None
        alerts = []
        if s.alert_level >= 2 and s.status not in ("discharged",):
            alerts.append("HOLD" if s.alert_level == 2 else "STOP")
        elif s.alert_level == 1 and s.status not in ("discharged",):
            alerts.append("Caution")
        if (s.last_moaas is not None and s.status not in ("discharged",)
                and sedation.classify_moaas(s.last_moaas, settings=limits).deep):
            alerts.insert(0, f"Deep sedation (MOAA/S {s.last_moaas})")
        if s.open_ae:
            alerts.append("Adverse event open")
        if s.open_safety_task and s.status not in ("discharged",):
            alerts.insert(0, "Suicidality task open")
        ready = (services.ready_from(s, [s.last_device_at] if s.last_device_at else [], limits)
                 if s.status in ("observation", "ready_for_discharge") else None)
        needs_prescriber = bool((s.unseen_level or 0) >= 2 and s.status not in ("discharged", "transferred"))
        rows.append({"s": s, "phase": PHASE_LABEL.get(s.status, s.status), "due": due, "ready_from": ready,
                     # the tile's link, reversed here: the template's {% url %} took four times as long a tile
                     "cockpit_url": reverse("treatments:cockpit", args=[s.external_id]),
                     "infusion": _infusion(s, pumps.get(s.pk, []), now) if _infusing(s) else None,
                     "needs_prescriber": needs_prescriber,
                     "overdue": bool(due and due < now), "alerts": alerts})
    rooms = list(Room.objects.filter(clinic=clinic, active=True,
                                     kind__in=[Room.Kind.INFUSION, Room.Kind.INTRANASAL, Room.Kind.RECOVERY])
                 .prefetch_related("chairs"))
    _file_places(sessions, rooms)
    # each row filed once under its room and chair (a walk over every row for every chair was most of the board's
    # own time on a day of a thousand sessions)
    by_room: dict[int, list[dict]] = {}
    by_chair: dict[tuple[int, int | None], list[dict]] = {}
    for r in rows:
        by_room.setdefault(r["s"].room_id, []).append(r)
        by_chair.setdefault((r["s"].room_id, r["s"].chair_id), []).append(r)
    places = []
    for room in rooms:
        for chair in [c for c in room.chairs.all() if c.active] or [None]:
            here = by_room.get(room.pk, []) if chair is None else by_chair.get((room.pk, chair.pk), [])
            places.append({"room": room, "chair": chair, "rows": here})
    return {"places": places, "count": len(rows), "now": now,
            "for_prescriber": [r for r in rows if r["needs_prescriber"]]}


def _file_places(sessions, rooms) -> None:
    """Each session's room and chair (the prescriber's list names them), set from the rooms and chairs the board read
    for its tiles; a session in a room the board does not show (one closed since, say) has its room and chair read
    for all such sessions in one query."""
    room_of = {room.pk: room for room in rooms}
    chair_of = {chair.pk: chair for room in rooms for chair in room.chairs.all()}
    room_field, chair_field = TreatmentSession._meta.get_field("room"), TreatmentSession._meta.get_field("chair")
    elsewhere = []
    for s in sessions:
        if (s.room_id is not None and s.room_id not in room_of) or (s.chair_id is not None and s.chair_id not in chair_of):
            elsewhere.append(s)
            continue
        room_field.set_cached_value(s, room_of.get(s.room_id))
        chair_field.set_cached_value(s, chair_of.get(s.chair_id))
    loading.attach(elsewhere, ("room", "chair"))


def _infusing(s) -> bool:
    """An IV dose started and not stopped (an IM injection or esketamine devices have no pump to run)."""
    return (s.route == Route.IV and s.status == "dosing" and s.dose_started_at is not None
            and s.dose_ended_at is None)


def _pump_events(running) -> dict[int, list[tuple]]:
    """The pause, resume and rate events of the running infusions, in one query for all of them (none without)."""
    found: dict[int, list[tuple]] = {s.pk: [] for s in running}
    if found:
        for sid, kind, at, rate in (SessionEvent.objects.filter(session_id__in=found, kind__in=("pause", "resume", "rate"))
                                    .order_by("at", "pk").values_list("session_id", "kind", "at", "rate_mL_per_h")):
            found[sid].append((kind, at, rate))
    return found


def _infusion(s, events, now) -> dict | None:
    """What the tile says of a running infusion: "paused", or the whole minutes left to run the prepared volume at
    the pump's present rate (:func:`ketaclinic.clinical.dosing.infusion_time_left`, a part-minute counted whole);
    None when the prepared volume or rate is not recorded."""
    if s.paused_at:
        return {"paused": True}
    volume = (s.bag_volume_mL or 0) + (s.prepared_volume_mL or 0)
    if not volume or not (s.rate_mL_per_h or s.infusion_minutes):
        return None
    left = dosing.infusion_time_left(start=s.dose_started_at, at=max(now, s.dose_started_at),
                                     start_rate_mL_per_h=s.rate_mL_per_h or 0, events=events,
                                     infused_volume_mL=volume, planned_minutes=s.infusion_minutes)
    if left.minutes_left is None:
        return None
    return {"paused": False, "minutes_left": math.ceil(left.minutes_left),
            "ends_at": now + timedelta(minutes=float(left.minutes_left))}


def today_panels(request, clinic) -> list[dict]:
    user = request.user
    if not can_open(user, "treatments:schedule"):
        return []
    ctx = board(clinic)
    ctx["clinical"] = can_open(user, "treatments:cockpit")
    ctx["front_desk"] = can_open(user, "treatments:check_in")
    panels = [{"title": f"Treatment rooms today ({ctx['count']} sessions)", "template": "treatments/_today.html",
               "css": "panel-rooms", "context": ctx}]
    if ctx["for_prescriber"] and can_open(user, "treatments:override_hold"):  # a prescriber's decision is waiting
        panels.insert(0, {"title": "Vital signs at HOLD or STOP: the prescriber is needed", "priority": 0,
                          "css": "urgent", "template": "treatments/_today_alerts.html",
                          "context": {"rows": ctx["for_prescriber"]}})
    if can_open(user, "treatments:cockpit"):
        due = RemsForm.objects.filter(status=RemsForm.Status.COMPLETE, session__patient__clinic=clinic,
                                      due_by__lte=timezone.localdate() + timedelta(days=7)).count()
        if due:
            panels.append({"title": "Spravato REMS forms", "template": "treatments/_today_rems.html",
                           "context": {"due": due}})
    return panels
