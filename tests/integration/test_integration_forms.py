"""Booking, status and notes read their POST through integration/forms.py: a refusal shows the session page again
with the message next to the field, and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.integration.models import IntegrationSession, TherapistNote
from ketaclinic.integration.services import first_slot

pytestmark = pytest.mark.django_db


def _inside_window(offer) -> dict:
    """The first time inside the window that the clinic books (its hours on a working day)."""
    when = timezone.localtime(first_slot(offer), offer.patient.clinic.tz)
    return {"date": when.date().isoformat(), "time": when.strftime("%H:%M")}


def _error(body: str, field_id: str) -> str:
    start = body.index(f'id="{field_id}_error"')
    return body[start:body.index("</span>", start)]


def _assert_not_booked(offer):
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED and offer.scheduled_start is None
    assert not AuditEntry.objects.filter(action="integration.booked").exists()


@pytest.mark.parametrize("typed", ["25:00", "9.30", "noon"])
def test_an_impossible_time_is_refused_next_to_the_field(offer, staff, client_for, typed):
    data = _inside_window(offer) | {"time": typed, "therapist": staff["therapist"].pk}
    response = client_for("front_desk").post(reverse("integration:book", args=[offer.external_id]), data)
    assert response.status_code == 200
    assert "a time such as 14:30" in _error(response.content.decode(), "id_time")
    _assert_not_booked(offer)


def test_a_room_that_is_not_a_therapy_room_is_refused_next_to_the_field(offer, staff, rooms, client_for):
    data = _inside_window(offer) | {"therapist": staff["therapist"].pk, "room": rooms["infusion"].pk}
    response = client_for("front_desk").post(reverse("integration:book", args=[offer.external_id]), data)
    assert "Choose one of the therapy rooms listed." in _error(response.content.decode(), "id_room")
    _assert_not_booked(offer)


def test_a_start_outside_the_window_is_refused_above_the_booking_fields(offer, staff, client_for):
    early = timezone.localtime(offer.window_start - timedelta(hours=3), offer.patient.clinic.tz)
    data = {"date": early.date().isoformat(), "time": early.strftime("%H:%M"), "therapist": staff["therapist"].pk}
    response = client_for("front_desk").post(reverse("integration:book", args=[offer.external_id]), data)
    assert response.status_code == 200
    assert any("within the window" in m for m in response.context["book_form"].non_field_errors())
    assert 'value="' + data["time"] + '"' in response.content.decode()  # what was typed stays
    _assert_not_booked(offer)


def test_a_good_booking_still_redirects(offer, staff, rooms, client_for):
    data = _inside_window(offer) | {"therapist": staff["therapist"].pk, "room": rooms["therapy"].pk}
    response = client_for("front_desk").post(reverse("integration:book", args=[offer.external_id]), data)
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.BOOKED and offer.room == rooms["therapy"]


def test_a_blank_note_is_refused_next_to_the_field(offer, client_for):
    response = client_for("therapist").post(reverse("integration:add_note", args=[offer.external_id]), {"text": "  "})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Write the note." in body[body.index('id="note-error"'):][:100]
    assert not TherapistNote.objects.exists()


def test_an_unknown_status_changes_nothing(offer, client_for):
    response = client_for("nurse").post(reverse("integration:status", args=[offer.external_id]), {"status": "lost"})
    assert response.status_code == 200 and "Unknown status." in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED


def test_completing_an_unbooked_session_is_refused_with_the_reason(offer, client_for):
    response = client_for("nurse").post(reverse("integration:status", args=[offer.external_id]),
                                        {"status": "completed"})
    assert "Only a booked session can be completed." in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED
