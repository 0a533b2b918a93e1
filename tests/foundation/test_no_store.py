"""Nothing a signed-in person is shown stays in a cache: every page, PDF, CSV and API answer to a signed-in person
(staff or a portal patient) says ``Cache-Control: no-store`` and ``Pragma: no-cache``; static files stay cacheable.

These tests run under the real settings: the middleware (ketaclinic/nocache.py) is in force only because
settings.MIDDLEWARE lists it, right after Django's AuthenticationMiddleware (which gives it ``request.user``); take
that line out and every test here but the last two fails."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from ketaclinic.access import named_routes
from tests.foundation.access_table import ALLOWED, METHOD
from tests.foundation.clinic_world import IDENTITIES, url_of

pytestmark = pytest.mark.django_db

NO_STORE = "ketaclinic.nocache.NoStoreForSignedInMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def signed_in_as(world, who: str) -> Client:
    """A new client on ``who``'s signed-in session."""
    client = Client()
    client.cookies = world.client(who).cookies
    return client


def test_the_settings_put_the_middleware_right_after_authentication():
    middleware = list(settings.MIDDLEWARE)
    assert NO_STORE in middleware, "settings.MIDDLEWARE does not list the no-store middleware"
    assert middleware.index(NO_STORE) == middleware.index(AUTH) + 1


def not_stored(response) -> bool:
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "no-cache", "private"} <= cache_control and response.get("Pragma") == "no-cache"


ROUTES = dict(named_routes())
SIGNED_IN = [who for who in IDENTITIES if who not in ("signed_out",)]
GET_PAGES = sorted(name for name in ALLOWED if METHOD[name] == "GET" and not name.endswith(":*")
                   and any(who in ALLOWED[name] for who in SIGNED_IN))


def test_every_page_a_signed_in_person_opens_is_not_stored(clinic_world):
    stored = []
    for name in GET_PAGES:
        who = next(who for who in SIGNED_IN if who in ALLOWED[name])
        url = url_of(name, ROUTES[name], clinic_world)
        response = signed_in_as(clinic_world, who).get(url)
        if not not_stored(response):
            stored.append(f"{name} ({url}) as {who}: {response.status_code} {response.get('Cache-Control')!r}")
    assert stored == [], "answers a browser or proxy may keep:\n" + "\n".join(stored)
    assert len(GET_PAGES) > 40


@pytest.mark.parametrize("path", ["/custody/records/dispensing/?format=pdf", "/custody/records/dispensing/?format=csv",
                                  "/custody/reconciliation/?format=csv"])
def test_records_downloaded_as_pdf_or_csv_are_not_stored(clinic_world, path):
    response = signed_in_as(clinic_world, "compliance").get(path)
    assert response.status_code == 200 and response["Content-Type"].split(";")[0] in ("application/pdf", "text/csv")
    assert not_stored(response)


def test_the_apis_json_is_not_stored(clinic_world):
    patient = clinic_world.ids["patient"]
    client = signed_in_as(clinic_world, "nurse")
    for path in (f"/api/v1/patients?q={patient.legal_family_name}", f"/api/v1/patients/{patient.external_id}"):
        response = client.get(path)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
        assert not_stored(response)


def test_a_refusal_to_a_signed_in_person_is_not_stored_either(clinic_world):
    response = signed_in_as(clinic_world, "billing").get(url_of("custody:ledger", ROUTES["custody:ledger"],
                                                                clinic_world))
    assert response.status_code == 403 and not_stored(response)


def test_static_files_stay_cacheable(clinic_world):
    response = signed_in_as(clinic_world, "nurse").get("/" + settings.STATIC_URL.strip("/") + "/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "") and "Pragma" not in response


def test_a_signed_out_visitors_sign_in_page_is_left_as_it_was(clinic_world):
    response = Client().get("/accounts/login/")
    assert response.status_code == 200 and "no-store" not in response.get("Cache-Control", "")
