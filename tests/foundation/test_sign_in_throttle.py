"""The sign-in throttle: each password check takes a counted slot before the password is compared, at most
LOGIN_FAILURE_LIMIT (5) per username in a burst, per source address too, then a delay that doubles (never a
permanent lock), lifted by a clinic admin or the clinician's own authenticator. The threaded burst against a live
PostgreSQL is tests/foundation/test_sign_in_concurrency.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts import throttle
from ketaclinic.accounts.models import SignInCounter
from ketaclinic.audit.models import AuditEntry

RIGHT = "correct horse battery"


def _try(client: Client, password: str, username: str = "nina"):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_slots_are_counted_before_any_check_so_requests_in_flight_cannot_exceed_the_limit(db):
    """Five checks in flight (counted, none settled yet) leave no slot for a sixth: the count is taken before the
    password is compared, which is what keeps parallel requests to the limit."""
    keys = throttle.sign_in_keys("Nina", "10.0.0.9")
    now = timezone.now()
    taken = []
    for _ in range(7):
        with transaction.atomic():
            taken.append(throttle.take_slot(keys, now))
    assert taken[:5] == [None] * 5
    assert taken[5] == taken[6] == 30  # the 5th slot started a 30 s delay; the 6th and 7th are not counted
    assert SignInCounter.objects.get(kind="username", key="nina").failures == 5
    assert SignInCounter.objects.get(kind="address", key="10.0.0.9").failures == 5


def test_the_right_password_after_five_failures_is_refused_without_being_checked(make_user):
    user = make_user("nurse", username="nina")
    c = Client()
    for _ in range(5):
        assert "do not match" in _try(c, "wrong").content.decode()
    response = _try(c, RIGHT)
    assert "Try again in 30 seconds" in response.content.decode()
    assert not _signed_in(c)
    assert AuditEntry.objects.filter(action="auth.sign_in.failed").count() == 5  # five checks, no sixth
    assert AuditEntry.objects.filter(action="auth.sign_in.locked").count() == 1
    assert not AuditEntry.objects.filter(action="auth.sign_in", actor=user).exists()


def test_the_delay_is_not_a_lock_it_passes_and_doubles(make_user, clock):
    """An attacker guessing a clinician's password makes each next try wait, but cannot keep them out: once the
    delay has passed, the right password signs in."""
    make_user("nurse", username="nina")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        _try(attacker, "wrong")
    clock.shift(timedelta(seconds=31))
    assert "do not match" in _try(attacker, "wrong").content.decode()  # one check after the delay...
    assert "Try again in 60 seconds" in _try(attacker, "wrong").content.decode()  # ...and the next delay doubles
    clock.shift(timedelta(seconds=61))
    nina = Client()
    _try(nina, RIGHT)
    assert _signed_in(nina)
    assert SignInCounter.objects.get(kind="username", key="nina").failures == 0  # a correct password starts again


def test_the_longest_delay_is_the_lockout_setting(settings):
    settings.LOGIN_DELAY_SECONDS, settings.LOGIN_LOCKOUT_MINUTES = 30, 15
    waits = [throttle.delay_after(n, 5).total_seconds() for n in range(4, 12)]
    assert waits == [0, 30, 60, 120, 240, 480, 900, 900]


def test_one_address_guessing_many_usernames_is_counted_too(make_user, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    make_user("nurse", username="nina")
    make_user("prescriber", username="pat")
    spray = Client(REMOTE_ADDR="198.51.100.4")
    for name in ("ana", "bo", "cy"):
        _try(spray, "wrong", username=name)
    assert "Try again in" in _try(spray, RIGHT, username="nina").content.decode()  # refused from that address
    elsewhere = Client(REMOTE_ADDR="192.0.2.10")
    _try(elsewhere, RIGHT, username="nina")
    assert _signed_in(elsewhere)  # the username itself is not held


def test_staff_signing_in_from_the_clinics_shared_address_do_not_use_up_its_failures(make_user, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    make_user.many((("nurse",), "nina", {}), (("nurse",), "ned", {}), (("front_desk",), "fay", {}),
                   (("billing",), "bo", {}))
    for name in ("nina", "ned", "fay", "bo"):
        c = Client(REMOTE_ADDR="192.0.2.50")
        _try(c, RIGHT, username=name)
        assert _signed_in(c), name
    assert SignInCounter.objects.get(kind="address", key="192.0.2.50").failures == 0


def test_a_clinic_admin_lifts_the_delay_and_it_is_audited(make_user, client_for):
    make_user("nurse", username="nina")
    c = Client()
    for _ in range(5):
        _try(c, "wrong")
    page = client_for("clinic_admin").get(reverse("accounts:sign_in_security")).content.decode()
    assert "nina" in page and "127.0.0.1" in page
    response = client_for("clinic_admin").post(reverse("accounts:lift_delay"), {"kind": "username", "key": "nina"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="auth.sign_in.unlocked")
    assert entry.details["key"] == "nina" and entry.details["lifted"] is True
    # The address is still counted (5 of its 20); the username starts again.
    _try(c, RIGHT)
    assert _signed_in(c)


def test_lifting_needs_a_clinic_admin(make_user, client_for):
    for role in ("prescriber", "nurse", "compliance"):
        assert client_for(role).post(reverse("accounts:lift_delay"), {"kind": "username", "key": "x"}).status_code == 403


@pytest.mark.parametrize("kind,key", [("user", "nina"), ("username", ""), ("username", "x" * 300)])
def test_a_bad_lift_request_changes_nothing(client_for, kind, key):
    response = client_for("clinic_admin").post(reverse("accounts:lift_delay"), {"kind": kind, "key": key})
    assert response.status_code == 400
    assert not AuditEntry.objects.filter(action="auth.sign_in.unlocked").exists()


def test_failures_are_forgotten_an_hour_after_the_last(make_user, clock):
    make_user("nurse", username="nina")
    c = Client()
    for _ in range(4):
        _try(c, "wrong")
    clock.shift(timedelta(minutes=61))
    for _ in range(4):  # four more: without forgetting, the fifth of these would start a delay
        _try(c, "wrong")
    _try(c, RIGHT)
    assert _signed_in(c)
