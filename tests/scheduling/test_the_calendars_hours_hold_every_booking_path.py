"""The clinic's hours (Calendar › Hours) and working days are one rule for every booking path: an appointment on the
calendar, a treatment session from the order page and an integration session are each refused outside them with
the same words, and each is booked inside them. Treatments and integration stand below the calendar and read its
hours at run time (ketaclinic.clinic.hours, the calendar's ``booking_hours`` hook)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from ketaclinic.integration import services as integration
from ketaclinic.scheduling import services
from ketaclinic.treatments import services as treatments
from tests.factories import IV, make_order
from tests.integration.helpers import at, offered_after_a_dose_on, working_day_before_a_working_day
from tests.scheduling.conftest import types

pytestmark = pytest.mark.django_db

HOURS = "The clinic books from 09:00 to 17:00 on its working days"


@pytest.fixture
def shorter_hours(clinic, admin, staff):
    """The admin sets the clinic's hours to 09:00-17:00; the prescriber may be booked all that time."""
    services.set_clinic_hours(actor=admin, clinic=clinic, opens=time(9), closes=time(17), slot_minutes=15)
    services.set_availability(actor=admin, clinic=clinic, clinician=staff["prescriber"],
                              rows=[(d, time(9), time(17)) for d in sorted(clinic.weekdays())])
    return clinic


def test_an_appointment_a_treatment_and_an_integration_session_keep_the_same_hours(
        shorter_hours, clinic, desk, staff, rooms, patient, make_patient, clock):
    offer = offered_after_a_dose_on(make_patient(), staff, rooms, clock, working_day_before_a_working_day(clinic))
    day = offer.window_start.astimezone(clinic.tz).date()  # a working day, the window open from about 10:40
    order = make_order(patient, staff, IV)

    def appointment(start, minutes):
        return services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start,
                                         minutes=minutes, clinician=staff["prescriber"], room=rooms["consult"],
                                         patient=make_patient())

    def session(start):
        return treatments.book_session(actor=desk, order=order, start=start, room=rooms["infusion"],
                                       chair=rooms["a1"])

    def integration_session(start):
        return integration.book(actor=desk, offer=offer, start=start, therapist=staff["therapist"])

    with pytest.raises(services.SchedulingError) as e:
        appointment(at(clinic, day, 16, 30), 60)
    assert e.value.errors["start"] == f"{HOURS}; this appointment would run {day:%a %Y-%m-%d} 16:30-17:30."
    with pytest.raises(treatments.TreatmentError) as e:
        session(at(clinic, day, 14, 30))
    assert e.value.errors["start"] == f"{HOURS}; this session would run {day:%a %Y-%m-%d} 14:30-17:10."
    with pytest.raises(integration.IntegrationError) as e:
        integration_session(at(clinic, day, 16, 30))
    assert e.value.errors["start"] == f"{HOURS}; this integration session would run {day:%a %Y-%m-%d} 16:30-17:20."

    assert appointment(at(clinic, day, 16), 60).start == at(clinic, day, 16)
    assert session(at(clinic, day, 14, 20)).scheduled_end == at(clinic, day, 17)
    assert integration_session(at(clinic, day, 16, 10)).scheduled_start == at(clinic, day, 16, 10)


def test_a_day_the_clinic_does_not_work_is_refused_in_the_same_words_on_every_path(shorter_hours, clinic, desk,
                                                                                   staff, rooms, patient,
                                                                                   make_patient):
    day = timezone.localdate(timezone.now(), clinic.tz) + timedelta(days=1)
    while day.weekday() in clinic.weekdays():  # the next day the clinic does not work
        day += timedelta(days=1)
    words = f"{day:%A} is not one of the clinic's working days: it books from 09:00 to 17:00, Monday to Friday."
    with pytest.raises(services.SchedulingError) as e:
        services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"], start=at(clinic, day, 10),
                                  clinician=staff["prescriber"], room=rooms["consult"], patient=make_patient())
    assert words in e.value.errors["start"]
    with pytest.raises(treatments.TreatmentError) as e:
        treatments.book_session(actor=desk, order=make_order(patient, staff, IV), start=at(clinic, day, 10),
                                room=rooms["infusion"], chair=rooms["a1"])
    assert e.value.errors["start"] == words
