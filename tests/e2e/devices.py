"""A second person at their own device: a fresh browser context (its own cookies) signed in as ``username``,
as a verifier, a witness or the prescriber does on their own screen."""

from __future__ import annotations

PASSWORD = "correct horse battery"


def signed_in_elsewhere(browser, live_server, username: str):
    """A new browser context signed in as ``username``; returns (context, page). Close the context when done."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    return context, page
