"""The calendar's new-patient booking offers "register anyway" only once the registry has found a patient with the
same name and date of birth, as the patient registration form does."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.scheduling.models import Appointment
from tests.scheduling.conftest import next_week_at, types

pytestmark = pytest.mark.calendar

CONTROL = 'name="confirm_duplicate"'


def test_the_calendars_new_patient_booking_shows_the_confirmation_only_for_a_found_duplicate(
        open_clinic, staff, rooms, clinic, client_for, make_patient):
    c = client_for("front_desk")
    assert CONTROL not in c.get(reverse("scheduling:book")).content.decode()
    make_patient(legal_given_name="Quinn", legal_family_name="Newcall", date_of_birth=date(1991, 2, 3))
    start = next_week_at(clinic, 10)
    post = {"type": types(clinic)["consult"].pk, "start": timezone.localtime(start, clinic.tz).strftime("%Y-%m-%dT%H:%M"),
            "clinician": staff["prescriber"].pk, "place": f"r{rooms['consult'].pk}",
            "legal_given_name": "Quinn", "legal_family_name": "Newcall", "date_of_birth": "1991-02-03",
            "sex_at_birth": "male"}
    refused_for_the_name = c.post(reverse("scheduling:book"), {**post, "legal_given_name": ""}).content.decode()
    assert "given name" in refused_for_the_name and CONTROL not in refused_for_the_name
    body = c.post(reverse("scheduling:book"), post).content.decode()
    assert "already registered" in body and CONTROL in body
    assert not Appointment.objects.exists()
    response = c.post(reverse("scheduling:book"), {**post, "confirm_duplicate": "on"})
    assert response.status_code == 302 and Appointment.objects.count() == 1
