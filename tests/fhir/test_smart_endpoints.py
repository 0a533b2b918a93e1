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


def test_refusals_before_the_signature_tell_an_anonymous_caller_nothing_about_the_client(client, clinic, fhir_client,
                                                                                        staff):
    from ketaclinic.audit.services import Actor
    from ketaclinic.fhir import services

    c = fhir_client(clinic)
    stranger = RegisteredClient(client=type("C", (), {"client_id": "no-such-client"})(), private_key=c.private_key)
    revoked = fhir_client(clinic, name="Revoked backend")
    services.revoke_client(actor=Actor(user=staff["clinic_admin"], roles=frozenset({"clinic_admin"})),
                           client=revoked.client)
    answers = {post_token(client, a).content for a in (
        stranger.assertion(), revoked.assertion(), c.assertion(kid="not-registered"),
        c.assertion(key=ec.generate_private_key(ec.SECP384R1())))}
    assert answers == {json.dumps({"error": "invalid_client",
                                   "error_description": "The client assertion was not accepted."}).encode()}
    unknown = AuditEntry.objects.filter(action="fhir.token.refused", actor_label="fhir client: unknown").get()
    assert unknown.subject_id in (None, "") and "no-such-client" not in json.dumps(unknown.details)


def test_an_address_that_keeps_being_refused_is_throttled_and_not_audited_each_time(client, clinic, fhir_client,
                                                                                      settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    c = fhir_client(clinic)
    for _ in range(3):
        assert post_token(client, c.assertion(kid="wrong")).status_code == 401
    refused = AuditEntry.objects.filter(action="fhir.token.refused").count()
    for _ in range(5):
        r = post_token(client, c.assertion())  # even a good assertion waits out the delay
        assert r.status_code == 429 and r["Retry-After"] and r.json()["error"] == "invalid_client"
    assert AuditEntry.objects.filter(action="fhir.token.refused").count() == refused == 3
    assert not AccessToken.objects.exists()
    other = client.post("/fhir/R4/auth/token", {"grant_type": "client_credentials",
                                                "client_assertion_type": ASSERTION_TYPE,
                                                "client_assertion": c.assertion()}, REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200
