"""The demo clinic's calendar (``scheduling/demo.py``): synthetic consults and follow-ups inside the clinic's hours
on its working days, booked through the calendar's services, and a cancelled slot offered to a waiting patient."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.services import Actor, verify_chain
from ketaclinic.clinic.models import Room
from ketaclinic.clinic.services import add_room
from ketaclinic.crossapp.management.commands.seed_demo import DemoContext
from ketaclinic.scheduling import demo, services
from ketaclinic.scheduling.models import Appointment, Availability, WaitlistEntry
from tests.factories import make_rooms

pytestmark = pytest.mark.calendar


def test_the_demo_books_appointments_inside_the_clinic_hours_through_the_services(clinic, make_user, make_patient,
                                                                                  client_for):
    make_rooms(clinic)
    add_room(actor=Actor.system("test clinic setup"), clinic=clinic, name="Second Consult Room",
             kind=Room.Kind.CONSULT, chairs=1)  # as in the demo clinic, whose consult room has a chair
    users = {"prescriber": make_user("prescriber"), "nurse": make_user("nurse"), "nurse2": make_user("nurse"),
             "therapist": make_user("therapist"), "frontdesk": make_user("front_desk"),
             "admin": make_user("clinic_admin")}
    patients = [make_patient() for _ in range(8)]
    ctx = DemoContext(clinic=clinic, actor=Actor.system("demo loader"), users=users, patients=patients,
                      rng=random.Random(1), now=timezone.now())
    demo.seed(ctx)
    hours = services.hours_for(clinic)
    assert Availability.objects.filter(clinician=users["prescriber"]).count() == len(clinic.weekdays())
    appointments = list(Appointment.objects.select_related("type", "room", "chair"))
    for a in appointments:
        start, end = timezone.localtime(a.start, clinic.tz), timezone.localtime(a.end, clinic.tz)
        assert start.weekday() in clinic.weekdays() and hours.opens <= start.time() and end.time() <= hours.closes
        assert a.start > ctx.now and a.changes.filter(kind="booked").exists()
    assert verify_chain() is None
    assert len(appointments) >= 2  # six days from any date hold at least one working day with future slots
    assert any(a.chair is not None and a.room.kind == Room.Kind.CONSULT for a in appointments)
    cancelled = Appointment.objects.get(status="cancelled")
    assert WaitlistEntry.objects.filter(status="waiting", type=cancelled.type).exists()
    day = timezone.localtime(cancelled.start, clinic.tz).date().isoformat()
    body = client_for("front_desk").get(reverse("scheduling:calendar"), {"date": day}).content.decode()
    assert "Freed slots that suit the waitlist" in body
