"""A phone number on a patient's record (theirs, their emergency contact's, their usual escort's) and an escort's phone
at pre-checks is one a call or text can reach: "abc" or seven digits was taken, and no text reminder or call would
ever reach the patient. It is kept as typed; the reminders dial it by the same rule (ketaclinic.inputs.phone_number)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.inputs import phone_number
from ketaclinic.patients.models import Patient

FORM = {"legal_given_name": "Jordan", "legal_family_name": "Dialwood", "date_of_birth": "1979-06-30",
        "sex_at_birth": "male"}


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["phone", "emergency_contact_phone", "escort_phone"])
@pytest.mark.parametrize("typed", ["abc", "555-0142", "303-555-014", "+1"])
def test_registration_refuses_a_number_no_call_can_reach(client_for, field, typed):
    page = client_for("front_desk").post(reverse("patients:register"), {**FORM, field: typed})
    assert page.status_code == 200 and "enter a phone number a call or text can reach" in page.content.decode()
    assert not Patient.objects.filter(legal_family_name="Dialwood").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["(303) 555-0142", "303.555.0142", "1-303-555-0142", "+44 20 7946 0958", ""])
def test_registration_keeps_a_dialable_number_as_typed(client_for, typed):
    page = client_for("front_desk").post(reverse("patients:register"), {**FORM, "phone": typed})
    assert page.status_code == 302
    assert Patient.objects.get(legal_family_name="Dialwood").phone == typed


def test_the_rule_the_reminders_dial_by():
    assert phone_number("(303) 555-0142") == "+13035550142" == phone_number("1 303 555 0142")
    assert phone_number("+44 20 7946 0958") == "+442079460958"
    assert phone_number("abc") == phone_number("555-0142") == phone_number("") == ""


def test_the_escort_phone_at_pre_checks_is_held_to_the_same_rule():
    from django import forms

    from ketaclinic.treatments.forms import PrechecksForm

    field = PrechecksForm.base_fields["escort_phone"]
    with pytest.raises(forms.ValidationError, match="Escort phone: enter a phone number a call or text can reach"):
        field.clean("abc")
    assert field.clean(" (303) 555-0111 ") == "(303) 555-0111" and field.clean("") == ""
