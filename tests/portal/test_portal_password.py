"""Portal patients change their password (the old one checked under the sign-in throttle) and reset a forgotten
one by email like staff do; each step audited."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from tests.passwords import can_sign_in, change_password

OLD = "correct horse battery"
NEW = "my new portal passphrase 7"


def test_a_patient_changes_their_password_from_the_portal(make_portal_patient):
    patient, client = make_portal_patient()
    username = patient.portal_account.user.username
    page = client.get(reverse("portal:home")).content.decode()
    assert reverse("portal:password_change") in page  # in the portal's menu
    assert client.get(reverse("portal:password_change")).status_code == 200
    response = change_password(client, "portal:password_change", OLD, NEW)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert can_sign_in(username, NEW) and not can_sign_in(username, OLD)
    entry = AuditEntry.objects.get(action="auth.password_changed")
    assert entry.actor == patient.portal_account.user and entry.roles == "patient"


def test_a_patients_old_password_guesses_are_held_by_the_sign_in_throttle(make_portal_patient):
    patient, client = make_portal_patient()
    for _ in range(5):
        response = change_password(client, "portal:password_change", "guess", NEW)
        assert "not your current password" in response.content.decode()
    response = change_password(client, "portal:password_change", OLD, NEW)
    assert "Try again in" in response.content.decode()
    assert patient.portal_account.user.check_password(OLD)


def test_the_password_page_needs_the_new_device_code_like_every_portal_page(make_portal_patient):
    patient, _client = make_portal_patient()
    c = Client()
    c.force_login(patient.portal_account.user)  # signed in, but this browser has not typed the emailed code
    response = c.get(reverse("portal:password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:verify"))


def test_staff_cannot_open_the_patients_password_page(client_for):
    assert client_for("nurse").get(reverse("portal:password_change")).status_code == 403


def test_a_patient_resets_a_forgotten_password_by_email(make_portal_patient):
    patient, _client = make_portal_patient()
    username = patient.portal_account.user.username
    mail.outbox.clear()
    Client().post(reverse("accounts:password_reset"), {"email": patient.email})
    assert mail.outbox[0].to == [patient.email]
    link = re.search(r"http://testserver(/accounts/password/reset/[^\s]+/)", mail.outbox[0].body).group(1)
    response = Client().post(link, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    assert can_sign_in(username, NEW)
    assert AuditEntry.objects.get(action="auth.password_reset.done").actor == patient.portal_account.user
