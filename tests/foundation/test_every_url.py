"""Every URL of the project requested as every identity (the seven roles, a signed-out visitor, a signed-in user
with no role, a portal patient) against the one access table (tests/foundation/access_table.py), which is written
independently of ketaclinic/access.py. Refused: 403 (a signed-out visitor: the sign-in page, or 401 on the API).
Allowed: anything but a refusal (a real object of the test clinic answers its page; a missing one 404). Public pages
are asserted open to everyone, a signed-out visitor included."""

from __future__ import annotations

from datetime import date

import pytest

from ketaclinic.access import can_open, named_routes, rule_for, url_names
from tests.foundation.access_table import ALLOWED, CLIENT_ONLY, METHOD, PUBLIC
from tests.foundation.clinic_world import IDENTITIES, url_of

pytestmark = pytest.mark.django_db

ROUTES = dict(named_routes())
# admin:* (Django's admin, regex routes) is requested at its index; each of its names falls under that one rule.
# The FHIR API's resource routes are regular expressions: each is requested at an example path.
FHIR_EXAMPLES = {"fhir:read": "fhir/R4/Patient/x", "fhir:search": "fhir/R4/Patient",
                 "fhir:history": "fhir/R4/Patient/x/_history", "fhir:everything": "fhir/R4/Patient/x/$everything"}
TABLE_URLS = {name: ("admin/" if name == "admin:*" else FHIR_EXAMPLES.get(name) or ROUTES.get(name))
              for name in ALLOWED if name != "api-1.0.0:*"}


def test_the_table_lists_every_url_of_the_project_and_nothing_else():
    names = {n for n in url_names() if not n.startswith("admin:")}
    assert sorted(names - set(ALLOWED)) == [], "URL names missing from tests/foundation/access_table.py"
    stale = {n for n in ALLOWED if not n.endswith(":*")} - names
    assert sorted(stale) == [], "rows of the access table name no URL"


def test_policy_agrees_with_the_table(clinic_world):
    users = {**clinic_world.users, "signed_out": None}
    disagree = [f"{name}: {who} is {'let in' if can_open(users[who], name) else 'refused'} by the policy"
                for name in sorted(ALLOWED) for who in IDENTITIES
                if can_open(users[who], name) != (who in ALLOWED[name])]
    assert disagree == [], "ketaclinic/access.py and the access table disagree:\n" + "\n".join(disagree)


def test_every_admin_page_falls_under_the_admin_rule():
    assert {rule_for(n) for n in url_names() if n.startswith("admin:")} == {rule_for("admin:*")}


def _refused(response, who: str, url: str, name: str = "") -> bool:
    if name in CLIENT_ONLY:  # the FHIR API: no session identity gets in, and the answer says why in FHIR
        return response.status_code == 401 and response["Content-Type"].startswith("application/fhir+json")
    if who == "signed_out":
        if url.startswith(("/api/", "/fhir/")):
            return response.status_code == 401
        return response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    return response.status_code == 403


#: How many pages the table opens to each identity: a POST-only URL is POSTed by the allowed identity let into the
#: fewest pages (the one a view's own narrower check would most likely refuse).
_REACH = {who: sum(who in allowed for allowed in ALLOWED.values()) for who in IDENTITIES}


def _poster(name: str) -> str | None:
    return min((who for who in IDENTITIES if who in ALLOWED[name]), key=lambda who: (_REACH[who], who),
               default=None)  # None: nobody with a session (the FHIR API's POST)


@pytest.mark.parametrize("name", sorted(TABLE_URLS))
def test_every_identity_gets_what_the_table_says(name, clinic_world):
    """A GET page is requested by all ten identities. A POST-only URL is POSTed (empty form) by every identity the
    table refuses, and by one it lets in; every identity it lets in also GETs it and must get past the policy to
    the view, which answers 405 (a refused one would get 403 or the sign-in page first)."""
    from django.test import Client

    url = url_of(name, TABLE_URLS[name], clinic_world)
    post_only = METHOD[name] == "POST"
    poster = _poster(name) if post_only else None
    wrong = []
    for who in IDENTITIES:
        allowed = who in ALLOWED[name]
        client = clinic_world.client(who)
        if not post_only:
            requests = [("GET", client.get)]
        elif not allowed:
            requests = [("POST", lambda u, c=client: c.post(u, {}))]
        else:
            requests = [("GET", client.get)]
            if who == poster:
                if name == "accounts:logout":  # a fresh sign-in: signing out must not end the shared one
                    client = Client()
                    client.force_login(clinic_world.users[who])
                requests.append(("POST", lambda u, c=client: c.post(u, {})))
        for method, send in requests:
            response = send(url)
            status = f"{who} {method}: {response.status_code} {response.get('Location', '')}".strip()
            if response.status_code >= 500 or _refused(response, who, url, name) == allowed:
                wrong.append(status)
            elif allowed and post_only and method == "GET" and response.status_code != 405:
                wrong.append(f"{status} (marked POST-only in the table, but answers GET)")
    assert wrong == [], f"{name} ({url}) expected open to {sorted(ALLOWED[name])}; wrong answers: {wrong}"


#: The pages a visitor who is not signed in may open, written out here (not read from the policy or the table).
PUBLIC_PAGES = {"accounts:login", "health", "portal:crisis", "portal:accept", "accounts:second_factor",
                "accounts:enrol", "accounts:unlock", "accounts:password_reset", "accounts:password_reset_confirm",
                "fhir:smart_configuration", "fhir:token", "accounts:passkey_sign_in_options",
                "accounts:passkey_sign_in", "reminders:sms_inbound"}
#: What each public page shows a visitor, so a page that answers 200 with something else is caught.
PUBLIC_PAGE_SHOWS = {"accounts:login": "password", "health": '"ok"', "portal:crisis": "988",
                     "accounts:second_factor": "Sign in again", "accounts:enrol": "Sign in again",
                     "accounts:unlock": "authenticator", "accounts:password_reset": "email",
                     "accounts:password_reset_confirm": "expired",
                     "portal:accept": "password", "fhir:smart_configuration": "token_endpoint",
                     "fhir:token": "invalid_request", "accounts:passkey_sign_in_options": "password first",
                     "accounts:passkey_sign_in": "Sign in again", "reminders:sms_inbound": "Signature"}
#: Public endpoints that take only a POST: posted empty, they answer 400 with their reason (not a refusal).
PUBLIC_POSTED = {"fhir:token", "accounts:passkey_sign_in_options", "accounts:passkey_sign_in"}
PUBLIC_POSTED |= {"reminders:sms_inbound"}  # answers 400 when posted without its signature


def test_public_pages_are_public(clinic_world):
    """The policy and the table open exactly the public pages to a signed-out visitor, and a visitor who is not
    signed in really is served each one (not sent to the sign-in page, not refused): the sign-in page, the health
    check, the crisis page and a fresh portal invitation link."""
    from django.test import Client

    from ketaclinic.clinic.models import Clinic
    from ketaclinic.patients.services import register_patient
    from ketaclinic.portal import services as portal
    from tests.factories import actor

    assert {n for n in url_names() if can_open(None, n)} == PUBLIC_PAGES
    assert PUBLIC == PUBLIC_PAGES
    # The world's own invitation has been used (its link now answers 410): invite a second patient.
    front_desk = actor(clinic_world.users["front_desk"])
    invitee = register_patient(actor=front_desk, clinic=Clinic.objects.get(), confirm_duplicate=True, data={
        "legal_given_name": "Jordan", "legal_family_name": "Invitee", "date_of_birth": date(1990, 2, 3),
        "sex_at_birth": "male", "email": "jordan@example.invalid"})
    _invitation, token = portal.invite(actor=front_desk, patient=invitee)
    visitor = Client()
    wrong = []
    for name in sorted(PUBLIC_PAGES):
        url = "/" + ROUTES[name].replace("<str:token>", token)
        response = visitor.post(url, {}) if name in PUBLIC_POSTED else visitor.get(url)
        expected = 400 if name in PUBLIC_POSTED else 200
        if response.status_code != expected or PUBLIC_PAGE_SHOWS[name] not in response.content.decode():
            wrong.append(f"{name} ({url}): {response.status_code} {response.get('Location', '')}".strip())
    assert wrong == [], f"public pages not served to a signed-out visitor: {wrong}"
