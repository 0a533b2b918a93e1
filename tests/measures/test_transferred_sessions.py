"""A session that ended in an emergency transfer (status 'transferred') is a dosing session: the dose given counts
for the end of induction, booster logic and the dosing overlay of the trajectory. The transfers are made by
treatments' ``transfer_to_emergency``, during dosing (which it ends) or after it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketaclinic.measures import dosing_sessions, services, trajectory
from ketaclinic.treatments.models import TreatmentSession
from tests.factories import open_day, open_run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("end", ["transferred", "transferred after dosing"])
def test_a_transferred_last_session_ends_induction(patient, clinic, make_session, end):
    starts = open_run(clinic, (0, 2, 4), near=timezone.now() - timedelta(days=30))  # three a week, clinic days
    sessions = [make_session(patient, start=start) for start in starts[:2]]
    sessions.append(make_session(patient, start=starts[2], end=end))
    last = sessions[-1]
    assert last.status == TreatmentSession.Status.TRANSFERRED and last.discharged_at is None
    end_day = services.induction_end(patient, clinic.tz)
    # Induction ends on the day the last dose ended: a transfer during dosing ends it then; a transfer after
    # dosing may fall on the next day (a late session), which does not move the day of the dose.
    assert last.dose_ended_at is not None and end_day == timezone.localtime(last.dose_ended_at, clinic.tz).date()
    assert sum(dosing_sessions.dose_given(s) for s in TreatmentSession.objects.filter(patient=patient)) == 3


def test_a_transferred_session_is_in_the_dosing_overlay_with_its_dose(patient, clinic, make_session):
    s = make_session(patient, start=open_day(clinic, -7), mg="20", end="transferred")  # 20 of the 35 mg prepared had run
    assert s.administered_mg == Decimal("20.00")
    _, doses = trajectory.load(patient, clinic)
    assert [(d.sequence, d.mg) for d in doses] == [(s.sequence, Decimal("20.00"))]
