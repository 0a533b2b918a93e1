"""Integration offers after a dose that ended at a chosen moment, and days chosen by the clinic's own rules (its
working weekdays and the days it has closed), so the tests hold whatever day the test clock says."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from ketaclinic.inputs import wall_clock_moment
from ketaclinic.integration.models import IntegrationSession
from tests.factories import dosed_session, open_day


def works_on(clinic, day: date) -> bool:
    return day.weekday() in clinic.weekdays() and not clinic.closed_days(day, day)


def working_day_before_a_day_off(clinic) -> date:
    """The first day from tomorrow on that the clinic works and whose next day it does not (a Friday, say)."""
    day = open_day(clinic, 1).astimezone(clinic.tz).date()
    while not (works_on(clinic, day) and not works_on(clinic, day + timedelta(days=1))):
        day += timedelta(days=1)
    return day


def working_day_before_a_working_day(clinic) -> date:
    """The first day from tomorrow on that the clinic works, as it does the next day (a Wednesday, say)."""
    day = open_day(clinic, 1).astimezone(clinic.tz).date()
    while not (works_on(clinic, day) and works_on(clinic, day + timedelta(days=1))):
        day += timedelta(days=1)
    return day


def next_working_day(clinic, day: date) -> date:
    day += timedelta(days=1)
    while not works_on(clinic, day):
        day += timedelta(days=1)
    return day


def at(clinic, day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    moment = wall_clock_moment(day, time(hour, minute, second), clinic.tz)
    assert moment is not None
    return moment


def offered_after_a_dose_on(patient, staff, rooms, clock, day: date) -> IntegrationSession:
    """An IV visit on ``day`` from 10:00:30 clinic time (the test clock moves there), dosed for 40 minutes and
    discharged: the discharge offers the integration session, its window counted to the second from the dose's end
    (about 10:40:30: seconds the booking form's times do not have)."""
    clock.move_to(at(patient.clinic, day, 10, 0, 30))
    s = dosed_session(patient, staff, rooms=rooms, end="discharged")
    assert timezone.localtime(s.scheduled_start, patient.clinic.tz).time() == time(10, 0)
    offer = IntegrationSession.objects.get(dosing_session=s)
    assert offer.window_start.second or offer.window_start.microsecond  # not on a whole minute
    return offer
