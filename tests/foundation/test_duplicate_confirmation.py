"""The "register anyway" confirmation is part of a registration form only once the registry has found a patient with
the same name and date of birth, on the patient form (register and edit); tests/scheduling/test_booking_duplicate_confirmation.py
holds the same for the calendar's new-patient booking.
No stylesheet decides it: a form without a duplicate has no such control at all."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from ketaclinic.patients import services
from ketaclinic.patients.models import Patient

CONTROL = 'name="confirm_duplicate"'
FORM = {"legal_given_name": "Jordan", "legal_family_name": "Testwood", "date_of_birth": "1979-06-30",
        "sex_at_birth": "male", "state": "CO"}


def test_the_empty_registration_form_has_no_duplicate_confirmation(client_for):
    body = client_for("front_desk").get(reverse("patients:register")).content.decode()
    assert 'name="legal_family_name"' in body
    assert CONTROL not in body and "Register anyway" not in body


def test_a_registration_refused_for_another_reason_has_no_duplicate_confirmation(client_for):
    body = client_for("front_desk").post(reverse("patients:register"),
                                         {**FORM, "date_of_birth": "1850-01-01"}).content.decode()
    assert "more than 120 years" in body
    assert CONTROL not in body


def test_a_found_duplicate_shows_the_confirmation_next_to_the_reason_and_it_registers_the_second_patient(client_for):
    c = client_for("front_desk")
    c.post(reverse("patients:register"), FORM)
    body = c.post(reverse("patients:register"), FORM).content.decode()
    assert "already registered" in body and CONTROL in body and "Register anyway" in body
    assert Patient.objects.count() == 1
    assert c.post(reverse("patients:register"), {**FORM, "confirm_duplicate": "on"}).status_code == 302
    assert Patient.objects.count() == 2


def test_a_ticked_confirmation_stays_on_the_form_when_another_field_is_refused(client_for):
    body = client_for("front_desk").post(reverse("patients:register"),
                                         {**FORM, "state": "C0", "confirm_duplicate": "on"}).content.decode()
    assert "two-letter state code" in body
    assert CONTROL in body and "checked" in body.split(CONTROL)[1].split(">")[0]


def test_editing_a_patient_shows_the_confirmation_only_when_the_new_name_matches_another_patient(client_for,
                                                                                                 make_patient):
    other = make_patient(legal_given_name="Robin", legal_family_name="Samesby", date_of_birth=date(1970, 1, 2))
    patient = make_patient()
    url = reverse("patients:edit", kwargs={"external_id": patient.external_id})
    c = client_for("nurse")
    assert CONTROL not in c.get(url).content.decode()
    data = {f: getattr(patient, f) or "" for f in services.PATIENT_FIELDS}
    data.update({"legal_given_name": other.legal_given_name, "legal_family_name": other.legal_family_name,
                 "date_of_birth": other.date_of_birth.isoformat()})
    body = c.post(url, data).content.decode()
    assert CONTROL in body
    patient.refresh_from_db()
    assert patient.legal_family_name != "Samesby"
