"""A treatment series proposal starts from the chosen date (today by default while a session still fits today),
says why any date moved, and when a whole series cannot be booked offers the nearest one that can."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from ketaclinic.treatments.services import booking
from tests.factories import actor, make_order, open_day

pytestmark = pytest.mark.calendar


def _next_saturday(day):
    return day + timedelta(days=(5 - day.weekday()) % 7 or 7)


def test_the_proposal_starts_today_while_a_session_still_fits_today(patient, staff, rooms, clinic, client_for):
    order = make_order(patient, staff)
    now = timezone.localtime(timezone.now(), clinic.tz)
    fits_today = (now + timedelta(minutes=services.default_minutes(order, clinic.limits()))).date() == now.date()
    expected = now.date() if fits_today else now.date() + timedelta(days=1)
    assert booking.series_default_start(order, clinic) == expected
    response = client_for("front_desk").get(reverse("treatments:order", args=[order.external_id]))
    assert response.context["start"] == expected
    assert f'name="start" value="{expected:%Y-%m-%d}"' in response.content.decode()


def test_a_start_on_a_day_the_clinic_is_closed_is_moved_and_said_so(patient, staff, rooms, clinic, client_for):
    order = make_order(patient, staff)  # the test clinic works Monday to Friday
    saturday = _next_saturday(timezone.localdate())
    proposal = services.propose_series(order, saturday, clinic)
    monday = saturday + timedelta(days=2)
    assert proposal[0][0] == monday
    moves = booking.explain_moves(order, saturday, proposal, clinic)
    assert moves[0] == f"{saturday:%A %-d %B} is not a working day: moved to {monday:%A %-d %B}."
    body = client_for("front_desk").get(reverse("treatments:order", args=[order.external_id]),
                                        {"start": saturday.isoformat()}).content.decode()
    assert f"{saturday:%A %-d %B} is not a working day: moved to {monday:%A %-d %B}." in body


def test_every_moved_date_is_explained_and_unmoved_ones_are_not(patient, staff, rooms, clinic):
    order = make_order(patient, staff)
    monday = _next_saturday(timezone.localdate()) + timedelta(days=2)
    proposal = services.propose_series(order, monday, clinic)
    moves = booking.explain_moves(order, monday, proposal, clinic)
    gap = max(order.min_spacing_days, 7 // order.sessions_per_week)
    moved = [d for i, (d, _) in enumerate(proposal) if i and d != proposal[i - 1][0] + timedelta(days=gap)]
    assert len(moves) == len(moved)
    assert all(f"moved to {d:%A %-d %B}" in m for d, m in zip(moved, moves, strict=True))


def _taken_first_day(order, staff, rooms, clinic, make_patient, start, at):
    """Another patient's session holds chair A1 at ``at`` on the first proposed day."""
    first = services.propose_series(order, start, clinic)[0][0]
    other = make_order(make_patient(legal_given_name="Other"), staff)
    services.book_session(actor=actor(staff["front_desk"]), order=other,
                          start=datetime.combine(first, at, tzinfo=clinic.tz), room=rooms["a1"].room,
                          chair=rooms["a1"])
    return first


def test_a_refused_book_all_offers_the_same_dates_in_a_free_chair_and_books_it(patient, make_patient, staff, rooms,
                                                                              clinic, client_for):
    order = make_order(patient, staff)
    start = timezone.localdate() + timedelta(days=7)
    _taken_first_day(order, staff, rooms, clinic, make_patient, start, time(9, 30))
    dates = [d.isoformat() for d, _ in services.propose_series(order, start, clinic)]
    c = client_for("front_desk")
    response = c.post(reverse("treatments:book", args=[order.external_id]), {
        "all": "1", "start": start.isoformat(), "dates": dates, "time": "09:30", "chair": rooms["a1"].pk,
        "minutes": "120"}, follow=True)
    body = response.content.decode()
    assert "Nothing booked" in body and "The nearest series that can be booked" in body
    offer = response.context["offers"][0]
    assert offer["chair"] == rooms["a2"] and [d.isoformat() for d in offer["days"]] == dates
    assert not TreatmentSession.objects.filter(order=order).exists()
    c.post(reverse("treatments:book", args=[order.external_id]), {
        "all": "1", "start": start.isoformat(), "dates": dates, "time": offer["time"], "chair": offer["chair"].pk,
        "minutes": offer["minutes"]})
    booked = TreatmentSession.objects.filter(order=order)
    assert booked.count() == len(dates) and {s.chair for s in booked} == {rooms["a2"]}


def test_with_one_chair_the_nearest_later_start_is_offered_and_all_of_it_fits(patient, make_patient, staff, rooms,
                                                                               clinic):
    order = make_order(patient, staff)
    start = timezone.localdate() + timedelta(days=7)
    _taken_first_day(order, staff, rooms, clinic, make_patient, start, time(9, 30))
    offers = booking.nearest_bookable_series(order=order, start=start, at=time(9, 30), chair=rooms["a1"],
                                             clinic=clinic)
    assert len(offers) == 1
    later = offers[0]
    assert later["start"] > start and later["chair"] == rooms["a1"]
    assert booking.series_problems(order=order, days=later["days"], at=time(9, 30), chair=rooms["a1"]) == []
    booked = services.book_series(actor=actor(staff["front_desk"]), order=order, days=later["days"], at=time(9, 30),
                                  chair=rooms["a1"])
    assert len(booked) == order.sessions_planned


def test_after_a_booked_session_the_rest_of_the_series_starts_the_orders_spacing_later(patient, staff, rooms, clinic,
                                                                                       client_for):
    order = make_order(patient, staff)
    booked = open_day(clinic, 5, at=time(9, 30))  # a day the clinic works, a week or so ahead
    first_day = booked.astimezone(clinic.tz).date()
    services.book_session(actor=actor(staff["front_desk"]), order=order, start=booked, room=rooms["a1"].room,
                          chair=rooms["a1"])
    proposal = services.propose_series(order, first_day, clinic)
    gap = max(order.min_spacing_days, 7 // order.sessions_per_week)
    assert len(proposal) == order.sessions_planned - 1 and proposal[0][0] >= first_day + timedelta(days=gap)
    moves = booking.explain_moves(order, first_day, proposal, clinic)
    assert moves[0] == (f"Session booked on {first_day:%A %-d %B}: the remaining sessions start from "
                        f"{first_day + timedelta(days=gap):%A %-d %B}.")
    body = client_for("front_desk").get(reverse("treatments:order", args=[order.external_id]),
                                        {"start": first_day.isoformat()}).content.decode()
    assert f"Session booked on {first_day:%A %-d %B}" in body
