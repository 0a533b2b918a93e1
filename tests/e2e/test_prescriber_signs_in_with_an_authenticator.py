"""A prescriber's first sign-in sets up an authenticator (the second factor their role needs), keeps the recovery
codes, and signs in the next time with the app's code; a wrong code is refused and a used recovery code is gone."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import timedelta

from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD


def app_code(secret: str) -> str:
    """What the authenticator app shows now (time-based, 6 digits, 30 seconds): the test clock's now."""
    return f"{TOTP(b32decode(secret.replace(' ', '').upper())).token():06d}"


def test_a_prescriber_sets_up_an_authenticator_and_signs_in_with_it(page, live_server, staff, settings, clock,
                                                                    console_errors):
    settings.KETACLINIC_2FA_REQUIRED_ROLES = ("prescriber",)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("prescriber")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Set up your authenticator")).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code from the app").fill("000000" if app_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".field-error")).to_be_visible()  # a wrong code sets nothing up
    assert page.locator("code.secret").inner_text() == secret  # the same authenticator: no need to scan again
    clock.shift(timedelta(seconds=2))  # django-otp's wait after a wrong code

    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) >= 5 and len(set(codes)) == len(codes)
    page.get_by_role("link", name=re.compile("I have kept them")).click()
    expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    clock.shift(timedelta(seconds=31))  # the next code of the app: a code is never accepted twice
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("prescriber")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Authenticator code")).to_be_visible()
    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # no phone: a recovery code signs in once, and only once
    for attempt in (1, 2):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("prescriber")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Code").fill(codes[0])
        page.get_by_role("button", name="Sign in").click()
        if attempt == 1:
            expect(page.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
            page.get_by_role("button", name="Sign out").click()
        else:
            expect(page.get_by_role("heading", name="Authenticator code")).to_be_visible()
            expect(page.locator(".field-error")).to_be_visible()
    assert console_errors == []
