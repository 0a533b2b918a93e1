"""A session that ended in an emergency transfer (status 'transferred') is a dosing session: the dose given counts
for the end of induction, booster logic and the dosing overlay of the trajectory."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketaclinic.measures import dosing_sessions, services, trajectory
from ketaclinic.treatments.models import TreatmentSession

pytestmark = pytest.mark.django_db


def _transfer(session, *, end_recorded=True):
    """Mark a dosed session as transferred to emergency care (as treatments.transfer_to_emergency leaves it)."""
    at = session.dose_started_at + timedelta(minutes=30)
    session.status = TreatmentSession.Status.TRANSFERRED
    session.discharged_at = None
    session.transferred_at = at
    session.transfer_note = "Ambulance to the emergency department"
    session.dose_ended_at = at if end_recorded else None
    session.save()
    return session


@pytest.mark.parametrize("end_recorded", [True, False])
def test_a_transferred_last_session_ends_induction(patient, clinic, make_session, end_recorded):
    start = timezone.now() - timedelta(days=30)
    sessions = [make_session(patient, start=start + timedelta(days=2 * i), sequence=i + 1) for i in range(3)]
    _transfer(sessions[-1], end_recorded=end_recorded)
    end = services.induction_end(patient, clinic.tz)
    assert end == timezone.localtime(sessions[-1].transferred_at, clinic.tz).date()
    assert sum(dosing_sessions.dose_given(s) for s in TreatmentSession.objects.filter(patient=patient)) == 3


def test_a_transferred_session_is_in_the_dosing_overlay_with_its_dose(patient, clinic, make_session):
    start = timezone.now() - timedelta(days=10)
    s = _transfer(make_session(patient, start=start, mg="20"))
    _, doses = trajectory.load(patient, clinic)
    assert [(d.sequence, d.mg) for d in doses] == [(s.sequence, Decimal("20.00"))]
