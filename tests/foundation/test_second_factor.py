"""The staff second factor: prescribers, compliance leads and clinic admins cannot sign in with a password alone;
they set up an authenticator app (QR code as inline SVG, or the secret typed), confirm it with its first code, get
recovery codes once (only hashes kept), and type a code after their password from then on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts import secondfactor, services
from ketaclinic.audit.models import AuditEntry

RIGHT = "correct horse battery"


def _password(client: Client, username: str, password: str = RIGHT):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _enrol(client: Client, username: str) -> tuple[TOTPDevice, list[str]]:
    """Password, then the set-up page, then its first code: returns the device and the recovery codes shown."""
    response = _password(client, username)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:enrol")
    response = client.get(reverse("accounts:enrol"))
    page = response.content.decode()
    assert "<svg" in page  # the QR code, inline
    # Not signed in yet, so the no-store middleware does not apply: the page itself says not to keep the secret.
    assert {"no-store", "no-cache", "private"} <= {p.strip() for p in response["Cache-Control"].split(",")}
    device = TOTPDevice.objects.get(user__username=username, confirmed=False)
    assert secondfactor.secret_text(device) in page  # and the secret to type
    response = client.post(reverse("accounts:enrol"), {"code": _code(device)})
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    device.refresh_from_db()
    return device, codes


@pytest.mark.parametrize("role", ["prescriber", "compliance", "clinic_admin"])
def test_a_password_alone_does_not_sign_in_a_role_that_needs_a_second_factor(make_user, role):
    make_user(role, username="sam")
    c = Client()
    response = _password(c, "sam")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:enrol")
    assert not _signed_in(c)
    assert c.get(reverse("clinic:today")).status_code == 302  # still the sign-in page
    entry = AuditEntry.objects.get(action="auth.password_accepted")
    assert entry.details == {"second_factor": "enrol"}


def test_setting_up_the_authenticator_signs_in_and_shows_recovery_codes_once_stored_hashed(make_user):
    user = make_user("prescriber", username="pat")
    c = Client()
    device, codes = _enrol(c, "pat")
    assert device.confirmed and _signed_in(c)
    assert len(codes) == secondfactor.RECOVERY_CODES == len(set(codes))
    stored = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes} and not stored & set(codes)
    assert AuditEntry.objects.filter(action="auth.second_factor.enrolled", actor=user).exists()
    assert AuditEntry.objects.get(action="auth.sign_in", actor=user).details["second_factor"] == "authenticator (enrolled)"
    # Shown once: nothing else shows them again.
    assert codes[0] not in c.get(reverse("accounts:password_change")).content.decode()


def test_a_wrong_first_code_does_not_confirm_the_authenticator(make_user):
    make_user("prescriber", username="pat")
    c = Client()
    _password(c, "pat")
    c.get(reverse("accounts:enrol"))
    response = c.post(reverse("accounts:enrol"), {"code": "000000"})
    assert "does not match" in response.content.decode() or "not right" in response.content.decode()
    assert not _signed_in(c)
    assert not TOTPDevice.objects.filter(user__username="pat", confirmed=True).exists()
    response = c.post(reverse("accounts:enrol"), {"code": "12ab"})
    assert "6 digits" in response.content.decode() and not _signed_in(c)


def test_after_setting_up_the_code_is_asked_after_the_password(make_user, clock):
    user = make_user("prescriber", username="pat")
    device, _codes = _enrol(Client(), "pat")
    clock.shift(timedelta(seconds=31))  # a code is accepted once: the next sign-in uses the next one
    c = Client()
    response = _password(c, "pat")
    assert response["Location"] == reverse("accounts:second_factor") and not _signed_in(c)
    response = c.post(reverse("accounts:second_factor"), {"code": "123456" if _code(device) != "123456" else "654321"})
    assert response.status_code == 200 and "not right" in response.content.decode() and not _signed_in(c)
    assert AuditEntry.objects.filter(action="auth.second_factor.refused", actor=user).count() == 1
    clock.shift(timedelta(seconds=2))  # django-otp makes the next try wait 1 s after a wrong code
    response = c.post(reverse("accounts:second_factor"), {"code": _code(device)})
    assert response.status_code == 302 and response["Location"] == reverse("clinic:today") and _signed_in(c)


def test_a_recovery_code_signs_in_once(make_user, clock):
    make_user("compliance", username="cora")
    _device, codes = _enrol(Client(), "cora")
    for attempt in range(2):
        clock.shift(timedelta(seconds=5))
        c = Client()
        _password(c, "cora")
        c.post(reverse("accounts:second_factor"), {"code": codes[0].upper()})
        assert _signed_in(c) is (attempt == 0)
    assert secondfactor.recovery_codes_left(_device.user) == 9


def test_the_code_step_without_a_password_just_accepted_is_not_a_way_in(make_user, clock):
    make_user("prescriber", username="pat")
    device, _ = _enrol(Client(), "pat")
    # Nobody typed a password in this browser: the page says to sign in, and a right code changes nothing.
    c = Client()
    assert "Sign in again" in c.get(reverse("accounts:second_factor")).content.decode()
    c.post(reverse("accounts:second_factor"), {"code": _code(device)})
    assert not _signed_in(c)
    # A password accepted more than five minutes ago has expired too.
    clock.shift(timedelta(seconds=31))
    _password(c, "pat")
    clock.shift(timedelta(minutes=6))
    response = c.post(reverse("accounts:second_factor"), {"code": _code(device)})
    assert "Sign in again" in response.content.decode() and not _signed_in(c)


def test_a_password_alone_cannot_replace_the_authenticator_at_sign_in(make_user, clock):
    """Someone who has the password but not the phone: the set-up page is not a way round the code page (it would
    remove the owner's authenticator and sign them in with their own)."""
    user = make_user("prescriber", username="pat")
    owners, _ = _enrol(Client(), "pat")
    clock.shift(timedelta(seconds=31))
    attacker = Client(REMOTE_ADDR="203.0.113.5")
    assert _password(attacker, "pat")["Location"] == reverse("accounts:second_factor")
    response = attacker.get(reverse("accounts:enrol"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:second_factor")
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()  # no secret was shown
    # Even with an authenticator being set up for the account (and its right code), posting to the page does nothing.
    theirs = services.start_enrolment(user)
    response = attacker.post(reverse("accounts:enrol"), {"code": _code(theirs)})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:second_factor")
    assert not _signed_in(attacker)
    assert secondfactor.authenticator(user) == owners and owners.confirmed
    assert not TOTPDevice.objects.get(pk=theirs.pk).confirmed
    assert AuditEntry.objects.filter(action="auth.second_factor.enrolled").count() == 1  # the owner's, only
    assert attacker.get(reverse("clinic:today")).status_code == 302


def test_roles_not_required_sign_in_with_a_password_unless_the_clinic_requires_it_for_all(make_user, settings):
    make_user("nurse", username="nina")
    c = Client()
    _password(c, "nina")
    assert _signed_in(c)
    settings.KETACLINIC_REQUIRE_2FA_FOR_ALL = True
    c = Client()
    assert _password(c, "nina")["Location"] == reverse("accounts:enrol") and not _signed_in(c)


def test_demo_accounts_are_exempt_only_when_the_setting_says_so(make_user, settings):
    make_user("prescriber", username="demo-prescriber", is_demo=True)
    c = Client()
    assert _password(c, "demo-prescriber")["Location"] == reverse("accounts:enrol")
    settings.KETACLINIC_2FA_EXEMPT_DEMO_ACCOUNTS = True
    c = Client()
    _password(c, "demo-prescriber")
    assert _signed_in(c)


def test_a_nurse_who_set_up_an_authenticator_is_asked_for_it(make_user, client_for, clock):
    nurse = make_user("nurse", username="nina")
    c = Client()
    c.force_login(nurse)
    c.get(reverse("accounts:enrol"))
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    assert c.post(reverse("accounts:enrol"), {"code": _code(device)}).status_code == 200
    clock.shift(timedelta(seconds=31))
    c = Client()
    assert _password(c, "nina")["Location"] == reverse("accounts:second_factor") and not _signed_in(c)


def test_replacing_the_authenticator_while_signed_in_needs_a_code_of_the_current_one(make_user, clock):
    """A signed-in session alone (a screen left open) does not move the second factor to another phone."""
    user = make_user("prescriber", username="pat")
    c = Client()
    old, codes = _enrol(c, "pat")
    assert _signed_in(c)
    clock.shift(timedelta(seconds=31))
    page = c.get(reverse("accounts:enrol")).content.decode()
    assert 'name="current_code"' in page and "code of the one you use now" in page
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    response = c.post(reverse("accounts:enrol"), {"code": _code(new)})
    assert response.status_code == 200 and "needs proof you hold the old one" in response.content.decode()
    wrong = "123456" if _code(old) != "123456" else "654321"
    response = c.post(reverse("accounts:enrol"), {"code": _code(new), "current_code": wrong})
    assert response.status_code == 200 and "not a code of your current authenticator" in response.content.decode()
    assert secondfactor.authenticator(user) == old and not TOTPDevice.objects.get(pk=new.pk).confirmed
    assert AuditEntry.objects.filter(action="auth.second_factor.refused",
                                     details__current_authenticator=True).count() == 1
    assert AuditEntry.objects.filter(action="auth.second_factor.enrolled").count() == 1
    # With a code of the current one (here a recovery code), the new authenticator replaces it.
    clock.shift(timedelta(seconds=31))
    response = c.post(reverse("accounts:enrol"), {"code": _code(new), "current_code": codes[3]})
    assert response.status_code == 200 and "<code>" in response.content.decode()
    assert secondfactor.authenticator(user).pk == new.pk and not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(action="auth.second_factor.enrolled").latest("seq").details["replaced"] is True


def test_a_clinician_lifts_an_attackers_delay_with_their_authenticator(make_user, clock):
    make_user("prescriber", username="pat")
    device, _ = _enrol(Client(), "pat")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(6):
        _password(attacker, "pat", "guess")
    pat = Client()
    assert "Try again in" in _password(pat, "pat").content.decode()
    clock.shift(timedelta(seconds=31))
    response = pat.post(reverse("accounts:unlock"), {"username": "pat", "code": _code(device)})
    assert response.status_code == 302
    assert AuditEntry.objects.get(action="auth.sign_in.unlocked").details["by"] == "authenticator"
    assert _password(pat, "pat")["Location"] == reverse("accounts:second_factor")


def test_a_wrong_unlock_code_lifts_nothing_and_answers_the_same(make_user):
    make_user("prescriber", username="pat")
    for _ in range(5):
        _password(Client(), "pat", "guess")
    for name in ("pat", "nobody"):
        response = Client().post(reverse("accounts:unlock"), {"username": name, "code": "123456"})
        assert response.status_code == 302
    assert "Try again in" in _password(Client(), "pat").content.decode()
    assert AuditEntry.objects.filter(action="auth.second_factor.refused").count() == 2


def test_wrong_unlock_codes_from_strangers_do_not_lock_the_owners_authenticator_or_recovery_codes(make_user, clock):
    """Anyone who knows a username can type codes on the unlock page: those failures are not counted against the
    owner's devices (django-otp would make each next code wait twice as long), so the owner still signs in."""
    user = make_user("prescriber", username="pat")
    device, codes = _enrol(Client(), "pat")
    clock.shift(timedelta(seconds=31))
    for i in range(12):  # a patient prober from several addresses, each try after django-otp's delay would pass
        clock.shift(timedelta(seconds=2 ** i + 1))
        wrong = "123456" if _code(device) != "123456" else "654321"
        Client(REMOTE_ADDR=f"203.0.113.{i // 6 + 1}").post(reverse("accounts:unlock"),
                                                           {"username": "pat", "code": wrong})
    for i in range(6):
        clock.shift(timedelta(seconds=2 ** i + 1))
        Client(REMOTE_ADDR="203.0.113.9").post(reverse("accounts:unlock"),
                                              {"username": "pat", "code": f"aaaa-bbbb-cccc-dd{i + 2}{i + 2}"})
    assert AuditEntry.objects.filter(action="auth.second_factor.refused", details__unlock=True).count() == 18
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert StaticDevice.objects.get(user=user).throttling_failure_count == 0
    pat = Client()
    assert _password(pat, "pat")["Location"] == reverse("accounts:second_factor")
    assert pat.post(reverse("accounts:second_factor"), {"code": _code(device)}).status_code == 302 and _signed_in(pat)
    clock.shift(timedelta(seconds=31))
    pat = Client()
    _password(pat, "pat")
    pat.post(reverse("accounts:second_factor"), {"code": codes[0]})  # and the recovery codes still work
    assert _signed_in(pat) and secondfactor.recovery_codes_left(user) == 9


def test_the_unlock_page_is_rate_limited_per_source_address(make_user, clock, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    make_user("prescriber", username="pat")
    device, _ = _enrol(Client(), "pat")
    clock.shift(timedelta(seconds=31))
    for i in range(5):
        _password(Client(REMOTE_ADDR=f"192.0.2.{i + 1}"), "pat", "guess")
    prober = Client(REMOTE_ADDR="203.0.113.50")
    for code in ("111111", "222222", "333333"):
        assert prober.post(reverse("accounts:unlock"), {"username": "pat", "code": code}).status_code == 302
    # The fourth try from that address is not checked, even with the right code, and says to wait.
    response = prober.post(reverse("accounts:unlock"), {"username": "pat", "code": _code(device)})
    assert response.status_code == 200 and "Try again in 30 seconds" in response.content.decode()
    assert not AuditEntry.objects.filter(action="auth.sign_in.unlocked").exists()
    assert AuditEntry.objects.get(action="auth.sign_in.locked", details__unlock=True).details["wait_seconds"] == 30
    assert "Try again in" in _password(Client(REMOTE_ADDR="192.0.2.21"), "pat").content.decode()  # still held
    # The owner, elsewhere, lifts it.
    response = Client(REMOTE_ADDR="192.0.2.30").post(reverse("accounts:unlock"),
                                                     {"username": "pat", "code": _code(device)})
    assert response.status_code == 302
    assert AuditEntry.objects.get(action="auth.sign_in.unlocked").details["by"] == "authenticator"


def test_a_clinic_admin_removes_a_lost_authenticator(make_user, client_for, clock):
    user = make_user("prescriber", username="pat")
    _enrol(Client(), "pat")
    response = client_for("clinic_admin").post(reverse("accounts:remove_second_factor"),
                                               {"username": "pat", "confirm": "on"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(action="auth.second_factor.removed").exists()
    clock.shift(timedelta(seconds=31))
    assert _password(Client(), "pat")["Location"] == reverse("accounts:enrol")  # sets up a new one
    response = client_for("clinic_admin").post(reverse("accounts:remove_second_factor"),
                                               {"username": "nobody", "confirm": "on"})
    assert response.status_code == 400 and "No staff account" in response.content.decode()


def test_portal_patients_are_not_asked_for_a_staff_authenticator(settings, db):
    from ketaclinic.accounts.models import User
    from ketaclinic.portal.models import PatientAccount

    settings.KETACLINIC_REQUIRE_2FA_FOR_ALL = True
    user = User(username="pat@example.invalid")
    assert secondfactor.is_staff_account(user)
    user.patient_account = PatientAccount()
    assert not secondfactor.required_for(user)


def test_the_django_admin_does_not_show_authenticator_secrets():
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice) and not admin.site.is_registered(StaticDevice)


def test_a_right_code_typed_while_the_device_waits_is_told_to_wait_not_that_it_is_wrong(make_user, clock):
    """django-otp refuses every code for 1, 2, 4... seconds after wrong ones in a row; during that wait the person is
    told how long to wait (a right code refused as "wrong" would send them to check the app, or to a colleague)."""
    make_user("prescriber", username="pat")
    device, _codes = _enrol(Client(), "pat")
    clock.shift(timedelta(seconds=31))
    c = Client()
    _password(c, "pat")
    wrong = "123456" if _code(device) != "123456" else "654321"
    for _ in range(2):  # two wrong codes, each after the wait the one before set: the next try waits 2 s
        c.post(reverse("accounts:second_factor"), {"code": wrong})
        clock.shift(timedelta(seconds=1.5))
    response = c.post(reverse("accounts:second_factor"), {"code": _code(device)})
    page = response.content.decode()
    assert re.search(r"wait [12] seconds?, then type", page) and "not right" not in page and not _signed_in(c)
    clock.shift(timedelta(seconds=3))
    response = c.post(reverse("accounts:second_factor"), {"code": _code(device)})
    assert response.status_code == 302 and _signed_in(c)


def test_the_first_code_of_a_new_authenticator_typed_too_soon_after_a_typo_is_told_to_wait(make_user, clock):
    make_user("prescriber", username="pat")
    c = Client()
    _password(c, "pat")
    c.get(reverse("accounts:enrol"))
    device = TOTPDevice.objects.get(user__username="pat", confirmed=False)
    c.post(reverse("accounts:enrol"), {"code": "123456" if _code(device) != "123456" else "654321"})
    response = c.post(reverse("accounts:enrol"), {"code": _code(device)})
    assert re.search(r"wait 1 second,", response.content.decode()) and not _signed_in(c)
    clock.shift(timedelta(seconds=2))
    response = c.post(reverse("accounts:enrol"), {"code": _code(device)})
    assert "Your recovery codes" in response.content.decode() and _signed_in(c)
