"""The sign-in page reads its POST through SignInForm: the hidden ``next`` travels in the form, blanks are refused
next to the field, and an outside ``next`` is never followed."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry


def test_signing_in_returns_to_the_page_asked_for(make_user):
    make_user("nurse", username="nina")
    c = Client()
    page = c.get(reverse("accounts:login") + "?next=/patients/").content.decode()
    assert 'name="next"' in page and 'value="/patients/"' in page  # carried through the form
    response = c.post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery",
                                                  "next": "/patients/"})
    assert response.status_code == 302 and response["Location"] == "/patients/"


def test_an_outside_next_is_not_followed(make_user):
    make_user("nurse", username="nina")
    response = Client().post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery",
                                                         "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_blank_password_is_refused_next_to_the_field(make_user):
    user = make_user("nurse", username="nina")
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": "nina", "password": "", "next": "/patients/"})
    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["This field is required."]
    assert 'value="/patients/"' in response.content.decode()  # the destination is kept for the retry
    assert "_auth_user_id" not in c.session
    assert not AuditEntry.objects.filter(actor=user).exists()
