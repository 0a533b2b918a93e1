"""Writing to and checking the audit trail.

``record`` must be called inside the transaction of the change it describes (services do this), so a
change and its audit entry are committed together or not at all. Reads of charts and clinical records
are recorded the same way.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from ketaclinic.acting import acting_clinic_id
from ketaclinic.audit import chain
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry, ChainHead

AUDIT_CHAIN = "audit"


@dataclass(frozen=True)
class Actor:
    """Who is acting, in which roles, from where. Built from a request, or ``Actor.system(...)``."""

    user: object | None
    roles: frozenset[str] = field(default_factory=frozenset)
    client_ip: str | None = None
    label_override: str | None = None

    @classmethod
    def from_request(cls, request) -> Actor:
        user = request.user if request.user.is_authenticated else None
        roles = user.role_set() if user is not None else frozenset()
        if user is not None and not roles and hasattr(user, "patient_account"):
            roles = frozenset({"patient"})
        return cls(user=user, roles=roles, client_ip=client_ip(request))

    @classmethod
    def for_user(cls, user, client_ip: str | None = None) -> Actor:
        """A staff user acting in all their roles, outside a request (the demo, a witness recording for another)."""
        return cls(user=user, roles=user.role_set(), client_ip=client_ip)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(user=None, label_override=f"system: {label}")

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def label(self) -> str:
        if self.label_override:
            return self.label_override
        if self.user is None:
            return "anonymous"
        return f"{self.user.username} ({getattr(self.user, 'label', self.user.username)})"


def client_ip(request) -> str | None:
    """The address of the person's device: the connection's own address, or, when the connection comes from one
    of ``settings.TRUSTED_PROXIES`` (the clinic's reverse proxy), the nearest address in X-Forwarded-For that is not
    a trusted proxy. Read from the right, so an address a client writes into the header itself is never believed;
    a header that does not parse is ignored. Used by the audit trail and by the sign-in throttle's per-address
    count (behind a proxy, without this every sign-in would count against the proxy's one address)."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXIES
    if not trusted or remote is None or not _within(remote, trusted):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            return remote
        if not _within(str(ip), trusted):
            return str(ip)
    return remote


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: bare, "203.0.113.9:51234", "[2001:db8::1]:443", or an IPv4 address mapped
    into IPv6 ("::ffff:203.0.113.9", read as the IPv4 address)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _within(address: str, networks) -> bool:
    ip = _address(address)
    return ip is not None and any(ip in net for net in networks)


#: What a NUL character in recorded details becomes: U+2400 SYMBOL FOR NULL, so the entry still shows one was typed.
NUL_SHOWN_AS = "\u2400"


def _without_nul(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", NUL_SHOWN_AS)
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _jsonable(details: Mapping[str, object]) -> dict[str, object]:
    """``details`` as JSON values (anything else as its ``str``), with every NUL (U+0000) in a string, key or value,
    at any depth, replaced by :data:`NUL_SHOWN_AS`: PostgreSQL's JSON cannot store a NUL, and details often carry
    what a visitor typed (a search's query string), so a NUL there must not turn the recording into a server
    error."""
    return _without_nul(json.loads(json.dumps(dict(details), default=str)))


def lock_chain(name: str) -> ChainHead:
    """The chain's head row, locked for this transaction. One query once the chain exists (every audited
    request appends, so this is on the hot path); the first append creates the head."""
    try:
        return ChainHead.objects.select_for_update().get(name=name)
    except ChainHead.DoesNotExist:
        try:
            with transaction.atomic():
                ChainHead.objects.create(name=name, last_seq=0, last_hash=chain.GENESIS)
        except IntegrityError:  # created by a concurrent first append
            pass
        return ChainHead.objects.select_for_update().get(name=name)


def _entry(actor: Actor, action: AuditAction, seq: int, prev_hash: str, *, subject: models.Model | None = None,
           patient=None, details: Mapping[str, object] | None = None) -> AuditEntry:
    """The entry at ``seq`` after ``prev_hash``, hashed and not yet saved: the one way an entry is built, whether it
    is appended alone (:func:`record`) or with others (:func:`record_many`)."""
    entry = AuditEntry(
        seq=seq,
        at=timezone.now(),
        actor=actor.user if actor.user_id else None,
        actor_label=actor.label,
        roles=",".join(sorted(actor.roles)),
        action=action.value,
        subject_type=subject._meta.label if subject is not None else "",
        subject_id=str(getattr(subject, "external_id", None) or getattr(subject, "pk", "") or "") if subject else "",
        patient=patient,
        client_ip=actor.client_ip,
        clinic_pk=acting_clinic_id(),
        details=_jsonable(details or {}),
        prev_hash=prev_hash,
    )
    entry.hash = chain.entry_hash(prev_hash, entry.content(), settings.CHAIN_KEY)
    return entry


def record(
    actor: Actor,
    action: AuditAction,
    *,
    subject: models.Model | None = None,
    patient=None,
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Append one entry. Call inside the transaction of the change it records.

    ``action`` is an ``AuditAction`` (a member's value string is accepted too, as a StrEnum member equals it);
    anything else raises ValueError before anything is written: an unknown action is a programming error.
    ``details`` is stored as JSON, a NUL in any of its strings shown as \u2400 (:func:`_jsonable`), so details may
    carry what a visitor typed."""
    action = AuditAction(action)
    # Inside the change's transaction no savepoint is taken (two round trips on every write): an entry that fails
    # rolls the whole change back, as it must; on its own, the entry is its own transaction. A caller that catches
    # an error raised in here and carries on must wrap the call in its own transaction.atomic().
    with transaction.atomic(savepoint=False):
        head = lock_chain(AUDIT_CHAIN)
        entry = _entry(actor, action, head.last_seq + 1, head.last_hash, subject=subject, patient=patient,
                       details=details)
        entry.save()
        ChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
        return entry


@dataclass(frozen=True)
class Item:
    """One entry of :func:`record_many`: what :func:`record` takes besides the actor and the action."""

    subject: models.Model | None = None
    patient: object = None
    details: Mapping[str, object] | None = None


#: Entries inserted by one statement in :func:`record_many`.
_BATCH = 1000


def record_many(actor: Actor, action: AuditAction, items: Iterable[Item]) -> list[AuditEntry]:
    """Append one entry per item, in their order, as :func:`record` would one after another, but under one lock of
    the chain head: the entries are built by the same function, inserted together and the head moved once. For
    writing many entries at once (sealing a synthetic history); call it inside the transaction of what it records.
    Returns the entries, saved (with their keys)."""
    action = AuditAction(action)
    with transaction.atomic(savepoint=False):
        head = lock_chain(AUDIT_CHAIN)
        entries: list[AuditEntry] = []
        seq, prev_hash = head.last_seq, head.last_hash
        for item in items:
            seq += 1
            entry = _entry(actor, action, seq, prev_hash, subject=item.subject, patient=item.patient,
                           details=item.details)
            entries.append(entry)
            prev_hash = entry.hash
        if entries:
            AuditEntry.objects.bulk_create(entries, batch_size=_BATCH)
            ChainHead.objects.filter(pk=head.pk).update(last_seq=seq, last_hash=prev_hash)
        return entries


def changes(instance: models.Model, new_values: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """The fields whose value differs, as {field: {"old": ..., "new": ...}} (for an audit entry)."""
    diff: dict[str, dict[str, object]] = {}
    for name, new in new_values.items():
        old = getattr(instance, name)
        if str(old) != str(new):
            diff[name] = {"old": old, "new": new}
    return diff


def verify_chain() -> chain.ChainBreak | None:
    """Recompute the whole audit chain; return the first break or None."""
    head = ChainHead.objects.filter(name=AUDIT_CHAIN).first()
    rows = AuditEntry.objects.order_by("seq").iterator(chunk_size=2000)
    return chain.verify(
        ((e.seq, e.prev_hash, e.hash, e.content()) for e in rows),
        expected_last_seq=head.last_seq if head else 0,
        key=settings.CHAIN_KEY,
    )
