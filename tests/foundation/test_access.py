"""The role matrix: every foundation page against every role and a signed-out visitor."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.access import POLICY, rule_for, url_names

ALL = {"prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin"}

# The specification, written independently of ketaclinic/access.py: url name -> roles allowed to GET.
EXPECTED_GET = {
    "clinic:today": ALL,
    "clinic:settings": {"clinic_admin"},
    "clinic:limits": {"clinic_admin", "prescriber", "nurse", "compliance"},
    "clinic:rooms": {"clinic_admin", "front_desk", "prescriber", "nurse"},
    "clinic:access_policy": {"clinic_admin", "compliance"},
    "patients:search": ALL,
    "patients:register": {"front_desk", "prescriber", "nurse", "clinic_admin"},
    "patients:chart": ALL,
    "patients:edit": {"front_desk", "prescriber", "nurse", "clinic_admin"},
    "audit:search": {"compliance"},
    "accounts:password_change": ALL,
    "admin:index": {"clinic_admin"},
}
# POST-only endpoints: roles allowed to POST.
EXPECTED_POST = {
    "patients:add_measurement": {"prescriber", "nurse", "front_desk"},
    "patients:add_diagnosis": {"prescriber"},
}


def url_for(name: str, patient) -> str:
    if name in ("patients:chart", "patients:edit", "patients:add_measurement", "patients:add_diagnosis"):
        return reverse(name, kwargs={"external_id": patient.external_id})
    return reverse(name)


@pytest.mark.parametrize("name", sorted(EXPECTED_GET))
def test_get_role_matrix(name, client_for, patient, staff):
    staff["clinic_admin"].is_staff = True
    staff["clinic_admin"].save()
    url = url_for(name, patient)
    for role in sorted(ALL):
        response = client_for(role).get(url)
        if role in EXPECTED_GET[name]:
            assert response.status_code == 200, f"{role} should open {name}, got {response.status_code}"
        else:
            assert response.status_code == 403, f"{role} must be refused {name}, got {response.status_code}"


@pytest.mark.parametrize("name", sorted(EXPECTED_GET) + sorted(EXPECTED_POST))
def test_signed_out_visitor_is_sent_to_sign_in(name, patient):
    response = Client().get(url_for(name, patient))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", sorted(EXPECTED_POST))
def test_post_role_matrix(name, client_for, patient):
    url = url_for(name, patient)
    for role in sorted(ALL):
        response = client_for(role).post(url, {})
        if role in EXPECTED_POST[name]:
            # Reached: an empty entry is refused on the chart (200) with the message next to the field.
            assert response.status_code in (200, 302), f"{role} should reach {name}"
        else:
            assert response.status_code == 403, f"{role} must be refused {name}"


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
