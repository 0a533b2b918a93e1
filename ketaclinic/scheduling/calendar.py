"""The calendar's grid: a day by room and chair or by clinician, or a week, with the clinic's hours, each
clinician's availability, appointments, and (read-only, linked to their own pages) treatment and integration
sessions.

A fixed number of queries whatever the number of bookings: the clinic's hours, rooms with their chairs, clinicians
with their roles, availability, appointments, treatment sessions, integration sessions and the waitlist are each
read once, and the grid is laid out here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from ketaclinic.access import can_open
from ketaclinic.clinic.models import Clinic, Room
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.scheduling import services
from ketaclinic.scheduling.models import Appointment, Availability
from ketaclinic.treatments.models import TreatmentSession

VIEWS = ("day", "week")
BY = ("place", "clinician")


@dataclass
class Item:
    kind: str  # appointment | treatment | integration
    start: datetime  # clinic wall clock
    end: datetime
    title: str
    detail: str
    url: str
    status: str
    status_label: str
    room_id: int | None = None
    chair_id: int | None = None
    clinician_id: int | None = None
    where: str = ""
    who: str = ""

    @property
    def live(self) -> bool:
        return self.status not in ("cancelled", "no_show", "declined")


@dataclass
class Column:
    key: str
    label: str
    room_id: int | None = None
    chair_id: int | None = None
    clinician_id: int | None = None
    items: list[Item] = field(default_factory=list)
    hours: list[tuple[time, time]] = field(default_factory=list)  # a clinician's availability that day


def _url(user, name: str, *args) -> str:
    return reverse(name, args=args) if can_open(user, name) else ""


def book_url(user, start: datetime, **extra) -> str:
    if not can_open(user, "scheduling:book"):
        return ""
    query = {"start": f"{start:%Y-%m-%dT%H:%M}", **{k: v for k, v in extra.items() if v}}
    return f"{reverse('scheduling:book')}?{urlencode(query)}"


def slot_times(day: date, opens: time, closes: time, step: int, tz) -> list[datetime]:
    """The calendar's rows on ``day``: wall-clock times from opening, every ``step`` minutes, before closing (a
    time the clocks skip is left out)."""
    out = []
    at = datetime.combine(day, opens)
    last = datetime.combine(day, closes)
    while at < last:
        moment = wall_clock_moment(day, at.time(), tz)
        if moment is not None:
            out.append(moment.astimezone(tz))
        at += timedelta(minutes=step)
    return out


def gather(clinic: Clinic, user, first: date, days: int) -> dict:
    """Everything booked from ``first`` for ``days`` days, as :class:`Item` lists, plus the clinic's setup."""
    tz = clinic.tz
    lo = wall_clock_moment(first, time.min, tz) or datetime.combine(first, time.min, tzinfo=tz)
    hi = wall_clock_moment(first + timedelta(days=days), time.min, tz) or \
        datetime.combine(first + timedelta(days=days), time.min, tzinfo=tz)
    hours = services.hours_for(clinic)
    rooms = list(Room.objects.filter(clinic=clinic, active=True).prefetch_related("chairs").order_by("kind", "name"))
    people = services.clinicians(clinic)
    availability = list(Availability.objects.filter(clinic=clinic))
    appointments = list(Appointment.objects.filter(clinic=clinic, start__gte=lo, start__lt=hi)
                        .select_related("patient", "type", "clinician", "room", "chair"))
    sessions = list(TreatmentSession.objects.filter(patient__clinic=clinic, scheduled_start__gte=lo,
                                                    scheduled_start__lt=hi)
                    .exclude(status__in=services.SESSION_CLOSED).select_related("patient", "room", "chair", "order"))
    integration = list(IntegrationSession.objects.filter(patient__clinic=clinic, scheduled_start__gte=lo,
                                                         scheduled_start__lt=hi)
                       .exclude(status__in=[IntegrationSession.Status.CANCELLED, IntegrationSession.Status.DECLINED])
                       .select_related("patient", "therapist", "room"))
    freed = [a for a in appointments if a.status == Appointment.Status.CANCELLED]
    offers = services.waitlist_matches(clinic, freed)

    items: list[Item] = []
    for a in appointments:
        s = timezone.localtime(a.start, tz)
        items.append(Item("appointment", s, s + timedelta(minutes=a.minutes), a.patient.display_name,
                          a.type.get_code_display(), _url(user, "scheduling:appointment", a.external_id), a.status,
                          a.get_status_display(), a.room_id, a.chair_id, a.clinician_id,
                          where=f"{a.room.name}{' · ' + a.chair.label if a.chair else ''}", who=a.clinician.label))
    for t in sessions:
        s = timezone.localtime(t.scheduled_start, tz)
        url = _url(user, "treatments:cockpit", t.external_id) or _url(user, "treatments:order", t.order.external_id)
        items.append(Item("treatment", s, s + timedelta(minutes=t.scheduled_minutes), t.patient.display_name,
                          f"{t.get_drug_display()} {t.get_route_display()} #{t.sequence}", url, t.status,
                          t.get_status_display(), t.room_id, t.chair_id, None,
                          where=f"{t.room.name if t.room else ''}{' · ' + t.chair.label if t.chair else ''}"))
    for i in integration:
        if i.scheduled_start is None:
            continue
        s = timezone.localtime(i.scheduled_start, tz)
        items.append(Item("integration", s, s + timedelta(minutes=i.scheduled_minutes), i.patient.display_name,
                          "Integration session", _url(user, "integration:detail", i.external_id), i.status,
                          i.get_status_display(), i.room_id, None, i.therapist_id,
                          where=i.room.name if i.room else "", who=i.therapist.label if i.therapist else ""))
    items.sort(key=lambda it: (it.start, it.kind, it.title))
    return {"hours": hours, "rooms": rooms, "people": people, "availability": availability, "items": items,
            "offers": offers}


def _place_columns(rooms: list[Room]) -> list[Column]:
    cols = []
    for room in rooms:
        chairs = [c for c in room.chairs.all() if c.active]
        for chair in chairs or [None]:
            cols.append(Column(key=f"c{chair.pk}" if chair else f"r{room.pk}",
                               label=f"{room.name} · {chair.label}" if chair else room.name,
                               room_id=room.pk, chair_id=chair.pk if chair else None))
    return cols


def _fits(col: Column, it: Item) -> bool:
    if col.clinician_id is not None:
        return it.clinician_id == col.clinician_id
    if it.room_id != col.room_id:
        return False
    return col.chair_id is None or it.chair_id is None or it.chair_id == col.chair_id


def day_grid(clinic: Clinic, user, day: date, by: str) -> dict:
    data = gather(clinic, user, day, 1)
    hours, tz, now = data["hours"], clinic.tz, timezone.localtime(timezone.now(), clinic.tz)
    closed = clinic.closed_days(day, day).get(day, "")  # a working weekday the clinic closed: why
    working = day.weekday() in clinic.weekdays() and not closed
    if by == "clinician":
        cols = [Column(key=f"u{p.pk}", label=p.label, clinician_id=p.pk) for p in data["people"]]
        for col in cols:
            col.hours = sorted((a.start, a.end) for a in data["availability"]
                               if a.clinician_id == col.clinician_id and a.weekday == day.weekday())
    else:
        cols = _place_columns(data["rooms"])
    live = [it for it in data["items"] if it.live]
    for col in cols:
        col.items = [it for it in live if _fits(col, it)]
    step = timedelta(minutes=hours.slot_minutes)
    rows = []
    for at in slot_times(day, hours.opens, hours.closes, hours.slot_minutes, tz):
        cells = []
        for col in cols:
            starting = [it for it in col.items if at <= it.start < at + step]
            busy = any(it.start < at + step and it.end > at for it in col.items)
            off = by == "clinician" and not any(s <= at.time() and at.time() < e for s, e in col.hours)
            url = ""
            if working and not busy and not off and at > now:
                url = book_url(user, at, room=col.room_id, chair=col.chair_id, clinician=col.clinician_id)
            cells.append({"items": starting, "busy": busy and not starting, "off": off, "book": url,
                          "label": col.label})
        rows.append({"at": at, "cells": cells})
    unplaced = [it for it in live if not any(_fits(c, it) for c in cols)] if by == "place" else []
    return {"columns": cols, "rows": rows, "working": working, "closed_why": closed, "hours": hours,
            "offers": data["offers"], "unplaced": unplaced, "count": len(live)}


def week_grid(clinic: Clinic, user, day: date) -> dict:
    monday = day - timedelta(days=day.weekday())
    data = gather(clinic, user, monday, 7)
    hours, tz, now = data["hours"], clinic.tz, timezone.localtime(timezone.now(), clinic.tz)
    days = [monday + timedelta(days=k) for k in range(7)]
    closed = clinic.closed_days(days[0], days[-1])
    working = clinic.weekdays()
    open_days = {d for d in days if d.weekday() in working and d not in closed}
    live = [it for it in data["items"] if it.live]
    by_day = {d: [it for it in live if it.start.date() == d] for d in days}
    step = timedelta(minutes=hours.slot_minutes)
    base = slot_times(monday, hours.opens, hours.closes, hours.slot_minutes, tz)
    rows = []
    for t in [b.time() for b in base] or []:
        cells = []
        for d in days:
            at = wall_clock_moment(d, t, tz)
            if at is None:
                cells.append({"items": [], "book": "", "closed": True})
                continue
            at = at.astimezone(tz)
            starting = [it for it in by_day[d] if at <= it.start < at + step]
            url = book_url(user, at) if d in open_days and at > now else ""
            cells.append({"items": starting, "book": url, "closed": d not in open_days, "day": d})
        rows.append({"at": t, "cells": cells})
    return {"days": [{"day": d, "working": d in open_days, "closed_why": closed.get(d, ""),
                      "count": len(by_day[d])} for d in days],
            "rows": rows, "hours": hours, "offers": data["offers"], "monday": monday, "count": len(live)}
