"""Front desk books a whole proposed series at one time and chair, all or nothing."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.treatments.factories import actor, make_order


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
