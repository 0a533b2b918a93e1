"""Content hashes of signed clinical records, and the check that the records still hold what was signed.

When a clinician signs a record (a session note with its vitals, dosing events and ratings; an order; an
eligibility assessment; a therapist's note; a scale's answers), the signing use case puts the record's
content hash in the audit entry it writes (``details["seal"]``). The audit trail is a keyed, checkpointed chain
(``chain.py``, ``checkpoints.py``), so a seal cannot be rewritten unseen; ``manage.py verify_records`` recomputes
every sealed record's content from the database and names each one that no longer matches its latest seal (a
co-signature seals the record again; so does the demo when it moves a synthetic record into the past,
:func:`backdate_demo_record`, audited as such).

What a record's content is, each app says for its own records (``register`` in its ``seals.py``, found like the
admin's modules): the fields
and rows that must never change once signed, leaving out what may still be written afterwards by design (a
co-signature, an adverse event's resolution time, a later status such as "stopped" or "entered in error").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.utils.module_loading import autodiscover_modules

from ketaclinic.audit.chain import canonical

Content = Callable[[models.Model], dict[str, object]]
_CONTENT: dict[str, Content] = {}


def register(model: type[models.Model], content: Content) -> None:
    _CONTENT[model._meta.label] = content


def _discover() -> None:
    if not _CONTENT:
        autodiscover_modules("seals")


def fields_of(instance: models.Model, *, exclude: Iterable[str] = ()) -> dict[str, object]:
    """The record's stored fields by column (``patient_id``, not the patient), less ``exclude``."""
    left_out = set(exclude)
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
            if f.name not in left_out and f.attname not in left_out}


def rows_of(queryset: models.QuerySet, *, exclude: Iterable[str] = ()) -> list[dict[str, object]]:
    return [fields_of(row, exclude=exclude) for row in queryset.order_by("pk")]


def content_hash(instance: models.Model) -> str:
    """SHA-256 of the record's registered content, read afresh from the database (never from the instance in
    hand, whose values may not yet be what the database stores)."""
    _discover()
    model = type(instance)
    fresh = model._default_manager.get(pk=instance.pk)
    return hashlib.sha256(canonical(_CONTENT[model._meta.label](fresh)).encode("utf-8")).hexdigest()


def seal(instance: models.Model) -> dict[str, object]:
    """What a signing use case adds to its audit entry's details: ``{"seal": {...}}``."""
    return {"seal": {"record": instance._meta.label, "pk": instance.pk, "hash": content_hash(instance)}}


def backdate_demo_record(actor, instance: models.Model, *, patient, **fields: object) -> None:
    """The demo loader's one way to move a signed synthetic record's times into the past (the services sign at
    "now"): the fields are written, and the record sealed again in an audit entry that says so. Refused for any
    record of a patient who is not a synthetic demo patient."""
    from ketaclinic.audit.actions import AuditAction
    from ketaclinic.audit.services import record

    if getattr(patient, "is_demo", False) is not True:
        raise ValueError("Only a synthetic demo patient's records are back-dated.")
    type(instance)._default_manager.filter(pk=instance.pk).update(**fields)
    record(actor, AuditAction.DEMO_RECORD_BACKDATED, subject=instance, patient=patient,
           details={"fields": {k: str(v) for k, v in fields.items()}, **seal(instance)})


@dataclass(frozen=True)
class Mismatch:
    record: str
    pk: object
    signed_at: str
    reason: str


def verify_records() -> tuple[int, list[Mismatch]]:
    """Recompute every sealed record; return how many records were checked and each one that does not match its
    newest seal."""
    from ketaclinic.audit.models import AuditEntry

    _discover()
    latest: dict[tuple[str, object], tuple[str, str]] = {}  # (kind, pk) -> (hash, when) of its newest seal
    for entry in AuditEntry.objects.filter(details__has_key="seal").order_by("seq").iterator(chunk_size=2000):
        sealed = entry.details["seal"]
        latest[(sealed.get("record"), sealed.get("pk"))] = (sealed.get("hash"), entry.at.isoformat())
    checked = 0
    problems: list[Mismatch] = []
    for (label, pk), (signed_hash, at) in latest.items():
        checked += 1
        try:
            model = apps.get_model(label)
            content = _CONTENT[label]
        except (LookupError, ValueError, KeyError, TypeError):
            problems.append(Mismatch(str(label), pk, at, "the sealed record's kind is unknown"))
            continue
        record = model._default_manager.filter(pk=pk).first()
        if record is None:
            problems.append(Mismatch(label, pk, at, "the signed record is gone"))
            continue
        now = hashlib.sha256(canonical(content(record)).encode("utf-8")).hexdigest()
        if now != signed_hash:
            problems.append(Mismatch(label, pk, at, "the record no longer holds what was signed"))
    return checked, problems
