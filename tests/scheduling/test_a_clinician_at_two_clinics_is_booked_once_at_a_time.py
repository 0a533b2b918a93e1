"""A prescriber who works at two clinics of one network is one person: a consult booked at one clinic refuses a
second booking at the other that overlaps it, and says where the first one is (issue 19, point 4)."""

from __future__ import annotations

from datetime import date

import pytest

from ketaclinic.accounts.services import grant_role
from ketaclinic.acting import acting_at
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.scheduling import services
from ketaclinic.scheduling.models import Appointment
from tests.factories import make_rooms
from tests.scheduling.conftest import next_week_at, open_every_day, types

pytestmark = pytest.mark.calendar


def _consult(clinic, desk, prescriber, room, start, family):
    return services.book_appointment(
        actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start, clinician=prescriber, room=room,
        new_patient={"legal_given_name": "Nia", "legal_family_name": family, "date_of_birth": date(1990, 5, 6),
                     "sex_at_birth": "female"})


def test_an_overlapping_booking_at_the_other_clinic_is_refused(open_clinic, desk, admin, staff, rooms, clinic):
    prescriber = staff["prescriber"]
    other = Clinic.objects.create(name="Longmont (synthetic)", time_zone=clinic.time_zone)
    setup = Actor.system("test: a second clinic of the network")
    for role in ("clinic_admin", "front_desk"):
        grant_role(actor=setup, user=staff[role], clinic=other, role=role)
    grant_role(actor=setup, user=prescriber, clinic=other, role="prescriber")
    start = next_week_at(clinic, 10)
    _consult(clinic, desk, prescriber, rooms["consult"], start, "Firstcall")
    with acting_at(other.pk):
        other_admin, other_desk = Actor.for_user(staff["clinic_admin"]), Actor.for_user(staff["front_desk"])
        open_every_day(other, other_admin, [prescriber])
        there = make_rooms(other)
        with pytest.raises(services.SchedulingError) as refused:
            _consult(other, other_desk, prescriber, there["consult"], start, "Secondcall")
        assert "is already booked" in refused.value.errors["clinician"]
        assert "at Test Clinic" in refused.value.errors["clinician"]
        assert not Appointment.objects.filter(clinic=other).exists()
        # an hour later, the prescriber is free at the other clinic
        _consult(other, other_desk, prescriber, there["consult"], next_week_at(clinic, 11), "Secondcall")
    assert Appointment.objects.filter(clinician=prescriber).count() == 2
