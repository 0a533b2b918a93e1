"""Who is calling the FHIR API: a registered backend client with a bearer token, and what its scopes let it do.

Every FHIR view (resources, bulk data, import) calls :func:`authorize` first and :func:`audit_access` once it has
answered. A staff member's session cookie opens nothing here: only ``Authorization: Bearer <token>`` counts, the
token issued by the token endpoint (``token_views.py``) to an active client of a clinic.

Scopes (SMART App Launch 2, with the v1 forms still read):

* ``system/Observation.rs``: the v2 form; letters from ``c r u d s`` in that order (create, read, update, delete,
  search). ``r`` covers read, vread and history.
* ``system/*.rs``: every resource type.
* ``system/Observation.read`` (v1) means ``rs``, ``.write`` means ``cud``, ``.*`` means all of them.

Only ``system/`` scopes are granted (a backend client acts for the clinic, not for one patient or user).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.utils import timezone

#: The interactions a scope letter allows: "r" read/vread/history, "s" search, "c" create, "u" update, "d" delete.
LETTERS = "cruds"
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(r"system/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<perm>\*|read|write|[cruds]{1,5})")


class ScopeError(ValueError):
    """A scope string that is not a ``system/`` SMART scope."""


def parse_scope(scope: str) -> tuple[str, str]:
    """``"system/Observation.rs"`` -> ``("Observation", "rs")``; v1 permissions are turned into letters. Raises
    :class:`ScopeError` on anything else (a ``patient/`` or ``user/`` scope, letters out of order, a typo)."""
    m = _SCOPE.fullmatch(scope)
    if not m:
        raise ScopeError(f"{scope!r} is not a system scope such as system/Observation.rs or system/*.read")
    perm = m["perm"]
    letters = _V1.get(perm, perm)
    if perm not in _V1 and (len(set(letters)) != len(letters) or letters != "".join(c for c in LETTERS if c in letters)):
        raise ScopeError(f"{scope!r}: the letters must come in the order c, r, u, d, s, each once")
    return m["type"], letters


def parse_scopes(text: str) -> frozenset[str]:
    """The space-separated scopes of ``text``, each checked; raises :class:`ScopeError` naming the first bad one."""
    scopes = text.split()
    for s in scopes:
        parse_scope(s)
    return frozenset(scopes)


def _permissions(scopes: frozenset[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in scopes:
        try:
            rtype, letters = parse_scope(s)
        except ScopeError:
            continue
        out.setdefault(rtype, set()).update(letters)
    return out


@dataclass(frozen=True)
class Grant:
    """What the bearer of a valid token may do: which client, for which clinic, with which scopes."""

    client_id: str
    client_name: str
    clinic_id: int
    scopes: frozenset[str]

    def allows(self, resource_type: str, interaction: str) -> bool:
        """Whether the scopes cover ``interaction`` ("r" read/vread/history, "s" search, "c" create, "u", "d") on
        ``resource_type``."""
        if interaction not in LETTERS or len(interaction) != 1:
            raise ValueError(f"{interaction!r} is not one of the interactions {LETTERS}")
        perms = _permissions(self.scopes)
        return interaction in perms.get(resource_type, set()) or interaction in perms.get("*", set())


def covers(granted: frozenset[str], requested: str) -> bool:
    """Whether scope ``requested`` asks for nothing beyond ``granted`` (a token may carry less than its client)."""
    rtype, letters = parse_scope(requested)
    perms = _permissions(granted)
    have = perms.get("*", set()) | (perms.get(rtype, set()) if rtype != "*" else set())
    return set(letters) <= have


class FhirAuthError(Exception):
    """A request the API refuses for who is asking: 401 (no valid token) or 403 (a token whose scopes do not cover
    what was asked). ``code`` is the OperationOutcome issue type."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self):
        from ketaclinic.fhir.outcome import operation_outcome

        headers = {"WWW-Authenticate": 'Bearer realm="fhir"'} if self.status == 401 else None
        return operation_outcome(self.status, self.code, self.message, headers=headers)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


NO_TOKEN = ("This is the FHIR API for registered backend clients: send Authorization: Bearer <token> (from the "
            "token endpoint). A staff sign-in does not open it.")


def grant_for_token(token: str) -> Grant:
    """The grant of a bearer token, or :class:`FhirAuthError` 401 (unknown, expired, or its client revoked)."""
    from ketaclinic.fhir.models import AccessToken

    row = (AccessToken.objects.select_related("client").filter(token_hash=token_hash(token)).first()
           if token else None)
    if row is None:
        raise FhirAuthError(401, "login", "The bearer token is not known here. Ask the token endpoint for a new one.")
    if row.expires_at <= timezone.now():
        raise FhirAuthError(401, "expired", "The bearer token has expired. Ask the token endpoint for a new one.")
    if not row.client.active:
        raise FhirAuthError(401, "login", "This backend client has been revoked by the clinic.")
    return Grant(client_id=row.client.client_id, client_name=row.client.name, clinic_id=row.client.clinic_id,
                 scopes=frozenset(row.scopes.split()))


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(request) -> Grant:
    """The grant of the request's bearer token (no scope check); 401 without one. A session is never looked at."""
    token = bearer_token(request)
    if token is None:
        raise FhirAuthError(401, "login", NO_TOKEN)
    return grant_for_token(token)


def authorize(request, resource_type: str | None, interaction: str) -> Grant:
    """The grant of the request's bearer token if its scopes cover ``interaction`` on ``resource_type``; else
    :class:`FhirAuthError` (401 no valid token, 403 scope). ``resource_type`` None checks the token only."""
    grant = authenticate(request)
    if resource_type is not None and not grant.allows(resource_type, interaction):
        what = {"r": "read", "s": "search", "c": "create", "u": "update", "d": "delete"}[interaction]
        raise refused(grant, request, resource_type, interaction,
                      f"This client's token does not allow it to {what} {resource_type} "
                      f"(its scopes: {' '.join(sorted(grant.scopes)) or 'none'}).")
    return grant


def _audit_actions():
    """The audit action of each interaction a client can be answered (or refused) for."""
    from ketaclinic.audit.actions import AuditAction

    return {"r": AuditAction.FHIR_READ, "s": AuditAction.FHIR_SEARCHED, "c": AuditAction.FHIR_CREATED}


def refused(grant: Grant, request, resource_type: str, interaction: str, message: str) -> FhirAuthError:
    """A 403 for what the token's scopes do not cover, audited with the client's identity (the interaction's
    action, ``refused`` in its details, count 0): a client probing beyond its scopes is on the record."""
    from django.db import transaction

    from ketaclinic.audit.actions import AuditAction
    from ketaclinic.audit.services import record

    action = _audit_actions().get(interaction, AuditAction.FHIR_READ)  # the interaction's own action
    with transaction.atomic():
        record(grant_actor(grant, request), action, details={
            "client_id": grant.client_id, "client": grant.client_name, "resource_type": resource_type,
            "path": request.path, "query": request.META.get("QUERY_STRING", ""), "count": 0,
            "refused": "forbidden", "reason": message})
    return FhirAuthError(403, "forbidden", message)


def client_actor(name: str, client_id: str, ip: str | None = None):
    """The audit trail's actor for a backend client: no user, the client's name and id, the caller's address."""
    from ketaclinic.audit.services import Actor

    return Actor(user=None, client_ip=ip, label_override=f"fhir client: {name} ({client_id})")


def grant_actor(grant: Grant, request):
    """:func:`client_actor` for the bearer of ``grant``, at ``request``'s address."""
    from ketaclinic.audit.services import client_ip

    return client_actor(grant.client_name, grant.client_id, client_ip(request))


def audit_access(grant: Grant, request, *, resource_type: str, interaction: str, count: int, patient=None,
                 details: dict | None = None) -> None:
    """One audit entry for one answered FHIR request: the client, what it asked (type, interaction, the query
    string), how many resources it got, and ``details`` (e.g. why nothing was served)."""
    from django.db import transaction

    from ketaclinic.audit.services import record

    with transaction.atomic():
        record(grant_actor(grant, request), _audit_actions()[interaction], patient=patient, details={
            "client_id": grant.client_id, "client": grant.client_name, "resource_type": resource_type,
            "path": request.path, "query": request.META.get("QUERY_STRING", ""), "count": count, **(details or {})})
