"""The portal's POSTs (the new-device code, resending it, questionnaire answers) and the staff invitation are read
by portal/forms.py and measures/forms.py: bad input is a message next to the field and changes nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from ketaclinic.measures import services as measures
from ketaclinic.measures.models import ItemAnswer
from ketaclinic.portal import services
from ketaclinic.portal.models import Invitation, LoginCode

pytestmark = pytest.mark.django_db


def _unverified_client(patient) -> Client:
    """The patient signed in with their password on a new device: the emailed code is still to type."""
    c = Client()
    c.force_login(patient.portal_account.user)
    return c


@pytest.mark.parametrize("typed", ["12345", "abcdef", "1234567", ""])
def test_a_code_that_cannot_be_one_is_refused_next_to_the_field_and_not_counted(make_portal_patient, typed):
    patient, _ = make_portal_patient()
    c = _unverified_client(patient)
    services.issue_code(account=patient.portal_account)
    response = c.post(reverse("portal:verify"), {"code": typed, "next": "/portal/progress/"})
    assert response.status_code == 200
    [message] = response.context["form"].errors["code"]
    assert "6-digit code" in message or "6 digits" in message
    assert 'id="code-error"' in response.content.decode()
    assert LoginCode.objects.get().attempts == 0  # a malformed entry does not use up an attempt
    assert c.get(reverse("portal:home")).status_code == 302  # still behind the code


def test_a_wrong_code_is_refused_next_to_the_field_and_counted(make_portal_patient):
    patient, _ = make_portal_patient()
    c = _unverified_client(patient)
    code = services.issue_code(account=patient.portal_account)
    wrong = "000000" if code != "000000" else "111111"
    response = c.post(reverse("portal:verify"), {"code": wrong})
    assert response.context["form"].errors["code"] == ["That code is not right, or it has expired. Check the newest "
                                                       "email, or send a new code."]
    assert LoginCode.objects.get().attempts == 1


def test_the_code_accepts_spaces_and_goes_only_to_a_portal_page(make_portal_patient):
    patient, _ = make_portal_patient()
    c = _unverified_client(patient)
    code = services.issue_code(account=patient.portal_account)
    response = c.post(reverse("portal:verify"), {"code": f"{code[:3]} {code[3:]}", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert services.DEVICE_COOKIE not in response.cookies  # "remember this device" was not ticked


def test_resending_keeps_only_a_portal_page_to_return_to(make_portal_patient):
    patient, _ = make_portal_patient()
    c = _unverified_client(patient)
    kept = c.post(reverse("portal:resend_code"), {"next": "/portal/progress/"})
    assert kept["Location"] == reverse("portal:verify") + "?next=/portal/progress/"
    dropped = c.post(reverse("portal:resend_code"), {"next": "//evil.example/portal/"})
    assert dropped["Location"] == reverse("portal:verify") + "?next=" + reverse("portal:home")


@pytest.mark.parametrize("typed,message", [("7", "PHQ-9 q3 answer 7 is out of range 0-3"),
                                           ("often", "&#x27;often&#x27; is not one of the answer options.")])
def test_an_answer_outside_the_options_is_refused_next_to_the_item_and_nothing_is_saved(make_portal_patient,
                                                                                        actor_for, typed, message):
    patient, client = make_portal_patient()
    draft = measures.start_administration(actor=actor_for("nurse"), patient=patient, scale="phq9", source="portal")
    answers = {f"q{i}": "1" for i in range(1, 10)} | {"q3": typed, "action": "submit"}
    response = client.post(reverse("portal:fill", args=[draft.external_id]), answers)
    assert response.status_code == 200
    body = response.content.decode()
    item = body[body.index('id="item-q3"'):]
    assert message in item[:item.index("</fieldset>")]
    assert not ItemAnswer.objects.filter(administration=draft).exists()
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.total is None


def test_an_invitation_to_a_malformed_email_shows_the_chart_with_the_message_next_to_it(client_for, patient):
    mail.outbox.clear()
    response = client_for("front_desk").post(reverse("portal:invite", args=[patient.external_id]),
                                             {"email": "not an email"})
    assert response.status_code == 200
    body = response.content.decode()
    error = body[body.index('id="portal-invite-email-error"'):]
    assert "Enter a valid email address." in error[:200]
    assert 'value="not an email"' in body
    assert not Invitation.objects.exists() and not mail.outbox


def test_an_invitation_without_any_email_says_to_add_one(client_for, patient):
    assert not patient.email
    response = client_for("nurse").post(reverse("portal:invite", args=[patient.external_id]), {"email": ""})
    assert response.status_code == 200
    assert response.context["invite_form"].errors["email"] == [
        "The patient has no email address; add one to their details first."]
    assert not Invitation.objects.exists()


def test_inviting_a_patient_who_has_an_account_is_refused_on_the_chart(client_for, make_portal_patient):
    patient, _ = make_portal_patient()
    invitations = list(Invitation.objects.values_list("pk", "used_at", "revoked_at"))  # the one accepted
    response = client_for("nurse").post(reverse("portal:invite", args=[patient.external_id]), {"email": ""})
    assert response.status_code == 200
    assert "already has a portal account" in response.content.decode()
    assert list(Invitation.objects.values_list("pk", "used_at", "revoked_at")) == invitations  # none new
