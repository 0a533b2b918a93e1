"""Front desk books a whole proposed series at one time and chair, all or nothing."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.treatments.factories import actor, make_order, set_booking_hours


def _proposal(order, clinic):
    start = timezone.localtime(timezone.now(), clinic.tz).date() + timedelta(days=7)
    return start, [d.isoformat() for d, _ in services.propose_series(order, start, clinic)]


def test_front_desk_books_every_proposed_date_in_one_step(patient, staff, rooms, client_for, clinic):
    order = make_order(patient, staff)
    start, dates = _proposal(order, clinic)
    assert len(dates) == order.sessions_planned
    response = client_for("front_desk").post(reverse("treatments:book", args=[order.external_id]), {
        "all": "1", "start": start.isoformat(), "dates": dates, "time": "09:30", "chair": rooms["a1"].pk,
        "minutes": "120"}, follow=True)
    sessions = list(TreatmentSession.objects.filter(order=order).order_by("scheduled_start"))
    assert [timezone.localtime(s.scheduled_start, clinic.tz).date().isoformat() for s in sessions] == dates
    assert all(s.chair == rooms["a1"] for s in sessions)
    assert f"Booked session {len(dates)}" in response.content.decode()


def test_one_conflict_books_nothing_and_names_the_date(patient, make_patient, staff, rooms, client_for, clinic):
    order = make_order(patient, staff)
    start, dates = _proposal(order, clinic)
    # Another patient already holds the same chair at the same time on the third proposed date.
    other = make_order(make_patient(legal_given_name="Other"), staff)
    third = timezone.datetime.fromisoformat(dates[2] + "T09:30").replace(tzinfo=clinic.tz)
    services.book_session(actor=actor(staff["front_desk"]), order=other, start=third, room=rooms["a1"].room,
                          chair=rooms["a1"])
    response = client_for("front_desk").post(reverse("treatments:book", args=[order.external_id]), {
        "all": "1", "start": start.isoformat(), "dates": dates, "time": "09:30", "chair": rooms["a1"].pk,
        "minutes": "120"}, follow=True)
    assert not TreatmentSession.objects.filter(order=order).exists()
    body = response.content.decode()
    assert "Nothing booked" in body and third.strftime("%a %d %b") in body


def test_book_series_books_each_day_at_the_time_in_the_chair(patient, staff, rooms, clinic):
    order = make_order(patient, staff)
    start = timezone.localtime(timezone.now(), clinic.tz).date() + timedelta(days=7)
    days = [d for d, _ in services.propose_series(order, start, clinic)]
    booked = services.book_series(actor=actor(staff["front_desk"]), order=order, days=days,
                                  at=time(9, 30), chair=rooms["a2"], minutes=120)
    assert [s.sequence for s in booked] == list(range(1, len(days) + 1))
    assert [timezone.localtime(s.scheduled_start, clinic.tz).date() for s in booked] == days
    assert {timezone.localtime(s.scheduled_start, clinic.tz).time() for s in booked} == {time(9, 30)}
    assert {s.chair for s in booked} == {rooms["a2"]} and {s.scheduled_minutes for s in booked} == {120}
    assert AuditEntry.objects.filter(action="session.booked").count() == len(days)


def test_book_series_is_all_or_nothing_and_names_the_day(patient, staff, rooms, clinic):
    order = make_order(patient, staff)
    start = timezone.localtime(timezone.now(), clinic.tz).date() + timedelta(days=7)
    days = [d for d, _ in services.propose_series(order, start, clinic)]
    crowded = days[:2] + [days[1]]  # the same day twice: the second booking of that day is refused
    with pytest.raises(services.TreatmentError) as e:
        services.book_series(actor=actor(staff["front_desk"]), order=order, days=crowded, at=time(9, 30),
                             chair=rooms["a1"])
    assert days[1].strftime("%a %d %b") in e.value.errors["start"] and "already has a session" in str(e.value)
    assert not TreatmentSession.objects.filter(order=order).exists()
    assert not AuditEntry.objects.filter(action="session.booked").exists()


def _next_spring_forward(today: date) -> date:
    """The next US spring-forward day (second Sunday of March) after ``today``."""
    for year in (today.year, today.year + 1):
        march = date(year, 3, 1)
        day = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
        if day > today:
            return day
    raise AssertionError("unreachable")


def test_book_series_refuses_a_time_the_clock_skips_and_books_nothing(patient, staff, rooms, clinic, clock):
    # a clinic that books round the clock every day: 02:30 is refused only where the clocks skip it
    set_booking_hours(clinic, staff, opens=time(0, 0), closes=time(23, 59), weekdays="0,1,2,3,4,5,6")
    order = make_order(patient, staff)
    gap_day = _next_spring_forward(clock.today())
    first = clock.today() + timedelta(days=1)
    with pytest.raises(services.TreatmentError) as e:
        services.book_series(actor=actor(staff["front_desk"]), order=order, days=[first, gap_day], at=time(2, 30),
                             chair=rooms["a1"])
    assert f"{gap_day:%Y-%m-%d} 02:30 does not exist" in e.value.errors["start"]
    assert not TreatmentSession.objects.filter(order=order).exists()


def test_book_series_refuses_more_days_than_planned_or_no_chair_or_a_billing_clerk(patient, staff, rooms, clinic):
    order = make_order(patient, staff)
    start = timezone.localtime(timezone.now(), clinic.tz).date() + timedelta(days=7)
    days = [start + timedelta(days=3 * k) for k in range(order.sessions_planned + 1)]
    desk = actor(staff["front_desk"])
    with pytest.raises(services.TreatmentError, match="Give the dates"):
        services.book_series(actor=desk, order=order, days=days, at=time(9), chair=rooms["a1"])
    with pytest.raises(services.TreatmentError, match="Give the dates"):
        services.book_series(actor=desk, order=order, days=[], at=time(9), chair=rooms["a1"])
    with pytest.raises(services.TreatmentError, match="Choose a room and chair"):
        services.book_series(actor=desk, order=order, days=days[:1], at=time(9), chair=None)
    with pytest.raises(services.TreatmentError, match="book a session"):
        services.book_series(actor=actor(staff["billing"]), order=order, days=days[:1], at=time(9),
                             chair=rooms["a1"])
    assert not TreatmentSession.objects.filter(order=order).exists()


def test_book_all_with_an_unreadable_date_names_it_and_books_nothing(patient, staff, rooms, client_for, clinic):
    order = make_order(patient, staff)
    start, dates = _proposal(order, clinic)
    response = client_for("front_desk").post(reverse("treatments:book", args=[order.external_id]), {
        "all": "1", "start": start.isoformat(), "dates": [*dates[:2], "2026-02-30"], "time": "09:30",
        "chair": rooms["a1"].pk}, follow=True)
    body = response.content.decode()
    assert "Nothing booked" in body and "2026-02-30" in body
    assert not TreatmentSession.objects.filter(order=order).exists()
