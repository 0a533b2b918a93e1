"""Password reset by email and password change: the same answer whether or not an address has an account, a link
that works once and for 30 minutes, requests rate limited, the old password on change counted by the sign-in
throttle, every step audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.models import User
from ketaclinic.audit.models import AuditEntry
from tests.passwords import can_sign_in, change_password

RIGHT = "correct horse battery"
NEW = "a brand new passphrase 2026"


def _ask(client: Client, email: str):
    return client.post(reverse("accounts:password_reset"), {"email": email})


def _link() -> str:
    return re.search(r"http://testserver(/accounts/password/reset/[^\s]+/)", mail.outbox[-1].body).group(1)


def test_the_same_answer_whether_or_not_the_address_has_an_account(make_user):
    make_user("nurse", username="nina", email="nina@example.invalid")
    known = _ask(Client(), "nina@example.invalid")
    unknown = _ask(Client(REMOTE_ADDR="192.0.2.3"), "nobody@example.invalid")
    assert known.status_code == unknown.status_code == 200

    def text(r):  # the page's content, without the per-response CSRF token and CSP nonce
        body = r.content.decode()
        return re.sub(r"\s+", " ", body[body.index("<main"):body.index("</main>")])

    assert text(known) == text(unknown)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nina@example.invalid"]
    requested = AuditEntry.objects.filter(action="auth.password_reset.requested").order_by("seq")
    assert [e.details["accounts"] for e in requested] == [1, 0]


class _NotesTheOpenTransactions(locmem.EmailBackend):
    """The test mail backend, noting how many transactions were open when each batch was sent."""

    open_then: list[int] = []

    def send_messages(self, messages):
        self.open_then.append(len(connection.atomic_blocks))
        return super().send_messages(messages)


def test_the_reset_email_is_sent_after_the_request_is_committed(make_user, settings):
    """Not from inside the request's transaction: a slow mail server would hold SQLite's write lock."""
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}._NotesTheOpenTransactions"}}
    _NotesTheOpenTransactions.open_then = []
    make_user("nurse", username="nina", email="nina@example.invalid")
    outside = len(connection.atomic_blocks)  # the test's own (rolled back at its end)
    _ask(Client(), "nina@example.invalid")
    assert _NotesTheOpenTransactions.open_then == [outside]
    assert len(mail.outbox) == 1 and "/accounts/password/reset/" in mail.outbox[0].body
    assert AuditEntry.objects.get(action="auth.password_reset.requested").details["accounts"] == 1


def test_a_reset_link_sets_a_new_password_once(make_user):
    make_user("nurse", username="nina", email="nina@example.invalid")
    _ask(Client(), "nina@example.invalid")
    link = _link()
    c = Client()
    page = c.get(link)
    assert page.status_code == 200
    assert {"no-store", "no-cache", "private"} <= {p.strip() for p in page["Cache-Control"].split(",")}
    response = c.post(link, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert can_sign_in("nina", NEW) and not can_sign_in("nina", RIGHT)
    assert AuditEntry.objects.filter(action="auth.password_reset.done").count() == 1
    # The same link again: refused, nothing changes.
    response = Client().post(link, {"new_password1": "another passphrase 99", "new_password2": "another passphrase 99"})
    assert "expired or has already been used" in response.content.decode()
    assert can_sign_in("nina", NEW)
    assert AuditEntry.objects.filter(action="auth.password_reset.refused").exists()


def test_a_reset_link_expires_after_thirty_minutes(make_user, clock, settings):
    assert settings.PASSWORD_RESET_TIMEOUT == 30 * 60
    make_user("nurse", username="nina", email="nina@example.invalid")
    _ask(Client(), "nina@example.invalid")
    assert "30 minutes" in mail.outbox[0].body
    clock.shift(timedelta(minutes=31))
    response = Client().post(_link(), {"new_password1": NEW, "new_password2": NEW})
    assert "expired" in response.content.decode()
    assert can_sign_in("nina", RIGHT)


@pytest.mark.parametrize("asked,minutes_later,works", [
    # 01:30 MDT, half an hour before the clocks go back to 01:00 MST: 31 minutes on, the wall clock reads 01:01
    (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), 31, False),
    # 01:45 MST, a quarter of an hour before the clocks jump to 03:00 MDT: 20 minutes on, the wall clock reads 03:05
    (datetime(2026, 3, 8, 8, 45, tzinfo=UTC), 20, True),
])
def test_a_reset_link_lives_thirty_minutes_across_a_change_of_the_clocks(make_user, clock, settings, asked,
                                                                          minutes_later, works):
    later = asked + timedelta(minutes=minutes_later)
    zone = ZoneInfo(settings.TIME_ZONE)
    assert asked.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset()  # the clocks change between
    make_user("nurse", username="nina", email="nina@example.invalid")
    clock.move_to(asked.astimezone(zone))  # the server's own zone, as Django sets it for the process (TZ)
    _ask(Client(), "nina@example.invalid")
    clock.move_to(later.astimezone(zone))
    response = Client().post(_link(), {"new_password1": NEW, "new_password2": NEW})
    assert ("expired" in response.content.decode()) is not works
    assert can_sign_in("nina", NEW if works else RIGHT)


def test_a_weak_or_mismatched_new_password_is_refused_and_the_link_still_works(make_user):
    make_user("nurse", username="nina", email="nina@example.invalid")
    _ask(Client(), "nina@example.invalid")
    link = _link()
    c = Client()
    assert "too short" in c.post(link, {"new_password1": "short", "new_password2": "short"}).content.decode()
    assert "do not match" in c.post(link, {"new_password1": NEW, "new_password2": NEW + "x"}).content.decode()
    assert User.objects.get(username="nina").check_password(RIGHT)  # (signing in would end the link: last_login)
    assert c.post(link, {"new_password1": NEW, "new_password2": NEW}).status_code == 302


def test_reset_requests_are_rate_limited_per_address_typed(make_user, settings):
    settings.PASSWORD_RESET_PER_HOUR = 3
    make_user("nurse", username="nina", email="nina@example.invalid")
    for i in range(5):
        _ask(Client(REMOTE_ADDR=f"192.0.2.{i + 1}"), "nina@example.invalid")
    assert len(mail.outbox) == 3
    assert AuditEntry.objects.filter(action="auth.password_reset.refused").count() == 2


def test_reset_requests_are_capped_per_hour_not_merely_delayed(make_user, settings, clock):
    """PASSWORD_RESET_PER_HOUR is a cap: after the third request (of 3), none more for an hour, however patiently
    spaced (a doubling delay let one through after 30 s, 1, 2, 4, 8, 15 minutes...: about ten an hour)."""
    settings.PASSWORD_RESET_PER_HOUR = 3
    make_user("nurse", username="nina", email="nina@example.invalid")
    start = clock.now()
    for n, minute in enumerate([0, 1, 2, *range(5, 62, 5)]):
        clock.move_to(start + timedelta(minutes=minute))
        _ask(Client(REMOTE_ADDR=f"192.0.2.{n + 1}"), "nina@example.invalid")
    assert len(mail.outbox) == 3
    assert AuditEntry.objects.filter(action="auth.password_reset.refused").count() == 12
    clock.move_to(start + timedelta(minutes=62, seconds=1))  # an hour after the third
    _ask(Client(REMOTE_ADDR="198.51.100.7"), "nina@example.invalid")
    assert len(mail.outbox) == 4


def test_reset_requests_are_rate_limited_per_source_address(make_user, settings):
    settings.PASSWORD_RESET_PER_HOUR = 3
    make_user("nurse", username="nina", email="nina@example.invalid")
    c = Client(REMOTE_ADDR="198.51.100.1")
    for i in range(3):
        _ask(c, f"someone{i}@example.invalid")
    response = _ask(c, "nina@example.invalid")
    assert "Too many reset requests" in response.content.decode() and mail.outbox == []


def test_a_reset_lifts_the_sign_in_delay_but_not_the_second_factor(make_user):
    make_user("prescriber", username="pat", email="pat@example.invalid")
    for _ in range(5):
        Client().post(reverse("accounts:login"), {"username": "pat", "password": "guess"})
    _ask(Client(), "pat@example.invalid")
    Client().post(_link(), {"new_password1": NEW, "new_password2": NEW})
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": "pat", "password": NEW})
    assert response["Location"] == reverse("accounts:enrol") and "_auth_user_id" not in c.session


def test_a_forged_link_answers_with_a_message_not_an_error(db):
    for link in ("/accounts/password/reset/x/y/", "/accounts/password/reset/MTIz/" + "a" * 500 + "/",
                 "/accounts/password/reset/%00/set-password/"):
        response = Client().get(link)
        assert response.status_code in (200, 404), link
    assert "expired" in Client().get("/accounts/password/reset/x/y/").content.decode()


# ------------------------------------------------------------------------------------------ change
def test_staff_change_their_password_and_other_sessions_end(make_user):
    make_user("billing", username="bo")
    other = Client()
    other.post(reverse("accounts:login"), {"username": "bo", "password": RIGHT})
    c = Client()
    c.post(reverse("accounts:login"), {"username": "bo", "password": RIGHT})
    response = change_password(c, "accounts:password_change", RIGHT, NEW)
    assert response.status_code == 302
    assert c.get(reverse("clinic:today")).status_code == 200  # this session stays
    assert other.get(reverse("clinic:today")).status_code == 302  # the other one is signed out
    assert can_sign_in("bo", NEW)


def test_old_password_guesses_on_change_are_counted_by_the_sign_in_throttle(make_user):
    """A stolen session cannot guess the password faster than the sign-in page allows."""
    make_user("billing", username="bo")
    c = Client()
    c.post(reverse("accounts:login"), {"username": "bo", "password": RIGHT})
    for _ in range(5):
        response = change_password(c, "accounts:password_change", "guess", NEW)
        assert "not your current password" in response.content.decode()
    response = change_password(c, "accounts:password_change", RIGHT, NEW)
    assert "Try again in 30 seconds" in response.content.decode()
    assert not can_sign_in("bo", NEW)
    assert AuditEntry.objects.filter(action="auth.password_change.refused").count() == 6
    # ...and signing in is held the same way.
    assert "Try again in" in Client().post(reverse("accounts:login"),
                                           {"username": "bo", "password": RIGHT}).content.decode()
