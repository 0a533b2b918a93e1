"""FHIR test fixtures: backend clients registered and tokens issued through the real services (a key pair made
here, a signed client assertion exchanged at the token service), never a token row written by hand.

* ``fhir_token(clinic, scopes="system/*.rs") -> str``: a bearer token of a new client of ``clinic``.
* ``fhir_client(clinic, scopes=...) -> RegisteredClient``: the client, its private key and an ``assertion(...)``
  signer, for tests of the token endpoint itself.
* ``bearer(token)``: the request header for Django's test client (``client.get(url, **bearer(token))``).
* ``export_dir``: the bulk export's folder for this test (``FHIR_EXPORT_DIR``); modules that export use it (some
  autouse it with ``pytestmark``).
* ``documents``: a signed IV session with its invoice (a superbill) and a signed esketamine session with its REMS
  form, each made through the app's services: four PDFs a client can fetch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

#: The token endpoint's URL as Django's test client reaches it (the assertion's ``aud``).
TOKEN_URL = "http://testserver/fhir/R4/auth/token"


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    """One EC P-384 key pair for the whole run (making one per test would only cost time)."""
    return ec.generate_private_key(ec.SECP384R1())


def public_jwks(private_key, kid: str = "test-key-1", alg: str = "ES384") -> str:
    import json

    algorithm = jwt.algorithms.ECAlgorithm if alg == "ES384" else jwt.algorithms.RSAAlgorithm
    jwk = json.loads(algorithm.to_jwk(private_key.public_key()))
    return json.dumps({"keys": [{**jwk, "kid": kid, "alg": alg}]})


@dataclass
class RegisteredClient:
    client: object
    private_key: object
    kid: str = "test-key-1"
    alg: str = "ES384"

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def assertion(self, *, aud: str = TOKEN_URL, expires_in: int = 240, jti: str | None = None,
                  alg: str | None = None, kid: str | None = None, key=None, **claims) -> str:
        """A client assertion signed with this client's key (each argument can be made wrong on purpose)."""
        # timezone.now() is the clock fixture's moment; PyJWT checks exp/iat against datetime.now(tz=UTC), which
        # time-machine pins to the same moment, so the token service and PyJWT agree with the test.
        now = int(timezone.now().timestamp())
        payload = {"iss": self.client_id, "sub": self.client_id, "aud": aud, "exp": now + expires_in,
                   "iat": now, "jti": uuid.uuid4().hex if jti is None else jti, **claims}
        return jwt.encode(payload, key if key is not None else self.private_key, algorithm=alg or self.alg,
                          headers={"kid": kid or self.kid})

    def token(self, scope: str | None = None) -> str:
        from ketaclinic.fhir import services

        return services.exchange_assertion(
            grant_type="client_credentials", assertion_type=services.ASSERTION_TYPE, assertion=self.assertion(),
            scope=scope, token_url=TOKEN_URL).access_token


@pytest.fixture
def fhir_client(make_user):
    """``fhir_client(clinic, scopes="system/*.rs", name=...)``: a backend client registered by a clinic admin."""
    from ketaclinic.audit.services import Actor
    from ketaclinic.fhir import services

    admin = make_user("clinic_admin")

    def register(clinic, scopes: str = "system/*.rs", name: str = "Test backend") -> RegisteredClient:
        key = ec_key()
        client = services.register_client(actor=Actor.for_user(admin), clinic=clinic,
                                          name=name, scopes=scopes.split(), keys=public_jwks(key))
        return RegisteredClient(client=client, private_key=key)

    return register


@pytest.fixture
def fhir_token(fhir_client):
    """``fhir_token(clinic, scopes="system/*.rs") -> str``: a bearer token of a new client of ``clinic`` holding
    ``scopes``, issued by the token service for a signed assertion."""

    def token(clinic, scopes: str = "system/*.rs") -> str:
        return fhir_client(clinic, scopes).token()

    return token


def bearer(token: str) -> dict:
    """``client.get(url, **bearer(token))``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def export_dir(tmp_path):
    from django.test import override_settings

    with override_settings(FHIR_EXPORT_DIR=tmp_path / "fhir-export"):
        yield tmp_path / "fhir-export"


@pytest.fixture
def documents(patient, staff, clinic):
    """A signed IV session with an invoice (its superbill), and a signed esketamine session with its REMS form."""
    from tests.fhir.module_clinic import build_documents

    return build_documents(clinic, staff, patient)
