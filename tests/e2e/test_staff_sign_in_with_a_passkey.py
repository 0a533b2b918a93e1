"""A nurse adds a passkey (Chromium's virtual authenticator stands in for the laptop's fingerprint reader), then
signs in with password and passkey, without a code; the passkey can be removed again."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ketaclinic.accounts.models import Passkey
from ketaclinic.audit.models import AuditEntry
from tests.e2e.conftest import PASSWORD


def password(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_nurse_adds_a_passkey_and_signs_in_with_it(page, live_server, login, staff, console_errors):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})

    login("nurse")
    page.goto(f"{live_server.url}/accounts/passkeys/")
    expect(page.get_by_text("You have no passkey yet.")).to_be_visible()
    page.get_by_label("Name of this passkey").fill("Work laptop")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text(re.compile("Passkey “Work laptop” added"))).to_be_visible()
    expect(page.get_by_role("cell", name="Work laptop", exact=True)).to_be_visible()
    key = Passkey.objects.get(user=staff["nurse"])
    page.get_by_role("button", name="Sign out").click()

    password(page, live_server, "nurse")  # the nurse has a passkey now: the password alone is not enough
    expect(page.get_by_role("heading", name="Authenticator code")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
    entry = AuditEntry.objects.filter(action="auth.sign_in", actor=staff["nurse"]).order_by("-seq").first()
    assert entry.details["second_factor"] == "passkey"
    key.refresh_from_db()
    assert key.last_used_at is not None

    page.goto(f"{live_server.url}/accounts/passkeys/")
    page.get_by_role("button", name="Remove Work laptop").click()
    expect(page.get_by_text("You have no passkey yet.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    password(page, live_server, "nurse")  # a nurse's role does not require a second factor
    expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
    assert console_errors == []
