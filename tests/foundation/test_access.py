"""The access policy itself: deny by default, no stale names, the API's own checks, the can_open filter. Who may
open which page is one table, checked in tests/foundation/test_every_url.py."""

from __future__ import annotations

from django.test import Client

from ketaclinic.access import POLICY, rule_for, url_names


def test_every_url_has_a_policy():
    """Deny by default is enforced by the middleware; this makes sure nothing is left refused by accident."""
    missing = [n for n in url_names() if rule_for(n) is None]
    assert missing == []


def test_policy_names_point_at_real_urls():
    names = set(url_names())
    stale = [n for n in POLICY if not n.endswith(":*") and n not in names]
    assert stale == []


def test_unlisted_view_is_refused(client_for, settings):
    """A view with no policy entry answers 403 even to a clinic admin."""
    from django.urls import path

    from ketaclinic import urls as project_urls

    def secret(request):
        from django.http import HttpResponse

        return HttpResponse("should not be reachable")

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [path("secret/", secret, name="secret"),
                                                           *project_urls.urlpatterns]})
    response = client_for("clinic_admin").get("/secret/")
    assert response.status_code == 403


def test_api_refuses_signed_out_and_checks_roles(client_for, patient):
    assert Client().get("/api/v1/patients?q=Samp").status_code == 401
    response = client_for("billing").get(f"/api/v1/patients?q={patient.legal_family_name}")
    assert response.status_code == 200
    assert response.json()[0]["mrn"] == patient.mrn


def test_api_docs_are_served_without_a_cdn(client_for):
    response = client_for("prescriber").get("/api/v1/docs")
    assert response.status_code == 200
    body = response.content.decode()
    assert "cdn." not in body and "unpkg" not in body


def test_can_open_filter_follows_the_policy(staff):
    from ketaclinic.accounts.templatetags.access import can_open

    assert can_open(staff["compliance"], "audit:search") is True
    assert can_open(staff["nurse"], "audit:search") is False
    assert can_open(staff["nurse"], "accounts:logout") is True
    assert can_open(staff["nurse"], "no:such-page") is False
