"""The SMART Backend Services endpoints over HTTP, as a client's developer meets them, and the clinic admin's
pages that register and revoke clients."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ketaclinic.audit.models import AuditEntry
from ketaclinic.fhir.models import AccessToken, BackendClient
from ketaclinic.fhir.services import ASSERTION_TYPE
from tests.fhir.conftest import TOKEN_URL, RegisteredClient

pytestmark = pytest.mark.django_db


def post_token(client, assertion, **extra):
    return client.post("/fhir/R4/auth/token", {"grant_type": "client_credentials",
                                               "client_assertion_type": ASSERTION_TYPE,
                                               "client_assertion": assertion, **extra})


def test_smart_configuration_names_the_token_endpoint_and_the_algorithms(client):
    body = client.get("/fhir/R4/.well-known/smart-configuration").json()
    assert body["token_endpoint"] == TOKEN_URL
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["ES384", "RS384"]
    assert body["grant_types_supported"] == ["client_credentials"]


def test_token_endpoint_issues_a_token_for_a_signed_assertion(client, clinic, fhir_client):
    c = fhir_client(clinic, "system/Observation.rs")
    response = post_token(client, c.assertion(), scope="system/Observation.rs")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300 and body["scope"] == "system/Observation.rs"
    assert AccessToken.objects.filter(client=c.client).count() == 1


@pytest.mark.parametrize("what", ["replayed", "wrong_aud", "expired"])
def test_token_endpoint_answers_an_oauth_error(client, clinic, fhir_client, what):
    c = fhir_client(clinic)
    if what == "replayed":
        assertion = c.assertion(jti="same")
        assert post_token(client, assertion).status_code == 200
    elif what == "wrong_aud":
        assertion = c.assertion(aud="http://testserver/fhir/R4/other")
    else:
        assertion = c.assertion(expires_in=-1)
    response = post_token(client, assertion)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_token_endpoint_refuses_a_wrong_grant_and_a_missing_assertion(client):
    r = client.post("/fhir/R4/auth/token", {"grant_type": "password", "client_assertion_type": ASSERTION_TYPE,
                                            "client_assertion": "x.y.z"})
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")
    r = client.post("/fhir/R4/auth/token", {"grant_type": "client_credentials"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    assert client.get("/fhir/R4/auth/token").status_code == 405


def _pem_public(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_a_clinic_admin_registers_a_client_with_a_pem_key_then_revokes_it(client_for, clinic, client):
    admin = client_for("clinic_admin")
    page = admin.get("/fhir/R4/clients/")
    assert page.status_code == 200 and TOKEN_URL in page.content.decode()
    key = ec.generate_private_key(ec.SECP384R1())
    response = admin.post("/fhir/R4/clients/", {"name": "Registry warehouse", "keys": _pem_public(key),
                                                "scopes": ["Observation:r", "Observation:s", "Patient:r"]})
    registered = BackendClient.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/fhir/R4/clients/{registered.external_id}/"
    assert registered.scopes == "system/Observation.rs system/Patient.r"
    detail = admin.get(response["Location"]).content.decode()
    assert registered.client_id in detail and TOKEN_URL in detail and registered.key_ids[0] in detail
    # the new client gets a token with the key it registered
    c = RegisteredClient(client=registered, private_key=key, kid=registered.key_ids[0])
    assert post_token(client, c.assertion()).status_code == 200
    admin.post(f"/fhir/R4/clients/{registered.external_id}/revoke", {})
    registered.refresh_from_db()
    assert not registered.active and registered.revoked_by.username == "clinic_admin"
    assert post_token(client, c.assertion()).json()["error"] == "invalid_client"
    assert list(AuditEntry.objects.filter(action__startswith="fhir.client").values_list("action", flat=True)
                .order_by("seq")) == ["fhir.client.registered", "fhir.client.revoked"]


def test_registration_with_a_bad_key_or_no_scope_shows_why_and_writes_nothing(client_for, clinic):
    admin = client_for("clinic_admin")
    private = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    response = admin.post("/fhir/R4/clients/", {"name": "X", "keys": private, "scopes": ["Patient:r"]})
    assert response.status_code == 200 and "private key" in response.content.decode()
    response = admin.post("/fhir/R4/clients/", {"name": "X", "keys": json.dumps({"keys": []})})
    assert "Grant at least one scope" in response.content.decode()
    assert not BackendClient.objects.exists()


@pytest.mark.parametrize("role", ["prescriber", "compliance", "front_desk"])
def test_only_a_clinic_admin_opens_the_client_pages(client_for, role):
    assert client_for(role).get("/fhir/R4/clients/").status_code == 403
