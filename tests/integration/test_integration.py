"""Integration sessions: offered 24-72 h after dosing; therapist notes for clinical roles only, every read audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.integration import services
from ketaclinic.integration.models import IntegrationSession
from tests.factories import actor

pytestmark = pytest.mark.django_db


def test_offer_window_is_24_to_72_hours(offer, staff):
    s = offer.dosing_session
    assert offer.window_start - s.dose_ended_at == timedelta(hours=24)
    assert offer.window_end - s.dose_ended_at == timedelta(hours=72)
    assert services.offer_after(actor=actor(staff["nurse"]), session=s) == offer


def test_booking_outside_the_window_is_refused(offer, staff):
    with pytest.raises(services.IntegrationError, match="within the window"):
        services.book(actor=actor(staff["front_desk"]), offer=offer, start=offer.window_start - timedelta(hours=2),
                      therapist=staff["therapist"])
    booked = services.book(actor=actor(staff["front_desk"]), offer=offer,
                           start=services.first_slot(offer), therapist=staff["therapist"])
    assert booked.status == IntegrationSession.Status.BOOKED


def test_notes_for_clinical_roles_only_and_every_read_audited(offer, staff, client_for):
    services.write_note(actor=actor(staff["therapist"]), offer=offer, text="Processed imagery of the lake; grounded.")
    with pytest.raises(services.IntegrationError):
        services.write_note(actor=actor(staff["nurse"]), offer=offer, text="nurse note")
    url = reverse("integration:detail", args=[offer.external_id])
    for role in ("prescriber", "nurse", "therapist"):
        assert "imagery of the lake" in client_for(role).get(url).content.decode()
    assert AuditEntry.objects.filter(action="integration.note.viewed").count() == 3
    fd = client_for("front_desk").get(url).content.decode()
    assert "imagery" not in fd and "Therapist notes" not in fd
    with pytest.raises(services.IntegrationError):
        services.read_notes(actor=actor(staff["front_desk"]), offer=offer)
    for role in ("billing", "compliance"):
        chart = client_for(role).get(reverse("patients:chart", args=[offer.patient.external_id])).content.decode()
        assert "imagery" not in chart
