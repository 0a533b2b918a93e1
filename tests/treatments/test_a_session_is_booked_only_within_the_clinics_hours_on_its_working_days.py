"""A treatment session is booked only on one of the clinic's working days and only when its whole chair time fits
inside the clinic's booking hours that day (the front desk calendar's hours, Calendar › Hours): a start in the night,
a session that runs past closing or past midnight, or a day the clinic does not work is refused with the hours
named, and nothing is written. The hours are read on the clinic's own wall clock.

Every date here is found through the clinic's own rules (its working weekdays, the days it has closed, its hours),
so the tests hold whatever day the test clock says."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.hours import hours_of
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.factories import (
    IV,
    actor,
    chair_minutes,
    make_order,
    open_day,
    set_booking_hours,
    template_minutes,
)

pytestmark = pytest.mark.django_db

HOURS = "The clinic books from 08:00 to 18:00 on its working days"


def _day_off(clinic):
    """The first day after today that is not one of the clinic's working weekdays."""
    day = open_day(clinic, 1).astimezone(clinic.tz).date()
    while day.weekday() in clinic.weekdays():
        day += timedelta(days=1)
    return day


def _at(clinic, day, hour: int, minute: int = 0):
    moment = wall_clock_moment(day, time(hour, minute), clinic.tz)
    assert moment is not None
    return moment


def _book(order, staff, rooms, start, minutes=None):
    return services.book_session(actor=actor(staff["front_desk"]), order=order, start=start,
                                 room=rooms["infusion"], chair=rooms["a1"], minutes=minutes)


def _nothing_booked(order):
    assert not TreatmentSession.objects.filter(order=order).exists()
    assert not AuditEntry.objects.filter(action="session.booked").exists()


def test_a_day_the_clinic_does_not_work_is_refused_naming_its_days_and_hours(patient, staff, rooms, clinic):
    order = make_order(patient, staff, IV)
    day = _day_off(clinic)
    with pytest.raises(services.TreatmentError) as e:
        _book(order, staff, rooms, _at(clinic, day, 10))
    assert e.value.errors["start"] == (f"{day:%A} is not one of the clinic's working days: it books from 08:00 to "
                                       "18:00, Monday to Friday.")
    _nothing_booked(order)


@pytest.mark.parametrize(("hour", "minute", "runs"), [
    (2, 50, "02:50-05:30"),  # in the night
    (7, 45, "07:45-10:25"),  # before opening
    (16, 0, "16:00-18:40"),  # starts inside the hours, runs past closing
])
def test_a_session_that_does_not_fit_the_hours_is_refused_and_nothing_is_booked(patient, staff, rooms, clinic,
                                                                                hour, minute, runs):
    order = make_order(patient, staff, IV)
    assert chair_minutes(order) == 160  # 30 min of pre-checks, a 40-minute infusion, 90 min of observation
    day = open_day(clinic, 2).astimezone(clinic.tz).date()
    with pytest.raises(services.TreatmentError) as e:
        _book(order, staff, rooms, _at(clinic, day, hour, minute))
    assert e.value.errors["start"] == f"{HOURS}; this session would run {day:%a %Y-%m-%d} {runs}."
    _nothing_booked(order)
    s = _book(order, staff, rooms, _at(clinic, day, 15, 20))  # 15:20 + 160 min: ends at 18:00, closing time
    assert s.scheduled_end == _at(clinic, day, 18) and s.status == TreatmentSession.Status.BOOKED


def test_a_late_session_running_past_midnight_is_refused_even_on_a_day_the_clinic_works(patient, staff, rooms,
                                                                                       clinic):
    # a clinic that works every day until 23:30: a Sunday 23:00 start for 160 minutes still ends the next day
    set_booking_hours(clinic, staff, opens=time(8, 0), closes=time(23, 30), weekdays="0,1,2,3,4,5,6")
    order = make_order(patient, staff, IV)
    day = open_day(clinic, 2).astimezone(clinic.tz).date()
    while day.weekday() != 6:
        day += timedelta(days=1)
    with pytest.raises(services.TreatmentError) as e:
        _book(order, staff, rooms, _at(clinic, day, 23))
    assert e.value.errors["start"] == ("The clinic books from 08:00 to 23:30 on its working days; this session "
                                       f"would run {day:%a %Y-%m-%d} 23:00 to {day + timedelta(days=1):%a} 01:40.")
    _nothing_booked(order)
    assert _book(order, staff, rooms, _at(clinic, day, 20, 50)).scheduled_end == _at(clinic, day, 23, 30)


def test_the_hours_are_the_calendars_as_the_clinic_admin_sets_them(patient, staff, rooms, clinic):
    order = make_order(patient, staff, IV)
    day = open_day(clinic, 2).astimezone(clinic.tz).date()
    with pytest.raises(services.TreatmentError, match="from 08:00 to 18:00"):
        _book(order, staff, rooms, _at(clinic, day, 7))
    set_booking_hours(clinic, staff, opens=time(7, 0), closes=time(20, 0))  # Calendar › Hours
    assert hours_of(clinic).span() == "07:00 to 20:00"
    assert _book(order, staff, rooms, _at(clinic, day, 7)).scheduled_start == _at(clinic, day, 7)


def test_the_hours_are_read_on_the_clinics_wall_clock_not_utc(patient, staff, rooms, clinic):
    """17:00 in Denver is 23:00 or midnight UTC; 07:30 there is 13:30 or 14:30 UTC: the clinic's clock decides."""
    order = make_order(patient, staff, IV)
    day = open_day(clinic, 2).astimezone(clinic.tz).date()
    with pytest.raises(services.TreatmentError, match="would run .* 07:30-10:10"):
        _book(order, staff, rooms, _at(clinic, day, 7, 30))
    s = _book(order, staff, rooms, _at(clinic, day, 17), minutes=60)
    assert s.scheduled_end == _at(clinic, day, 18)


def test_book_all_with_a_day_the_clinic_does_not_work_books_nothing_and_names_the_day(patient, staff, rooms,
                                                                                      clinic):
    order = make_order(patient, staff, IV)
    first = open_day(clinic, 2).astimezone(clinic.tz).date()
    off = _day_off(clinic)
    days = sorted({first, off})
    with pytest.raises(services.TreatmentError) as e:
        services.book_series(actor=actor(staff["front_desk"]), order=order, days=days, at=time(10), chair=rooms["a1"])
    assert f"{off:%a %d %b}: {off:%A} is not one of the clinic's working days" in e.value.errors["start"]
    _nothing_booked(order)


def test_book_all_at_an_evening_time_books_nothing_and_offers_no_series_outside_the_hours(patient, staff, rooms,
                                                                                         clinic, client_for):
    order = make_order(patient, staff, IV)
    start = open_day(clinic, 2).astimezone(clinic.tz).date()
    dates = [d.isoformat() for d, _ in services.propose_series(order, start, clinic)]
    response = client_for("front_desk").post(reverse("treatments:book", args=[order.external_id]), {
        "all": "1", "start": start.isoformat(), "dates": dates, "time": "19:00", "chair": rooms["a1"].pk},
        follow=True)
    body = response.content.decode()
    assert "Nothing booked" in body and "The clinic books from 08:00 to 18:00 on its working days" in body
    assert "No whole series fits at 19:00" in body  # no offer of the same evening in another chair or week
    _nothing_booked(order)


def test_one_session_posted_from_the_order_page_at_night_is_refused_with_the_hours(patient, staff, rooms, clinic,
                                                                                    client_for):
    order = make_order(patient, staff, IV)
    day = open_day(clinic, 2).astimezone(clinic.tz).date()
    response = client_for("front_desk").post(reverse("treatments:book", args=[order.external_id]), {
        "row": "1", "date": day.isoformat(), "time": "02:50", "chair": rooms["a1"].pk}, follow=True)
    body = response.content.decode()
    assert "Not booked" in body and f"this session would run {day:%a %Y-%m-%d} 02:50-05:30" in body
    _nothing_booked(order)


def test_the_esketamine_chair_time_is_held_to_the_hours_too(patient, staff, rooms, clinic):
    from tests.factories import ESK

    order = make_order(patient, staff, ESK)
    minutes = template_minutes(clinic, ESK)
    day = open_day(clinic, 2).astimezone(clinic.tz).date()
    late = _at(clinic, day, 18) - timedelta(minutes=minutes - 15)  # ends 15 minutes after closing
    with pytest.raises(services.TreatmentError, match="would run"):
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=late, room=rooms["spravato"],
                              chair=rooms["s1"])
    fits = _at(clinic, day, 18) - timedelta(minutes=minutes)
    assert services.book_session(actor=actor(staff["front_desk"]), order=order, start=fits, room=rooms["spravato"],
                                 chair=rooms["s1"]).scheduled_start == fits
