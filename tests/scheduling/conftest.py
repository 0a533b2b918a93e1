"""Fixtures of the calendar's tests, reached through the app's own services: the test clinic's rooms, its hours
and its clinicians' weekly hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from ketaclinic.clinic.services import update_clinic
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.scheduling import services
from tests.factories import actor, make_rooms
from tests.measures.conftest import make_portal_patient  # noqa: F401  (fixture of the portal booking tests)

ALL_DAY = (time(0, 0), time(23, 59))


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


@pytest.fixture
def desk(staff):
    return actor(staff["front_desk"])


@pytest.fixture
def admin(staff):
    return actor(staff["clinic_admin"])


def open_every_day(clinic, admin, people, *, opens=ALL_DAY[0], closes=ALL_DAY[1], slot=15):
    """The clinic books every day from ``opens`` to ``closes``, and each of ``people`` is available all that time."""
    update_clinic(actor=admin, clinic=clinic, data={"working_weekdays": "0,1,2,3,4,5,6"})
    clinic.refresh_from_db()
    services.set_clinic_hours(actor=admin, clinic=clinic, opens=opens, closes=closes, slot_minutes=slot)
    for person in people:
        services.set_availability(actor=admin, clinic=clinic, clinician=person,
                                  rows=[(d, opens, closes) for d in range(7)])
    return clinic


@pytest.fixture
def open_clinic(clinic, admin, staff, rooms):
    """Open every day, all day, with the prescriber, nurse and therapist available: so a test can book any
    future moment, whatever day the test clock says it is."""
    return open_every_day(clinic, admin, [staff["prescriber"], staff["nurse"], staff["therapist"]])


def types(clinic) -> dict:
    return {t.code: t for t in services.types_for(clinic)}


def next_week_at(clinic, hour: int, minute: int = 0) -> datetime:
    """A week from today at ``hour``:``minute`` clinic time (always in the future, on the same weekday as today)."""
    day = timezone.localtime(timezone.now(), clinic.tz).date() + timedelta(days=7)
    return wall_clock_moment(day, time(hour, minute), clinic.tz)


def soon_today(clinic, minutes: int = 5, lead: int = 2) -> datetime | None:
    """The next 5-minute mark at least ``lead`` minutes from now, today, with ``minutes`` before 23:59 (None if too late)."""
    tz = clinic.tz
    now = timezone.localtime(timezone.now(), tz)
    at = timezone.localtime(timezone.now() + timedelta(minutes=lead), tz).replace(second=0, microsecond=0)
    at = at.replace(tzinfo=None) + timedelta(minutes=(5 - at.minute % 5) % 5)  # wall clock, rounded up
    moment = wall_clock_moment(at.date(), at.time(), tz)
    while moment is None:  # a time the clocks skip: the next 5-minute mark that exists
        at += timedelta(minutes=5)
        moment = wall_clock_moment(at.date(), at.time(), tz)
    start = moment.astimezone(tz)
    end = (moment + timedelta(minutes=minutes)).astimezone(tz)
    if start.date() != now.date() or end.date() != now.date() or end.time() > ALL_DAY[1]:
        return None
    return start


def slot_today(clinic, clock, minutes: int = 15, lead: int = 2) -> datetime:
    """A free-to-book start today (:func:`soon_today`). Too close to midnight for one, the test clock moves back to
    10:00 the same day first, so the test still books today instead of being skipped late in the evening."""
    start = soon_today(clinic, minutes=minutes, lead=lead)
    if start is None:
        today = timezone.localtime(timezone.now(), clinic.tz).date()
        clock.move_to(wall_clock_moment(today, time(10, 0), clinic.tz))
        start = soon_today(clinic, minutes=minutes, lead=lead)
    assert start is not None
    return start
