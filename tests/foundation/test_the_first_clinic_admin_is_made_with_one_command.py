"""A new install's first clinic admin is made with ``manage.py add_staff`` (README, "Running it for real"): the
account holds the role at the clinic, is sealed, and opens the clinic's settings and the admin's staff page; a weak
password, a taken username or an unknown clinic makes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from ketaclinic.accounts.models import RoleGrant, User
from ketaclinic.audit.seals import verify_records

pytestmark = pytest.mark.django_db
GOOD = "a long passphrase nobody guesses 7"


def test_the_first_clinic_admin_opens_the_settings_and_the_staff_page(clinic, monkeypatch):
    monkeypatch.setenv("KETACLINIC_STAFF_PASSWORD", GOOD)
    out = io.StringIO()
    call_command("add_staff", "ada", role=["clinic_admin"], first_name="Ada", last_name="Admin", stdout=out)
    assert f"Created ada (Clinic admin) at {clinic.name}." in out.getvalue()
    ada = User.objects.get(username="ada")
    assert list(RoleGrant.objects.filter(user=ada).values_list("clinic_id", "role")) == [(clinic.pk, "clinic_admin")]
    assert verify_records()[1] == []
    c = Client()
    assert c.login(username="ada", password=GOOD)
    assert c.get("/clinic/settings/").status_code == 200
    assert c.get("/admin/accounts/user/").status_code == 200


@pytest.mark.parametrize(("password", "options", "why"), [
    ("short", {}, "too short"),
    (GOOD, {"username": "taken"}, "exists already"),
    (GOOD, {"clinic": "Nowhere"}, "No clinic named"),
])
def test_nothing_is_made_when_the_command_is_refused(clinic, make_user, monkeypatch, password, options, why):
    make_user("nurse", username="taken")
    monkeypatch.setenv("KETACLINIC_STAFF_PASSWORD", password)
    before = User.objects.count()
    with pytest.raises(CommandError, match=why):
        call_command("add_staff", options.get("username", "ada"), role=["clinic_admin"], first_name="Ada",
                     last_name="Admin", clinic=options.get("clinic", ""))
    assert User.objects.count() == before
