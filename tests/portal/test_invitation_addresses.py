"""A portal invitation goes to exactly one valid email address, whether typed by staff or taken from the patient's
details: a list, something that is not an address, a line break (a mail header) or an over-long address is refused
with a message next to the field, before anything is written or mailed; never a server error."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from ketaclinic.portal import services
from ketaclinic.portal.models import Invitation
from tests.factories import actor

BAD = {
    "two addresses": ("patient@example.invalid, other@example.invalid", "exactly one email address"),
    "semicolon list": ("patient@example.invalid;other@example.invalid", "exactly one email address"),
    "not an address": ("not-an-email", "is not an email address"),
    "header injection": ("patient@example.invalid\nBcc: other@example.invalid", "exactly one email address"),
    "carriage return": ("patient@example.invalid\r\nCc: x@example.invalid", "exactly one email address"),
    "too long": ("a" * 243 + "@example.org", "at most 254"),
    "NUL": ("patient@exam\x00ple.invalid", "exactly one email address"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_address_on_the_patients_details_is_checked_before_inviting(case, client_for, make_patient):
    """Blank on the form: the address on the patient's details is used, and checked the same way (the registry
    stores what it was given)."""
    raw, message = BAD[case]
    if case in ("too long", "NUL") and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses to store this on the patient's details at all (the typed path is tested below)")
    patient = make_patient(email=raw)
    mail.outbox.clear()
    response = client_for("front_desk").post(reverse("portal:invite", args=[patient.external_id]), {"email": ""})
    assert response.status_code == 200
    errors = response.context["invite_form"].errors["email"]
    assert message in errors[0] and "patient's details" in errors[0]
    assert not Invitation.objects.exists() and mail.outbox == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_invite_use_case_refuses_anything_but_one_address(case, make_patient, staff):
    raw, message = BAD[case]
    patient = make_patient()
    mail.outbox.clear()
    with pytest.raises(services.PortalError) as refused:
        services.invite(actor=actor(staff["nurse"]), patient=patient, email=raw)
    assert message in refused.value.errors["email"]
    assert not Invitation.objects.exists() and mail.outbox == []


@pytest.mark.parametrize("typed", ["patient@example.invalid, other@example.invalid", "a" * 250 + "@example.org",
                                   "patient@example.invalid\nBcc: other@example.invalid"])
def test_a_typed_list_or_long_address_is_refused_on_the_chart(typed, client_for, make_patient):
    patient = make_patient(email="patient@example.invalid")
    mail.outbox.clear()
    response = client_for("front_desk").post(reverse("portal:invite", args=[patient.external_id]), {"email": typed})
    assert response.status_code == 200 and response.context["invite_form"].errors["email"]
    assert not Invitation.objects.exists() and mail.outbox == []


def test_one_good_address_is_invited_and_mailed_to_it_alone(client_for, make_patient):
    patient = make_patient(email="  patient@example.invalid ")
    mail.outbox.clear()
    response = client_for("front_desk").post(reverse("portal:invite", args=[patient.external_id]), {"email": ""})
    assert response.status_code == 302
    assert Invitation.objects.get().email == "patient@example.invalid"
    assert [m.to for m in mail.outbox] == [["patient@example.invalid"]]
