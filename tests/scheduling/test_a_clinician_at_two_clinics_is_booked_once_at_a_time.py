"""A prescriber who works at two clinics of one network is one person: a consult booked at one clinic refuses a
second booking at the other that overlaps it, and says where the first one is; two front desks booking them at the
same moment at the two clinics leave one booking, never two (issue 19, point 4). The race needs PostgreSQL (run
with DB=postgres; skipped on SQLite, which lets one writer at a time)."""

from __future__ import annotations

from datetime import date

import pytest

from ketaclinic.accounts.services import grant_role
from ketaclinic.acting import acting_at
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.scheduling import services
from ketaclinic.scheduling.models import Appointment
from tests.concurrency import at_once
from tests.factories import make_rooms
from tests.scheduling.conftest import next_week_at, open_every_day, types

pytestmark = pytest.mark.calendar


def _consult(clinic, desk, prescriber, room, start, family):
    return services.book_appointment(
        actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start, clinician=prescriber, room=room,
        new_patient={"legal_given_name": "Nia", "legal_family_name": family, "date_of_birth": date(1990, 5, 6),
                     "sex_at_birth": "female"})


def _second_clinic(clinic, staff):
    """Longmont, where the test clinic's admin, front desk and prescriber also work, open every day with its own
    rooms; returns it, its rooms and its front desk (an Actor acting there)."""
    prescriber = staff["prescriber"]
    other = Clinic.objects.create(name="Longmont (synthetic)", time_zone=clinic.time_zone)
    setup = Actor.system("test: a second clinic of the network")
    for role in ("clinic_admin", "front_desk"):
        grant_role(actor=setup, user=staff[role], clinic=other, role=role)
    grant_role(actor=setup, user=prescriber, clinic=other, role="prescriber")
    with acting_at(other.pk):
        open_every_day(other, Actor.for_user(staff["clinic_admin"]), [prescriber])
        return other, make_rooms(other), Actor.for_user(staff["front_desk"])


def test_an_overlapping_booking_at_the_other_clinic_is_refused(open_clinic, desk, admin, staff, rooms, clinic):
    prescriber = staff["prescriber"]
    other, there, other_desk = _second_clinic(clinic, staff)
    start = next_week_at(clinic, 10)
    _consult(clinic, desk, prescriber, rooms["consult"], start, "Firstcall")
    with acting_at(other.pk):
        with pytest.raises(services.SchedulingError) as refused:
            _consult(other, other_desk, prescriber, there["consult"], start, "Secondcall")
        assert "is already booked" in refused.value.errors["clinician"]
        assert "at Test Clinic" in refused.value.errors["clinician"]
        assert not Appointment.objects.filter(clinic=other).exists()
        # an hour later, the prescriber is free at the other clinic
        _consult(other, other_desk, prescriber, there["consult"], next_week_at(clinic, 11), "Secondcall")
    assert Appointment.objects.filter(clinician=prescriber).count() == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_clinics_booking_one_clinician_at_once_leave_one_booking(open_clinic, desk, staff, rooms, clinic):
    prescriber = staff["prescriber"]
    other, there, other_desk = _second_clinic(clinic, staff)
    for k in range(4):  # four moments, four races
        start = next_week_at(clinic, 9 + 2 * k)
        results = at_once([
            lambda start=start, k=k: _consult(clinic, desk, prescriber, rooms["consult"], start, f"Here{k}"),
            lambda start=start, k=k: _consult(other, other_desk, prescriber, there["consult"], start, f"There{k}"),
        ])
        booked = Appointment.objects.filter(clinician=prescriber, start=start, status=Appointment.Status.BOOKED)
        assert booked.count() == 1, results
        assert sum(isinstance(r, services.SchedulingError) for r in results) == 1, results
