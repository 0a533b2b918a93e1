"""Thirty sign-ins for one username at the same moment: at most five passwords are checked, and the right
password after them is refused (issue 17: the old lockout checked 8-20 and let the right one in).

Needs PostgreSQL (real row locks and concurrent connections): run with DB=postgres (.ci/run does, through
scripts/pg-throwaway). On SQLite the test is skipped with a visible reason; the counting itself is tested there in
tests/foundation/test_sign_in_throttle.py."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.models import SignInCounter
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import verify_chain
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

RIGHT = "correct horse battery"
BURST = 30


def _burst(posts: list[tuple[str, str, str]]) -> list[str]:
    """POST each (username, password, address) to the sign-in page from its own thread, all released at once;
    returns each page's text. Fails on any error in a thread."""

    def post(username: str, password: str, address: str):
        return lambda: Client(REMOTE_ADDR=address).post(reverse("accounts:login"),
                                                        {"username": username, "password": password})

    responses = at_once([post(*p) for p in posts])
    errors = [r for r in responses if isinstance(r, Exception)]
    assert not errors, errors
    return [r.content.decode() for r in responses]


def test_thirty_parallel_wrong_passwords_check_at_most_five_and_the_right_one_is_refused_after(make_user):
    make_user("nurse", username="nina")
    pages = _burst([("nina", f"guess-{i}", f"198.51.100.{i + 1}") for i in range(BURST)])
    checked = AuditEntry.objects.filter(action="auth.sign_in.failed").count()
    held = AuditEntry.objects.filter(action="auth.sign_in.locked").count()
    assert checked == 5, f"{checked} passwords checked in a burst of {BURST}"
    assert checked + held == BURST
    assert sum("do not match" in p for p in pages) == checked
    assert sum("Try again in" in p for p in pages) == held
    assert SignInCounter.objects.get(kind="username", key="nina").failures == checked
    c = Client(REMOTE_ADDR="192.0.2.77")
    response = c.post(reverse("accounts:login"), {"username": "nina", "password": RIGHT})
    assert "Try again in" in response.content.decode() and "_auth_user_id" not in c.session
    assert verify_chain() is None


def test_the_right_password_inside_a_burst_after_five_wrong_ones_is_not_let_in(make_user):
    """Five wrong passwords land first; then twenty-five parallel tries, the right one among them: none checked."""
    make_user("nurse", username="nina")
    for i in range(5):
        Client(REMOTE_ADDR=f"203.0.113.{i + 1}").post(reverse("accounts:login"), {"username": "nina", "password": "x"})
    posts = [("nina", RIGHT if i % 5 == 0 else f"guess-{i}", f"198.51.100.{i + 1}") for i in range(25)]
    pages = _burst(posts)
    assert all("Try again in" in p for p in pages), [p[:80] for p in pages if "Try again in" not in p]
    assert not AuditEntry.objects.filter(action="auth.sign_in").exists()
    assert AuditEntry.objects.filter(action="auth.sign_in.failed").count() == 5


def test_thirty_usernames_guessed_in_parallel_from_one_address_check_at_most_the_address_limit(make_user, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 10
    pages = _burst([(f"user{i}", "guess", "203.0.113.200") for i in range(BURST)])
    checked = AuditEntry.objects.filter(action="auth.sign_in.failed").count()
    assert checked == 10
    assert AuditEntry.objects.filter(action="auth.sign_in.locked").count() == BURST - checked
    assert sum("do not match" in p for p in pages) == checked
    assert sum("Try again in" in p for p in pages) == BURST - checked
