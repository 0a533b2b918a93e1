"""The front desk books a consult on a day at the moment the clinic admin closes that day: one of the two wins,
never both (a closed day holding a booking), whichever commits first. Both take the day's lock
(``clinic.models.lock_days``).

Needs PostgreSQL (concurrent connections): run with DB=postgres. On SQLite the test is skipped with a visible
reason (SQLite lets one writer at a time)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic.clinic.models import ClosedDay
from ketaclinic.scheduling import closures, services
from ketaclinic.scheduling.models import Appointment
from tests.concurrency import at_once
from tests.scheduling.conftest import next_week_at, types

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_consult_booked_as_its_day_is_closed_leaves_one_or_the_other(open_clinic, admin, desk, staff, rooms,
                                                                       clinic, make_patient):
    patient = make_patient()
    for k in range(4):  # four days, four races
        start = next_week_at(clinic, 10) + timedelta(days=k)
        day = timezone.localtime(start, clinic.tz).date()
        book = lambda start=start: services.book_appointment(  # noqa: E731
            actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start, clinician=staff["prescriber"],
            room=rooms["consult"], patient=patient)
        close = lambda day=day: closures.close_days(actor=admin, clinic=clinic, first=day, last=None,  # noqa: E731
                                                    reason="Burst pipe")
        results = at_once([book, close])
        booked = Appointment.objects.filter(start=start, status=Appointment.Status.BOOKED).exists()
        closed = ClosedDay.objects.filter(day=day).exists()
        assert booked != closed, results  # exactly one of them
        assert sum(isinstance(r, services.SchedulingError) for r in results) == 1, results
