"""SMART Backend Services at the service level: a client registered by a clinic admin exchanges a signed assertion
for a short-lived token; an expired, replayed, wrong-audience, wrong-algorithm or unknown-key assertion is refused
(and the refusal audited); a revoked client's token stops working; scopes narrow what a token opens."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.fhir import services
from ketaclinic.fhir.auth import FhirAuthError, Grant, grant_for_token, parse_scope
from ketaclinic.fhir.models import AccessToken
from tests.fhir.conftest import TOKEN_URL

pytestmark = pytest.mark.django_db


def exchange(assertion, scope=None, **overrides):
    args = {"grant_type": "client_credentials", "assertion_type": services.ASSERTION_TYPE, "assertion": assertion,
            "scope": scope, "token_url": TOKEN_URL, **overrides}
    return services.exchange_assertion(**args)


def test_a_signed_assertion_gets_a_five_minute_token_stored_only_as_a_hash(clinic, fhir_client):
    c = fhir_client(clinic, "system/Observation.rs system/Patient.r")
    issued = exchange(c.assertion(), scope="system/Observation.rs")
    assert issued.expires_in == 300 and issued.scope == "system/Observation.rs"
    row = AccessToken.objects.get(client=c.client)
    assert issued.access_token not in row.token_hash and len(row.token_hash) == 64
    grant = grant_for_token(issued.access_token)
    assert (grant.client_id, grant.clinic_id) == (c.client_id, clinic.pk)
    assert grant.allows("Observation", "s") and not grant.allows("Patient", "r")
    assert AuditEntry.objects.filter(action="fhir.token.issued", details__client_id=c.client_id).count() == 1


def test_the_token_expires_after_five_minutes(clinic, fhir_client, clock):
    token = fhir_client(clinic).token()
    clock.shift(timedelta(minutes=4, seconds=50))
    grant_for_token(token)
    clock.shift(timedelta(seconds=15))
    with pytest.raises(FhirAuthError) as e:
        grant_for_token(token)
    assert (e.value.status, e.value.code) == (401, "expired")


@pytest.mark.parametrize("case", ["expired", "too_long", "wrong_aud", "hs256", "none", "rs256", "unknown_kid",
                                  "other_key", "sub_differs", "no_jti"])
def test_bad_assertions_are_refused_and_audited(clinic, fhir_client, case):
    c = fhir_client(clinic)
    if case == "expired":
        assertion = c.assertion(expires_in=-5)
    elif case == "too_long":
        assertion = c.assertion(expires_in=600)
    elif case == "wrong_aud":
        assertion = c.assertion(aud="https://elsewhere.example/token")
    elif case == "hs256":
        assertion = jwt.encode({"iss": c.client_id, "sub": c.client_id, "aud": TOKEN_URL, "exp": 9999999999,
                                "jti": "x"}, "secret-secret-secret-secret-secret-32", algorithm="HS256",
                               headers={"kid": c.kid})
    elif case == "none":
        assertion = jwt.encode({"iss": c.client_id, "sub": c.client_id, "aud": TOKEN_URL, "exp": 9999999999,
                                "jti": "x"}, None, algorithm="none", headers={"kid": c.kid})
    elif case == "rs256":
        assertion = c.assertion(alg="RS256", key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif case == "unknown_kid":
        assertion = c.assertion(kid="not-registered")
    elif case == "other_key":
        assertion = c.assertion(key=ec.generate_private_key(ec.SECP384R1()))
    elif case == "sub_differs":
        assertion = c.assertion(sub="someone-else")
    else:
        assertion = c.assertion(jti="")
    with pytest.raises(services.TokenError) as e:
        exchange(assertion)
    assert e.value.error == "invalid_client"
    assert not AccessToken.objects.exists()
    assert AuditEntry.objects.filter(action="fhir.token.refused").count() == 1


def test_a_replayed_assertion_is_refused(clinic, fhir_client):
    c = fhir_client(clinic)
    assertion = c.assertion()
    exchange(assertion)
    with pytest.raises(services.TokenError, match="used before"):
        exchange(assertion)
    assert AccessToken.objects.count() == 1


def test_a_token_cannot_carry_more_than_its_client_was_granted(clinic, fhir_client):
    c = fhir_client(clinic, "system/Observation.rs")
    with pytest.raises(services.TokenError) as e:
        exchange(c.assertion(), scope="system/Patient.rs")
    assert e.value.error == "invalid_scope"
    issued = exchange(c.assertion(), scope="system/Observation.r system/Patient.rs")
    assert issued.scope == "system/Observation.r"


def test_a_revoked_clients_token_and_assertions_are_refused(clinic, fhir_client, staff):
    c = fhir_client(clinic)
    token = c.token()
    services.revoke_client(actor=Actor(user=staff["clinic_admin"], roles=frozenset({"clinic_admin"})), client=c.client)
    with pytest.raises(FhirAuthError) as e:
        grant_for_token(token)
    assert e.value.status == 401
    with pytest.raises(services.TokenError):
        exchange(c.assertion())
    assert AuditEntry.objects.filter(action="fhir.client.revoked").count() == 1


@pytest.mark.parametrize("scope, expected", [("system/Observation.rs", ("Observation", "rs")),
                                             ("system/*.read", ("*", "rs")), ("system/Patient.c", ("Patient", "c")),
                                             ("system/Patient.write", ("Patient", "cud"))])
def test_scopes_v1_and_v2(scope, expected):
    assert parse_scope(scope) == expected


@pytest.mark.parametrize("scope", ["patient/Observation.rs", "system/Observation.sr", "system/Observation.rr",
                                   "system/observation.rs", "system/Observation", "user/*.read"])
def test_scopes_that_are_not_system_scopes_are_refused(scope):
    with pytest.raises(ValueError):
        parse_scope(scope)


def test_grant_allows_by_type_and_interaction():
    g = Grant(client_id="x", client_name="x", clinic_id=1, scopes=frozenset({"system/Observation.rs",
                                                                            "system/Patient.c"}))
    assert g.allows("Observation", "r") and g.allows("Observation", "s") and g.allows("Patient", "c")
    assert not g.allows("Patient", "r") and not g.allows("Condition", "s") and not g.allows("Observation", "c")
    assert Grant("x", "x", 1, frozenset({"system/*.rs"})).allows("Condition", "s")


@pytest.mark.parametrize("keys, field_problem", [
    ("", "Paste"), ("not json", "neither"), ('{"keys": []}', "non-empty"),
    ('{"kty": "oct", "k": "abc"}', "key type"),
])
def test_registration_refuses_bad_keys_and_writes_nothing(clinic, staff, keys, field_problem):
    from ketaclinic.fhir.models import BackendClient

    with pytest.raises(services.ClientError) as e:
        services.register_client(actor=Actor(user=staff["clinic_admin"]), clinic=clinic, name="X",
                                 scopes=["system/*.rs"], keys=keys)
    assert field_problem in e.value.errors["keys"]
    assert not BackendClient.objects.exists()


def test_registration_refuses_a_private_key_and_a_p256_key(clinic, staff):
    import json

    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    private_jwk = jwt.algorithms.ECAlgorithm.to_jwk(key)
    p256 = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    for keys, problem in ((pem, "private key"), (private_jwk, "private key"), (json.dumps(p256), "P-384")):
        with pytest.raises(services.ClientError) as e:
            services.register_client(actor=Actor(user=staff["clinic_admin"]), clinic=clinic, name="X",
                                     scopes=["system/*.rs"], keys=keys)
        assert problem in e.value.errors["keys"]


def test_a_pem_public_key_is_registered_with_its_thumbprint_as_kid(clinic, staff):
    from cryptography.hazmat.primitives import serialization

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    client = services.register_client(actor=Actor(user=staff["clinic_admin"]), clinic=clinic, name="Registry",
                                      scopes=["system/Patient.rs"], keys=pem)
    (jwk,) = client.jwks["keys"]
    assert jwk["alg"] == "RS384" and jwk["kid"] == services.thumbprint(jwk) and "d" not in jwk
    now = int(__import__("time").time())
    assertion = jwt.encode({"iss": client.client_id, "sub": client.client_id, "aud": TOKEN_URL, "exp": now + 60,
                            "jti": "one"}, key, algorithm="RS384", headers={"kid": jwk["kid"]})
    assert exchange(assertion).scope == "system/Patient.rs"


@pytest.mark.parametrize("header, claims", [({"alg": ["ES384"]}, {}), ({"alg": {"x": 1}}, {}),
                                            ({"kid": ["test-key-1"]}, {}), ({}, {"exp": 10**12})])
def test_an_odd_header_or_a_far_expiry_is_refused_not_a_server_error(clinic, fhir_client, header, claims):
    import base64
    import json

    c = fhir_client(clinic)
    signed = c.assertion(**claims)
    head, body, sig = signed.split(".")
    h = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    h.update(header)
    odd = base64.urlsafe_b64encode(json.dumps(h).encode()).rstrip(b"=").decode()
    with pytest.raises(services.TokenError) as e:
        exchange(f"{odd}.{body}.{sig}" if header else signed)
    assert e.value.error == "invalid_client" and not AccessToken.objects.exists()
