"""Days the clinic is closed though they are working weekdays (a holiday, a training day, a move): the clinic admin
closes them here, one day, a run of days, or the US federal holidays of a year at once, and opens them again.
Nothing can be booked on a closed day (:func:`ketaclinic.scheduling.services.slot_problems`, the portal, a
treatment series), and the operations report does not count its chairs as open. A day that already holds a booking
is not closed: the bookings are named, to be moved first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, ClosedDay, lock_days
from ketaclinic.clinical.custody import us_federal_holidays
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.scheduling.models import Appointment
from ketaclinic.scheduling.services import ADMINS, SESSION_CLOSED, SchedulingError, _roles
from ketaclinic.treatments.models import TreatmentSession
from ketaclinic.usecases import use_case

#: The most days closed in one go, and how many calendar years back and ahead a day may be closed (booking policy,
#: not clinical).
MOST_DAYS = 31
YEARS_BACK, YEARS_AHEAD = 1, 2


def _years(today: date) -> tuple[int, int]:
    return today.year - YEARS_BACK, today.year + YEARS_AHEAD


def closed_from(clinic: Clinic, first: date) -> list[ClosedDay]:
    """The clinic's closed days from ``first`` on, earliest first."""
    return list(ClosedDay.objects.filter(clinic=clinic, day__gte=first).select_related("added_by"))


def _bookings_on(clinic: Clinic, days: list[date]) -> dict[date, int]:
    """How many appointments, treatment sessions and integration sessions are booked on each of ``days`` (those
    that took place count too: a day the clinic worked is not closed after the fact). Reads only the bookings on
    those days (one range per run of consecutive days), counted per day in Python: the holidays of a year are a
    dozen days, not the year's bookings."""
    if not days:
        return {}
    tz = clinic.tz
    ranges: list[tuple[datetime, datetime]] = []
    for day in sorted(set(days)):
        start = timezone.make_aware(datetime.combine(day, time.min), tz)
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    wanted = set(days)
    counts: dict[date, int] = {}
    for qs, field in (
        (Appointment.objects.filter(clinic=clinic, status=Appointment.Status.BOOKED), "start"),
        (TreatmentSession.objects.filter(patient__clinic=clinic).exclude(status__in=SESSION_CLOSED),
         "scheduled_start"),
        (IntegrationSession.objects.filter(patient__clinic=clinic, status__in=(IntegrationSession.Status.BOOKED,
                                                                               IntegrationSession.Status.COMPLETED)),
         "scheduled_start"),
    ):
        on_days = Q()
        for start, end in ranges:
            on_days |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
        for moment in qs.filter(on_days).values_list(field, flat=True):
            day = timezone.localtime(moment, tz).date()
            if day in wanted:
                counts[day] = counts.get(day, 0) + 1
    return counts


@use_case
def close_days(*, actor: Actor, clinic: Clinic, first: date, last: date | None, reason: str) -> list[ClosedDay]:
    """Close the clinic's working weekdays from ``first`` to ``last`` (or ``first`` alone) for ``reason``. Days
    that are not working weekdays, or already closed, are left as they are. Refused, and nothing closed, when any of
    the days holds a booking (named, to be moved first). Audited, one entry per day closed."""
    _roles(actor, *ADMINS, what="close the clinic on a day")
    last = last or first
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Say why the clinic is closed (a holiday, a training day): staff see it on the calendar."
    elif len(reason) > 120:
        errors["reason"] = "Keep the reason to 120 characters."
    today = timezone.localdate(timezone=clinic.tz)
    if last < first:
        errors["last"] = "The last day comes on or after the first."
    elif (last - first).days + 1 > MOST_DAYS:
        errors["last"] = f"Close at most {MOST_DAYS} days at once."
    elif not (_years(today)[0] <= first.year and last.year <= _years(today)[1]):
        errors["first"] = "Choose days from {} to {}.".format(*_years(today))
    if errors:
        raise SchedulingError(errors)
    working = clinic.weekdays()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = [d for d in days if d.weekday() in working]
    with transaction.atomic():
        # the days' locks first, as a booking takes its day's lock first: a booking being made on one of them
        # commits before, and is seen below (and two admins closing the same day queue)
        lock_days(clinic.pk, *days)
        known = clinic.closed_days(first, last)
        days = [d for d in days if d not in known]
        if not days:
            raise SchedulingError({"first": "Those days are already closed or are not working days."})
        booked = _bookings_on(clinic, days)
        if booked:
            listed = ", ".join(f"{d:%a %Y-%m-%d} ({n})" for d, n in sorted(booked.items()))
            raise SchedulingError({"first": f"Bookings stand on {listed}: move or cancel them first, then close "
                                            f"the day."})
        rows = ClosedDay.objects.bulk_create(
            [ClosedDay(clinic=clinic, day=d, reason=reason, added_by=actor.user) for d in days])
        for row in rows:
            audit.record(actor, AuditAction.SCHEDULING_DAY_CLOSED, subject=clinic,
                         details={"day": row.day.isoformat(), "reason": reason})
    return rows


@use_case
def reopen_day(*, actor: Actor, clinic: Clinic, day: date) -> None:
    """Open a closed day again (its row deleted, audited with the reason it had)."""
    _roles(actor, *ADMINS, what="open the clinic on a closed day")
    with transaction.atomic():
        lock_days(clinic.pk, day)
        row = ClosedDay.objects.filter(clinic=clinic, day=day).first()
        if row is None:
            raise SchedulingError({"day": f"{day:%Y-%m-%d} is not closed."})
        audit.record(actor, AuditAction.SCHEDULING_DAY_REOPENED, subject=clinic,
                     details={"day": day.isoformat(), "reason": row.reason})
        row.delete()


def federal_holidays_open(clinic: Clinic, year: int) -> list[tuple[date, str, int]]:
    """The US federal holidays of ``year`` (observed days: 5 U.S.C. 6103) that fall on the clinic's working
    weekdays and are not closed yet, each with how many bookings stand on it."""
    holidays = {d: name for d, name in us_federal_holidays(year).items() if d.weekday() in clinic.weekdays()}
    known = clinic.closed_days(date(year, 1, 1), date(year, 12, 31))
    open_days = sorted(d for d in holidays if d not in known)
    booked = _bookings_on(clinic, open_days)
    return [(d, holidays[d], booked.get(d, 0)) for d in open_days]


@use_case
def close_federal_holidays(*, actor: Actor, clinic: Clinic, year: int) -> tuple[list[ClosedDay], list[date]]:
    """Close each US federal holiday of ``year`` that falls on a working weekday, is not closed yet and holds no
    booking; returns the days closed and the days left open because bookings stand on them."""
    _roles(actor, *ADMINS, what="close the clinic on a day")
    today = timezone.localdate(timezone=clinic.tz)
    if not _years(today)[0] <= year <= _years(today)[1]:
        raise SchedulingError({"year": "Choose a year from {} to {}.".format(*_years(today))})
    closed: list[ClosedDay] = []
    left: list[date] = []
    with transaction.atomic():
        lock_days(clinic.pk, *us_federal_holidays(year))
        for day, name, booked in federal_holidays_open(clinic, year):
            if booked:
                left.append(day)
                continue
            row = ClosedDay.objects.create(clinic=clinic, day=day, reason=name, added_by=actor.user)
            audit.record(actor, AuditAction.SCHEDULING_DAY_CLOSED, subject=clinic,
                         details={"day": day.isoformat(), "reason": name})
            closed.append(row)
    return closed, left
