"""Every URL of the project requested as every identity (the seven roles, a signed-out visitor, a signed-in user
with no role, a portal patient) against the one access table (tests/foundation/access_table.py), which is written
independently of ketaclinic/access.py. Refused: 403 (a signed-out visitor: the sign-in page, or 401 on the API).
Allowed: anything but a refusal (a real object of the test clinic answers its page; a missing one 404). Public pages
are asserted open to everyone, a signed-out visitor included."""

from __future__ import annotations

import pytest

from ketaclinic.access import can_open, named_routes, rule_for, url_names
from tests.foundation.access_table import ALLOWED, METHOD, PUBLIC
from tests.foundation.clinic_world import IDENTITIES, url_of

ROUTES = dict(named_routes())
# admin:* (Django's admin, regex routes) is requested at its index; each of its names falls under that one rule.
TABLE_URLS = {name: ("admin/" if name == "admin:*" else ROUTES.get(name)) for name in ALLOWED if name != "api-1.0.0:*"}


def test_the_table_lists_every_url_of_the_project_and_nothing_else():
    names = {n for n in url_names() if not n.startswith("admin:")}
    assert sorted(names - set(ALLOWED)) == [], "URL names missing from tests/foundation/access_table.py"
    stale = {n for n in ALLOWED if not n.endswith(":*")} - names
    assert sorted(stale) == [], "rows of the access table name no URL"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_policy_agrees_with_the_table(name, clinic_world):
    users = {**clinic_world.users, "signed_out": None}
    disagree = {who for who in IDENTITIES if can_open(users[who], name) != (who in ALLOWED[name])}
    assert disagree == set(), f"ketaclinic/access.py and the access table disagree on {name} for {sorted(disagree)}"


def test_every_admin_page_falls_under_the_admin_rule():
    assert {rule_for(n) for n in url_names() if n.startswith("admin:")} == {rule_for("admin:*")}


def _refused(response, who: str, url: str) -> bool:
    if who == "signed_out":
        if url.startswith("/api/"):
            return response.status_code == 401
        return response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    return response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TABLE_URLS))
def test_every_identity_gets_what_the_table_says(name, clinic_world):
    url = url_of(name, TABLE_URLS[name], clinic_world)
    wrong = []
    checked_post_only = False
    for who in IDENTITIES:
        client = clinic_world.client(who)
        if name == "accounts:logout" and who != "signed_out":  # a fresh sign-in: signing out must not end a shared one
            from django.test import Client

            client = Client()
            client.force_login(clinic_world.users[who])
        response = client.post(url, {}) if METHOD[name] == "POST" else client.get(url)
        allowed = who in ALLOWED[name]
        if response.status_code >= 500 or _refused(response, who, url) == allowed:
            wrong.append(f"{who}: {response.status_code} {response.get('Location', '')}")
        if allowed and METHOD[name] == "POST" and not checked_post_only and name != "accounts:logout":
            assert client.get(url).status_code == 405, f"{name} is marked POST-only but answers GET"
            checked_post_only = True
    assert wrong == [], f"{name} ({url}) expected open to {sorted(ALLOWED[name])}: {wrong}"


def test_public_pages_are_public():
    """Public rows are asserted, not skipped: the sign-in page, the health check, the crisis page and a portal
    invitation link open to a visitor who is not signed in."""
    assert PUBLIC == {"accounts:login", "health", "portal:crisis", "portal:accept"}
