"""Browser tests: real Chromium (Debian's /usr/bin/chromium) driven by Playwright against live_server.

Locally, without Chromium, these tests skip with a visible reason. In CI (CI=true) a missing Chromium
is a failure, not a skip."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

from tests.e2e.devices import sign_in_on

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

# CI runs the browser tests beside the rest of the suite on 2 cores: a page that answers in 1 s alone can take
# several under that load. Wait up to 15 s for what a step expects to see (a real failure still fails, later).
expect.set_options(timeout=15_000)

WANTED = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM = WANTED if os.path.exists(WANTED) else (shutil.which("chromium") if "CHROMIUM_PATH" not in os.environ else None)
PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    e2e_items = [i for i in items if str(i.fspath).startswith(here)]
    for item in e2e_items:
        item.add_marker(pytest.mark.e2e)
    if e2e_items and CHROMIUM is None:
        if os.environ.get("CI"):
            raise pytest.UsageError(f"CI needs Chromium at {WANTED} for the browser tests (apt-get install -y chromium).")
        skip = pytest.mark.skip(reason=f"Chromium not found at {WANTED}: browser tests skipped (apt-get install -y chromium)")
        for item in e2e_items:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _browser_journeys_sign_in_without_a_second_factor(settings):
    """The journeys here are about the clinic's work, not the sign-in: the staff second factor (required for
    prescribers by default) is covered by tests/foundation/test_second_factor.py."""
    settings.KETACLINIC_2FA_REQUIRED_ROLES = ()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(autouse=True)
def _plain_static(settings):
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def console_errors(page):
    """Collects browser console errors and CSP violations; assert it is empty at the end of a flow."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def login(page, live_server):
    def sign_in(username: str, password: str = PASSWORD):
        # leave the page first: a page left open (the cockpit polls) may itself be sent to the sign-in page by an
        # idle sign-out at this moment, and that navigation would abort this one (net::ERR_ABORTED)
        page.goto("about:blank")
        sign_in_on(page, live_server.url, username, password)

    return sign_in


@pytest.fixture
def logout(page):
    def sign_out():
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_load_state("networkidle")

    return sign_out
