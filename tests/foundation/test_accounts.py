from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.models import User
from ketaclinic.audit.models import AuditEntry


def test_sign_in_and_out_are_audited(make_user):
    user = make_user("nurse", username="nina")
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEntry.objects.filter(action="auth.sign_in", actor=user).exists()
    c.post(reverse("accounts:logout"))
    assert AuditEntry.objects.filter(action="auth.sign_out", actor=user).exists()
    assert c.get("/").status_code == 302


def test_lockout_after_repeated_failures(make_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    make_user("nurse", username="nina")
    c = Client()
    for _ in range(3):
        response = c.post(reverse("accounts:login"), {"username": "nina", "password": "wrong"})
        assert response.status_code == 200
    # Even the right password is refused (not checked) while the delay runs; the page says how long to wait.
    response = c.post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery"})
    assert "Try again in 30 seconds" in response.content.decode()
    assert "_auth_user_id" not in c.session
    assert AuditEntry.objects.filter(action="auth.sign_in.failed").count() == 3
    assert AuditEntry.objects.filter(action="auth.sign_in.locked").count() == 1


def test_idle_session_times_out(make_user, settings):
    make_user("nurse", username="nina")
    c = Client()
    c.post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery"})
    assert c.get("/").status_code == 200
    session = c.session
    session["last_activity"] = session["last_activity"] - settings.SESSION_IDLE_MINUTES * 60 - 5
    session.save()
    response = c.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_password_change(make_user):
    make_user("billing", username="bo")
    c = Client()
    c.post(reverse("accounts:login"), {"username": "bo", "password": "correct horse battery"})
    response = c.post(reverse("accounts:password_change"), {
        "old_password": "correct horse battery", "new_password1": "a new passphrase 2026",
        "new_password2": "a new passphrase 2026"})
    assert response.status_code == 302
    assert Client().login(username="bo", password="a new passphrase 2026")
    assert AuditEntry.objects.filter(action="auth.password_changed").exists()


def test_production_hasher_is_argon2(tmp_path):
    """Outside the test run (which swaps in a fast hasher) passwords are hashed with Argon2."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KETACLINIC_TESTING"}
    env.update({"KETACLINIC_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "ketaclinic.settings"})
    code = ("import django; django.setup(); from django.contrib.auth.hashers import get_hasher, make_password; "
            "print(get_hasher().algorithm, make_password('x').split('$')[0])")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["argon2", "argon2"]


@pytest.mark.parametrize("npi,ok", [("1234567893", True), ("1234567890", False), ("12345", False)])
def test_staff_npi_is_checked(npi, ok):
    from ketaclinic.accounts.services import validate_credentials
    from ketaclinic.clinical.errors import ClinicalInputError

    if ok:
        assert validate_credentials(npi=npi)["npi"] == npi
    else:
        with pytest.raises(ClinicalInputError):
            validate_credentials(npi=npi)


def test_staff_dea_number_is_checked():
    from ketaclinic.accounts.services import validate_credentials
    from ketaclinic.clinical.errors import ClinicalInputError

    assert validate_credentials(dea_number="AP5836727", last_name="Palmer")["dea_number"] == "AP5836727"
    with pytest.raises(ClinicalInputError):
        validate_credentials(dea_number="AP5836728", last_name="Palmer")


def test_clinic_admin_manages_staff_in_the_admin_with_checked_credentials(client_for, staff):
    admin_user = staff["clinic_admin"]
    admin_user.is_staff = True
    admin_user.save()
    c = client_for("clinic_admin")
    nurse = staff["nurse"]
    url = f"/admin/accounts/user/{nurse.pk}/change/"
    assert c.get(url).status_code == 200
    form = {
        "username": nurse.username, "first_name": "Nina", "last_name": "Palmer", "email": "", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "npi": "1234567890", "dea_number": "",
        "role_grants-TOTAL_FORMS": "1", "role_grants-INITIAL_FORMS": "1", "role_grants-MIN_NUM_FORMS": "0",
        "role_grants-MAX_NUM_FORMS": "1000", "role_grants-0-id": str(nurse.role_grants.get().pk),
        "role_grants-0-user": str(nurse.pk), "role_grants-0-role": "nurse",
        "role_grants-0-clinic": str(nurse.role_grants.get().clinic_id),
        "role_grants-0-granted_at_0": "2026-01-01", "role_grants-0-granted_at_1": "00:00:00",
    }
    response = c.post(url, form)
    assert response.status_code == 200 and "check digit" in response.content.decode().lower()
    form["npi"] = "1234567893"
    response = c.post(url, form)
    assert response.status_code == 302, [f.errors for f in response.context["inline_admin_formsets"][0].formset] + [response.context["adminform"].form.errors]
    nurse.refresh_from_db()
    assert nurse.npi == "1234567893"
    assert AuditEntry.objects.filter(action="admin.user.changed").exists()


def test_admin_refuses_non_admin_even_with_is_staff(client_for, staff):
    staff["nurse"].is_staff = True
    staff["nurse"].save()
    assert client_for("nurse").get("/admin/").status_code == 403


def test_background_polling_does_not_keep_an_unattended_screen_signed_in(make_user, settings, clock):
    make_user("nurse", username="nina")
    c = Client()
    c.post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery"})
    assert settings.SESSION_IDLE_MINUTES * 60 < 39 * 30
    for _ in range(39):  # 39 polls, 30 s apart: well past the idle limit
        clock.shift(timedelta(seconds=30))
        response = c.get("/", HTTP_HX_REQUEST="true", HTTP_X_BACKGROUND_POLL="1",
                         HTTP_HX_CURRENT_URL="http://testserver/")
    # Signed out, and htmx is told to take the whole page to sign-in.
    assert response["HX-Redirect"].startswith("/accounts/login/")
    assert "_auth_user_id" not in c.session


def test_real_htmx_activity_keeps_the_session(make_user, settings, clock):
    make_user("nurse", username="nina")
    c = Client()
    c.post(reverse("accounts:login"), {"username": "nina", "password": "correct horse battery"})
    assert settings.SESSION_IDLE_MINUTES * 60 < 39 * 30
    for _ in range(39):  # 39 searches, 30 s apart: as long as the polling above, but real use
        clock.shift(timedelta(seconds=30))
        response = c.get(reverse("patients:search"), {"q": "x"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "HX-Redirect" not in response
    assert "_auth_user_id" in c.session


def test_admin_does_not_list_patient_portal_logins(client_for, staff, make_patient):
    from ketaclinic.portal.models import PatientAccount

    staff["clinic_admin"].is_staff = True
    staff["clinic_admin"].save()
    patient_user = User.objects.create_user(username="pat@example.invalid", password="x-long-password-1")
    PatientAccount.objects.create(user=patient_user, patient=make_patient())
    c = client_for("clinic_admin")
    assert "pat@example.invalid" not in c.get("/admin/accounts/user/").content.decode()
    assert c.get(f"/admin/accounts/user/{patient_user.pk}/change/").status_code in (302, 404)
