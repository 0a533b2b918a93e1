"""Staff passkeys through the real WebAuthn checks (a software authenticator answers as a device would): added by the
signed-in person only, used after the password instead of a code, and refused, with nothing changed and the refusal
audited, when the answer is for another challenge or site, from a cloned device, or someone else's."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.models import Passkey
from ketaclinic.audit.models import AuditEntry
from tests.soft_authenticator import SoftAuthenticator

RIGHT = "correct horse battery"


def add_passkey(client: Client, device: SoftAuthenticator, name: str = "Laptop", password: str = RIGHT):
    options = client.post(reverse("accounts:passkey_add_options"), {"password": password}).content.decode()
    return client.post(reverse("accounts:passkey_add"), {"name": name, "credential": device.create(options)})


def password(client: Client, username: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": RIGHT})


def use_passkey(client: Client, device: SoftAuthenticator, **kwargs):
    options = client.post(reverse("accounts:passkey_sign_in_options")).content.decode()
    return client.post(reverse("accounts:passkey_sign_in"), {"credential": device.get(options, **kwargs)})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def nurse_with_passkey(client_for, staff):
    device = SoftAuthenticator()
    response = add_passkey(client_for("nurse"), device)
    assert response.status_code == 302
    return device


def test_a_passkey_added_is_asked_after_the_password_and_signs_in(nurse_with_passkey, staff):
    key = Passkey.objects.get(user=staff["nurse"])
    assert key.name == "Laptop" and key.sign_count == 1
    assert AuditEntry.objects.filter(action="auth.passkey.added", actor=staff["nurse"]).exists()
    c = Client()
    assert password(c, "nurse")["Location"] == reverse("accounts:second_factor") and not signed_in(c)
    # the button comes disabled and the passkey script enables it once it listens: pressed earlier, the form went
    # without the device's answer ("did not arrive whole")
    assert '<button type="submit" class="primary" disabled data-passkey-button>Use a passkey</button>' in c.get(
        reverse("accounts:second_factor")).content.decode()
    response = use_passkey(c, nurse_with_passkey)
    assert response.status_code == 302 and response["Location"] == reverse("clinic:today") and signed_in(c)
    key.refresh_from_db()
    assert key.sign_count == 2 and key.last_used_at is not None


def test_a_cloned_device_whose_counter_went_back_is_refused(nurse_with_passkey, staff):
    c = Client()
    password(c, "nurse")
    use_passkey(c, nurse_with_passkey)  # counter 2
    c = Client()
    password(c, "nurse")
    response = use_passkey(c, nurse_with_passkey, counter=2)  # a copy of the key replays an old counter
    assert response["Location"] == reverse("accounts:second_factor") and not signed_in(c)
    assert Passkey.objects.get(user=staff["nurse"]).sign_count == 2
    refused = AuditEntry.objects.filter(action="auth.second_factor.refused", actor=staff["nurse"]).latest("seq")
    assert refused.details["passkey"] is True


def test_an_answer_for_another_site_is_refused(nurse_with_passkey):
    phished = SoftAuthenticator(origin="https://ketaclinic-login.example.com")
    phished.key, phished.credential_id, phished.counter = (nurse_with_passkey.key, nurse_with_passkey.credential_id,
                                                            nurse_with_passkey.counter)
    c = Client()
    password(c, "nurse")
    assert use_passkey(c, phished)["Location"] == reverse("accounts:second_factor") and not signed_in(c)


def test_an_answer_to_an_old_challenge_is_refused(nurse_with_passkey):
    c = Client()
    password(c, "nurse")
    old = c.post(reverse("accounts:passkey_sign_in_options")).content.decode()
    c.post(reverse("accounts:passkey_sign_in_options"))  # a new challenge replaces it
    response = c.post(reverse("accounts:passkey_sign_in"), {"credential": nurse_with_passkey.get(old)})
    assert response["Location"] == reverse("accounts:second_factor") and not signed_in(c)


def test_someone_elses_passkey_does_not_sign_in_and_cannot_be_removed(nurse_with_passkey, client_for, staff):
    other = SoftAuthenticator()
    add_passkey(client_for("therapist"), other, name="Therapist's phone")
    c = Client()
    password(c, "nurse")
    assert use_passkey(c, other)["Location"] == reverse("accounts:second_factor") and not signed_in(c)
    theirs = Passkey.objects.get(user=staff["therapist"])
    response = client_for("nurse").post(reverse("accounts:passkey_remove", args=[theirs.pk]))
    assert response.status_code == 404 and Passkey.objects.filter(pk=theirs.pk).exists()


def test_without_a_password_just_accepted_the_passkey_step_is_no_way_in(nurse_with_passkey):
    c = Client()
    response = c.post(reverse("accounts:passkey_sign_in_options"))
    assert response.status_code == 400 and "password first" in json.loads(response.content)["error"]
    response = c.post(reverse("accounts:passkey_sign_in"), {"credential": "{}"})
    assert response.status_code == 400 and not signed_in(c)


def test_a_garbled_or_unstarted_registration_adds_nothing(client_for, staff):
    nurse = client_for("nurse")
    response = nurse.post(reverse("accounts:passkey_add"), {"name": "Laptop", "credential": "not json"})
    assert response.status_code == 400 and "not readable" in response.content.decode()
    device = SoftAuthenticator()
    response = nurse.post(reverse("accounts:passkey_add"), {"name": "Laptop", "credential": device.create(
        json.dumps({"challenge": "bm90LWFza2Vk"}))})  # never asked for: no ceremony was started
    assert response.status_code == 400 and "Start adding the passkey again" in response.content.decode()
    assert not Passkey.objects.exists()


def test_a_clinic_admin_removing_a_lost_second_factor_removes_the_passkeys_too(nurse_with_passkey, actor_for, staff):
    from ketaclinic.accounts import services

    _user, removed = services.remove_second_factor(actor=actor_for("clinic_admin"), username="nurse")
    assert removed == 1 and not Passkey.objects.filter(user=staff["nurse"]).exists()
    c = Client()
    assert password(c, "nurse")["Location"] == reverse("clinic:today")  # a nurse needs no second factor


def test_a_signed_in_session_alone_cannot_add_a_passkey(client_for, staff):
    """An unattended, signed-in workstation (or a stolen session) must not add its own way to sign in."""
    nurse = client_for("nurse")
    response = nurse.post(reverse("accounts:passkey_add_options"))
    assert response.status_code == 400 and "password" in json.loads(response.content)["error"]
    response = nurse.post(reverse("accounts:passkey_add_options"), {"password": "not it"})
    assert response.status_code == 400 and "not your current password" in json.loads(response.content)["error"]
    assert AuditEntry.objects.filter(action="auth.reauthentication.refused", actor=staff["nurse"]).count() == 1
    device = SoftAuthenticator()
    response = nurse.post(reverse("accounts:passkey_add"), {"name": "Mine now", "credential": device.create(
        json.dumps({"challenge": "bm90LWFza2Vk"}))})
    assert response.status_code == 400 and not Passkey.objects.exists()


def test_with_the_site_set_a_passkey_answers_only_to_it(nurse_with_passkey, settings):
    settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGIN = "clinic.example.org", "https://clinic.example.org"
    c = Client()
    password(c, "nurse")
    assert use_passkey(c, nurse_with_passkey)["Location"] == reverse("accounts:second_factor") and not signed_in(c)
