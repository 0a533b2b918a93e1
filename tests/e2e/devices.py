"""A second person at their own device: a fresh browser context (its own cookies) signed in as ``username``,
as a verifier, a witness or the prescriber does on their own screen."""

from __future__ import annotations

PASSWORD = "correct horse battery"


def signed_in_elsewhere(browser, live_server, username: str):
    """A new browser context signed in as ``username``; returns (context, page). Close the context when done."""
    context = browser.new_context()
    page = context.new_page()
    sign_in_on(page, live_server.url, username)
    return context, page


def sign_in_on(page, base_url: str, username: str, password: str = PASSWORD, *, tap: bool = False) -> None:
    """Fill the sign-in form and wait for the page the form's POST leads to. Waiting only for "networkidle" after
    the click can return while the POST has not yet started (the sign-in page itself is idle), so the next goto
    would race the session cookie and land back on the sign-in page."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    button = page.get_by_role("button", name="Sign in")
    with page.expect_navigation():
        button.tap() if tap else button.click()
    page.wait_for_load_state("networkidle")
