"""Deny by default, checked over every URL the project has (including ones added later): a signed-out
visitor never reaches a non-public page, and a signed-in user without any role never reaches a staff page."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from ketaclinic.access import named_routes, rule_for

DUMMY = {"uuid": str(uuid.UUID(int=1)), "int": "1", "slug": "x", "str": "x", "path": "x"}


def _concrete(route: str) -> str | None:
    import re

    if route.startswith("^") or "(?P" in route:  # regex routes (admin): skip, covered by the admin test
        return None
    out = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: DUMMY.get(m.group(1) or "str", "x"), route)
    return "/" + out


ROUTES = sorted({(name, url) for name, route in named_routes() if (url := _concrete(route))})


@pytest.mark.parametrize("name,url", ROUTES)
def test_signed_out_visitor_is_refused_everywhere_but_public_pages(name, url, db):
    rule = rule_for(name)
    assert rule is not None, f"{name} has no access policy"
    response = Client().get(url)
    if rule.public:
        return
    if url.startswith(("/api/", "/fhir/")):
        assert response.status_code == 401, name
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name


@pytest.mark.parametrize("name,url", ROUTES)
def test_user_without_a_role_is_refused_every_staff_page(name, url, make_user):
    rule = rule_for(name)
    if rule.public or rule.any_signed_in:
        return
    c = Client()
    c.force_login(make_user())  # signed in, but holds no role and is not a patient
    for method in (c.get, c.post):
        response = method(url)
        assert response.status_code == 403, f"{name} answered {response.status_code} to a user with no role"
