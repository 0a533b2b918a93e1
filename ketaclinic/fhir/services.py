"""The backend clients' use cases: register and revoke a client (a clinic admin), and exchange a signed client
assertion for a short-lived access token (SMART Backend Services, the client-credentials grant with
``private_key_jwt``).

The assertion is a JWT the client signs with its private key (RS384 or ES384) and whose public key (``kid``) it
registered with the clinic. It must say ``iss`` = ``sub`` = the client id, ``aud`` = the token endpoint's URL, expire
at most five minutes ahead, and carry a ``jti`` never used before. PyJWT checks the signature and the registered
claims; this module checks what SMART adds (who, the key, the lifetime, replay).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, record
from ketaclinic.fhir.auth import ScopeError, client_actor, covers, parse_scope, token_hash
from ketaclinic.fhir.models import AccessToken, BackendClient, UsedAssertion

#: How long an access token lives.
TOKEN_LIFETIME = timedelta(minutes=5)
#: The furthest ahead a client assertion may expire (SMART: "no more than five minutes in the future").
ASSERTION_MAX_LIFETIME = timedelta(minutes=5)
#: The signing algorithms accepted, and the key type each needs.
ALGORITHMS = {"RS384": "RSA", "ES384": "EC"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The smallest RSA key accepted.
MIN_RSA_BITS = 2048


class ClientError(ValueError):
    """A refused registration: ``errors`` maps form fields to messages."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class TokenError(Exception):
    """A refused token request, as the OAuth 2.0 error answer: ``error`` (invalid_client, invalid_request, ...),
    a description, and the HTTP status."""

    def __init__(self, error: str, description: str, *, status: int = 400, client: BackendClient | None = None,
                 reason: str | None = None, retry_after: int | None = None):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.client = client
        self.reason = reason or description  # for the audit trail (the caller may be told less)
        self.retry_after = retry_after


#: What an anonymous caller is told of every assertion refused before its signature is verified: nothing about
#: whether the client exists, is revoked, or which key or algorithm was wrong (the audit entry keeps the reason).
NOT_ACCEPTED = "The client assertion was not accepted."


# ------------------------------------------------------------------------------------------------------ keys
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: Mapping[str, str]) -> str:
    """The RFC 7638 thumbprint of a public JWK (SHA-256, base64url): a key id when the client did not give one."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _check_key(jwk: object, n: int) -> tuple[dict | None, str | None]:
    """One registered key, checked: (the public JWK to keep, None) or (None, what is wrong with it)."""
    where = f"Key {n}"
    if not isinstance(jwk, dict):
        return None, f"{where} is not a JSON object."
    if "d" in jwk or "p" in jwk:
        return None, f"{where} is a private key. Register the public key only; the private key stays with the client."
    kty = jwk.get("kty")
    if kty not in ("RSA", "EC"):
        return None, f"{where}: the key type must be RSA (for RS384) or EC P-384 (for ES384), not {kty!r}."
    alg = jwk.get("alg", "RS384" if kty == "RSA" else "ES384")
    if ALGORITHMS.get(alg) != kty:
        return None, f"{where}: algorithm {alg!r} is not accepted; use RS384 (RSA) or ES384 (EC P-384)."
    if kty == "EC" and jwk.get("crv") != "P-384":
        return None, f"{where}: an EC key must be on the P-384 curve (ES384), not {jwk.get('crv')!r}."
    try:
        parsed = jwt.PyJWK(dict(jwk), algorithm=alg)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as e:
        return None, f"{where} could not be read as a public key ({e})."
    if kty == "RSA" and parsed.key.key_size < MIN_RSA_BITS:
        return None, f"{where}: an RSA key needs at least {MIN_RSA_BITS} bits (this one has {parsed.key.key_size})."
    members = ("kty", "n", "e") if kty == "RSA" else ("kty", "crv", "x", "y")
    public = {k: jwk[k] for k in members}
    public["alg"] = alg
    public["kid"] = str(jwk.get("kid") or thumbprint(public))
    public["use"] = "sig"
    return public, None


def key_set(text: str) -> dict:
    """The public keys typed or pasted by a clinic admin, as a JWK Set: a JWKS (``{"keys": [...]}``), one JWK, or
    a PEM public key (``openssl ec -pubout`` / ``openssl rsa -pubout``). Raises :class:`ClientError` (field
    ``keys``)."""
    text = (text or "").strip()
    if not text:
        raise ClientError({"keys": "Paste the client's public key: a JWK Set (JSON) or a PEM public key."})
    if text.startswith("-----BEGIN"):
        if "PRIVATE KEY" in text:
            raise ClientError({"keys": "This is a private key. Paste the public key (openssl ... -pubout); the "
                                       "private key stays with the client."})
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            pub = load_pem_public_key(text.encode())
        except (ValueError, TypeError) as e:
            raise ClientError({"keys": f"The PEM text could not be read as a public key ({e})."}) from e
        if isinstance(pub, rsa.RSAPublicKey):
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(pub))
            jwk["alg"] = "RS384"
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(pub))
            jwk["alg"] = "ES384"
        else:
            raise ClientError({"keys": "Only RSA (RS384) and EC P-384 (ES384) public keys are accepted."})
        keys: list = [jwk]
    else:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ClientError({"keys": f"The key is neither a PEM public key nor valid JSON ({e})."}) from e
        keys = data.get("keys") if isinstance(data, dict) and "keys" in data else [data]
        if not isinstance(keys, list) or not keys:
            raise ClientError({"keys": 'A JWK Set needs a non-empty "keys" list.'})
    checked, problems = [], []
    for n, jwk in enumerate(keys, start=1):
        public, problem = _check_key(jwk, n)
        if problem:
            problems.append(problem)
        else:
            checked.append(public)
    kids = [k["kid"] for k in checked]
    if len(set(kids)) != len(kids):
        problems.append("Two keys share a key id (kid); each key needs its own.")
    if problems:
        raise ClientError({"keys": " ".join(problems)})
    return {"keys": checked}


# ------------------------------------------------------------------------------------------------ clients
def check_scopes(scopes: Iterable[str]) -> list[str]:
    out = sorted(set(scopes))
    if not out:
        raise ClientError({"scopes": "Grant at least one scope (a resource type and what the client may do with it)."})
    try:
        for s in out:
            parse_scope(s)
    except ScopeError as e:
        raise ClientError({"scopes": str(e)}) from e
    return out


def register_client(*, actor: Actor, clinic, name: str, scopes: Iterable[str], keys: str) -> BackendClient:
    """Register a backend client of ``clinic``: its name, the scopes it is granted and its public keys (text as
    :func:`key_set` reads it). Its ``client_id`` is new and random. Audited."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Name the client (the system that will call the API)."
    try:
        granted = check_scopes(scopes)
    except ClientError as e:
        errors.update(e.errors)
        granted = []
    try:
        jwks = key_set(keys)
    except ClientError as e:
        errors.update(e.errors)
        jwks = None
    if errors:
        raise ClientError(errors)
    with transaction.atomic(durable=True):
        client = BackendClient.objects.create(
            clinic=clinic, name=name, client_id=secrets.token_urlsafe(24), jwks=jwks, scopes=" ".join(granted),
            created_by=actor.user)
        record(actor, AuditAction.FHIR_CLIENT_REGISTERED, subject=client, details={
            "client_id": client.client_id, "name": name, "scopes": granted, "key_ids": client.key_ids})
    return client


def revoke_client(*, actor: Actor, client: BackendClient) -> BackendClient:
    """Revoke a client: its tokens are refused from now on, and it gets no new ones. Audited."""
    with transaction.atomic(durable=True):
        client = BackendClient.objects.select_for_update().get(pk=client.pk)
        if not client.active:
            raise ClientError({"__all__": f"{client.name} was already revoked."})
        client.active = False
        client.revoked_at = timezone.now()
        client.revoked_by = actor.user
        client.save(update_fields=["active", "revoked_at", "revoked_by"])
        record(actor, AuditAction.FHIR_CLIENT_REVOKED, subject=client,
                              details={"client_id": client.client_id, "name": client.name})
    from ketaclinic.fhir.bulk import delete_client_exports

    delete_client_exports(client)
    return client


# ------------------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str

    def as_json(self) -> dict:
        return {"access_token": self.access_token, "token_type": "bearer", "expires_in": self.expires_in,
                "scope": self.scope}


def _granted_scopes(client: BackendClient, requested: str | None) -> list[str]:
    """The scopes the token carries: those asked for, each within what the client was granted (all the client's
    own when none are asked for)."""
    granted = frozenset(client.scope_list)
    if not requested or not requested.strip():
        return sorted(granted)
    out = []
    for s in requested.split():
        try:
            if covers(granted, s):
                out.append(s)
        except ScopeError:
            continue
    if not out:
        raise TokenError("invalid_scope", f"None of the scopes asked for ({requested}) is granted to this client; "
                                          f"it holds: {' '.join(sorted(granted))}.", client=client)
    return sorted(set(out))


def _verify_assertion(assertion: str, token_url: str) -> tuple[BackendClient, dict]:
    """The client and the claims of a valid assertion, else :class:`TokenError` invalid_client."""
    def refuse(description: str, client=None, *, verified: bool = False):
        """``verified``: the signature was checked, so the caller holds the client's key and may be told why."""
        return TokenError("invalid_client", description if verified else NOT_ACCEPTED, status=401, client=client,
                          reason=description)

    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        raise refuse(f"The client assertion is not a JWT ({e}).") from e
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise refuse(f"The assertion is signed with {alg!r}; only RS384 and ES384 are accepted.")
    iss = unverified.get("iss")
    client = BackendClient.objects.filter(client_id=iss).first() if isinstance(iss, str) else None
    if client is None:
        raise refuse("The assertion's iss names no registered client.")
    if not client.active:
        raise refuse("This client has been revoked by the clinic.", client)
    kid = header.get("kid")
    if not isinstance(kid, str):
        kid = None
    jwk = next((k for k in client.jwks.get("keys", []) if k.get("kid") == kid), None) if kid else None
    if jwk is None:
        raise refuse(f"The assertion's kid {kid!r} is not one of this client's registered keys.", client)
    if jwk.get("alg") != alg:
        raise refuse(f"Key {kid} is registered for {jwk.get('alg')}, but the assertion is signed with {alg}.", client)
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
        claims = jwt.decode(assertion, key=key, algorithms=[alg], audience=token_url, issuer=client.client_id,
                            options={"require": ["iss", "sub", "aud", "exp", "jti"]})
    except jwt.ExpiredSignatureError as e:
        raise refuse("The client assertion has expired.", client, verified=True) from e
    except jwt.InvalidAudienceError as e:
        raise refuse(f"The assertion's aud must be the token endpoint, {token_url}.", client, verified=True) from e
    except (jwt.InvalidSignatureError, jwt.DecodeError, jwt.InvalidKeyError) as e:
        raise refuse(f"The client assertion was refused: {e}.", client) from e
    except jwt.PyJWTError as e:
        raise refuse(f"The client assertion was refused: {e}.", client, verified=True) from e
    if claims["sub"] != client.client_id:
        raise refuse("The assertion's sub must be the client id (the same as iss).", client, verified=True)
    if claims["exp"] - timezone.now().timestamp() > ASSERTION_MAX_LIFETIME.total_seconds():
        raise refuse("The assertion expires more than five minutes ahead; make exp at most 300 s from now.", client,
                     verified=True)
    if not isinstance(claims["jti"], str) or not claims["jti"] or len(claims["jti"]) > 255:
        raise refuse("The assertion's jti must be a string of 1 to 255 characters, new for each assertion.", client,
                     verified=True)
    return client, claims


def exchange_assertion(*, grant_type: str, assertion_type: str, assertion: str, scope: str | None,
                       token_url: str, client_ip: str | None = None) -> IssuedToken:
    """The token endpoint's use case: check the client-credentials request and its signed assertion, then issue a
    token of :data:`TOKEN_LIFETIME` carrying the scopes asked for (within the client's). A refusal is audited and
    raises :class:`TokenError`.

    Refusals are throttled per source address (:func:`_throttle_keys`): every request takes a slot of the
    address's counter before its assertion is looked at and an issued token gives it back, so an address that keeps
    being refused is answered 429 (not audited, nothing checked) until its delay has passed."""
    keys = _throttle_keys(client_ip)
    if keys:
        from ketaclinic.accounts import throttle

        with transaction.atomic(durable=True):
            wait = throttle.take_slot(keys, timezone.now())
        if wait is not None:
            raise TokenError("invalid_client", f"Too many refused token requests from this address; try again in "
                                               f"{wait} s.", status=429, retry_after=wait)
    try:
        issued = _exchange(grant_type, assertion_type, assertion, scope, token_url, client_ip)
    except TokenError as e:
        with transaction.atomic(durable=True):
            actor = (client_actor(e.client.name, e.client.client_id, client_ip) if e.client
                     else Actor(user=None, client_ip=client_ip, label_override="fhir client: unknown"))
            record(actor, AuditAction.FHIR_TOKEN_REFUSED, subject=e.client, details={
                "error": e.error, "reason": e.reason})
        raise
    if keys:
        with transaction.atomic(durable=True):
            throttle.settle(keys, ok=True)
    return issued


def _throttle_keys(client_ip: str | None) -> list:
    """The token endpoint's counter of a source address: the sign-in throttle's ``address`` counter (limit
    LOGIN_ADDRESS_FAILURE_LIMIT, delay LOGIN_DELAY_SECONDS doubling, forgotten after LOGIN_FAILURE_WINDOW_MINUTES),
    keyed ``fhir-token:<address>`` so it is counted apart from staff sign-ins from the same address."""
    if not client_ip:
        return []
    from ketaclinic.accounts import throttle

    return [throttle.Key(throttle.Kind.ADDRESS, f"fhir-token:{client_ip}"[:254])]


def _exchange(grant_type, assertion_type, assertion, scope, token_url, client_ip) -> IssuedToken:
    if grant_type != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials.")
    if assertion_type != ASSERTION_TYPE:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
    if not assertion:
        raise TokenError("invalid_request", "client_assertion (the signed JWT) is missing.")
    client, claims = _verify_assertion(assertion, token_url)
    scopes = _granted_scopes(client, scope)
    with transaction.atomic(durable=True):
        now = timezone.now()
        UsedAssertion.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
        try:
            with transaction.atomic():
                UsedAssertion.objects.create(client=client, jti=claims["jti"],
                                             expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC))
        except IntegrityError:
            raise TokenError("invalid_client", "This assertion (its jti) was used before; sign a new one with a "
                                               "new jti for each token request.", status=401, client=client) from None
        issued = issue_token(client=client, scopes=scopes)
        actor = client_actor(client.name, client.client_id, client_ip)
        record(actor, AuditAction.FHIR_TOKEN_ISSUED, subject=client, details={
            "client_id": client.client_id, "scopes": scopes, "kid": jwt.get_unverified_header(assertion)["kid"]})
    return issued


def issue_token(*, client: BackendClient, scopes: Iterable[str]) -> IssuedToken:
    """Write a new access token for ``client`` (its hash only) and return its value, once. Runs inside the
    exchange's transaction (the assertion already checked)."""
    value = secrets.token_urlsafe(32)
    now = timezone.now()
    scope = " ".join(sorted(set(scopes)))
    AccessToken.objects.create(client=client, token_hash=token_hash(value), scopes=scope, issued_at=now,
                               expires_at=now + TOKEN_LIFETIME)
    return IssuedToken(access_token=value, expires_in=int(TOKEN_LIFETIME.total_seconds()), scope=scope)
