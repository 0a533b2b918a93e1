"""Security review: every read of an integration session is audited with its patient; absurd dates and ids in
the booking form are messages, not server errors."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.integration import services
from ketaclinic.integration.models import IntegrationSession

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["front_desk", "therapist", "nurse", "prescriber"])
def test_integration_detail_read_is_audited_with_the_patient(offer, patient, staff, client_for, role):
    r = client_for(role).get(reverse("integration:detail", args=[offer.external_id]))
    assert r.status_code == 200
    e = AuditEntry.objects.get(action="integration.session.viewed")
    assert e.patient == patient and e.actor == staff[role] and e.subject_id == str(offer.external_id)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_booking_on_an_absurd_date_is_a_message(offer, client_for, day):
    c = client_for("front_desk")
    c.raise_request_exception = False
    r = c.post(reverse("integration:book", args=[offer.external_id]), {"date": day, "time": "00:00"}, follow=True)
    assert r.status_code == 200 and "Give the date and time" in r.content.decode()
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED


def test_huge_therapist_and_room_ids_are_not_server_errors(offer, client_for):
    c = client_for("front_desk")
    c.raise_request_exception = False
    when = timezone.localtime(services.first_slot(offer))  # inside the window, in the clinic's hours
    r = c.post(reverse("integration:book", args=[offer.external_id]),
               {"date": when.date().isoformat(), "time": when.strftime("%H:%M"), "therapist": "9" * 40,
                "room": "9" * 40}, follow=True)
    assert r.status_code == 200 and "Choose a therapist" in r.content.decode()
