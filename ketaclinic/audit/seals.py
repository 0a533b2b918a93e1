"""Content hashes of signed clinical records, and the check that the records still hold what was signed.

When a clinician signs a record (a session note with its vitals, pre-dose overrides, dosing events, adverse events,
ratings, observations and signed dose; an order; an eligibility assessment; a therapist's note; a questionnaire's
answers), the use case writes its audit entry through :func:`record`: the record's content hash goes into the keyed,
checkpointed audit entry (``details["seal"]``) and into an append-only index row (``RecordSeal``).

A signed record changes afterwards only through the application's own use cases (a co-signature, an order stopped,
an adverse event resolved, a contraindication retracted, an answer marked entered in error). Each of them first
calls :func:`require_intact` (the record must still match its newest seal: a change made behind the application's
back is refused there, not signed over) and then seals the record again through :func:`record`. So the newest seal
of a record always describes a state the application wrote, and ``manage.py verify_records`` checks:

* the audit chain (keys and checkpoints) first: seals in a broken chain prove nothing;
* each record's newest seal against its audit entry, and the record's content against the seal;
* every record that claims a signature (``signed`` of its registration) has a seal.

What a record's content is, each app says for its own records (``register`` in its ``seals.py``, found like the
admin's modules): every stored field, and the rows the signature covers. Rows added to a signed note by design
(addenda, alert acknowledgements, the REMS form) are records of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import batched

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.functions import Cast
from django.utils.module_loading import autodiscover_modules

from ketaclinic.audit.chain import canonical

Content = Callable[[models.Model], dict[str, object]]


@dataclass(frozen=True)
class Kind:
    content: Content
    signed: Mapping[str, object]  # the filter of the records that claim a signature
    # the records sealed once at an upgrade (``manage.py seal_baseline``): kinds sealed by every write through the
    # application (a registry record, a staff account), whose rows written before sealing existed have no seal
    baseline: models.Q | None = None
    # the related rows ``content`` reads through ``rows_of``: verify_records reads them for many records at once
    prefetch: tuple[str, ...] = ()


_KINDS: dict[str, Kind] = {}


class TamperedRecord(Exception):
    """A signed record no longer holds what its newest seal says: changed outside the application."""


def register(model: type[models.Model], content: Content, *, signed: Mapping[str, object],
             baseline: models.Q | None = None, prefetch: Iterable[str] = ()) -> None:
    if not isinstance(model._meta.pk, models.IntegerField):  # AutoField and BigAutoField are IntegerFields
        # the seal index keeps a record's key as text, and verify_records matches it to the record in the
        # database by the key's text there: str(key) for an integer on every engine (not a UUID on SQLite)
        raise ImproperlyConfigured(f"{model._meta.label} cannot be sealed: its key is not an integer.")
    _KINDS[model._meta.label] = Kind(content, dict(signed), baseline, tuple(prefetch))


def seal_baseline(actor, chunk: int = 500) -> dict[str, int]:
    """Seal, as they stand now, the records of the baseline kinds that have no seal yet (rows written before their
    kind was sealed, or bulk-inserted): run once at the upgrade, after checking them, so verify_records watches
    them from then on. Returns how many of each kind were sealed; each seal is its own audit entry. Each ``chunk``
    of records commits on its own, so a run cut short keeps what it sealed and a second run seals the rest."""
    from django.db import transaction

    from ketaclinic.audit.actions import AuditAction
    from ketaclinic.audit.models import RecordSeal

    _discover()
    done: dict[str, int] = {}
    for label, kind in _KINDS.items():
        if kind.baseline is None:
            continue
        model = apps.get_model(label)
        sealed = set(RecordSeal.objects.filter(record=label).values_list("record_pk", flat=True))
        todo = [pk for pk in model._default_manager.filter(kind.baseline).distinct().order_by("pk")
                .values_list("pk", flat=True).iterator(chunk_size=5000) if str(pk) not in sealed]
        for start in range(0, len(todo), chunk):
            with transaction.atomic():
                for row in model._default_manager.filter(pk__in=todo[start:start + chunk]).order_by("pk"):
                    record(actor, AuditAction.RECORD_BASELINE_SEALED, row,
                           patient=row if label == "patients.Patient" else None)
        done[label] = len(todo)
    return done


def _discover() -> None:
    if not _KINDS:
        autodiscover_modules("seals")


def fields_of(instance: models.Model, *, exclude: Iterable[str] = ()) -> dict[str, object]:
    """The record's stored fields by column (``patient_id``, not the patient), less ``exclude``."""
    left_out = set(exclude)
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
            if f.name not in left_out and f.attname not in left_out}


def rows_of(queryset: models.QuerySet, *, exclude: Iterable[str] = ()) -> list[dict[str, object]]:
    """The rows' stored fields, in the order of their keys (put in order here, so rows already read by a prefetch
    of verify_records are not read again)."""
    return [fields_of(row, exclude=exclude) for row in sorted(queryset, key=lambda row: row.pk)]


def _hash_of(record: models.Model) -> str:
    return hashlib.sha256(canonical(_KINDS[record._meta.label].content(record)).encode("utf-8")).hexdigest()


def content_hash(instance: models.Model) -> str:
    """SHA-256 of the record's registered content, read afresh from the database (never from the instance in
    hand, whose values may not yet be what the database stores)."""
    _discover()
    return _hash_of(type(instance)._default_manager.get(pk=instance.pk))


def _newest(label: str, pk: object):
    from ketaclinic.audit.models import RecordSeal

    return RecordSeal.objects.filter(record=label, record_pk=str(pk)).order_by("-id").first()


def require_intact(instance: models.Model) -> bool:
    """Refuse to change (or sign again) a sealed record that no longer matches its newest seal. Returns whether the
    record is sealed (a record never sealed passes)."""
    newest = _newest(instance._meta.label, instance.pk)
    if newest is not None and content_hash(instance) != newest.hash:
        raise TamperedRecord(f"This record ({instance._meta.verbose_name}) was changed outside KetaClinic since it "
                             "was signed; nothing more can be signed or changed on it. Tell the compliance lead.")
    return newest is not None


def record(actor, action, instance: models.Model, *, patient=None, subject=None,
           details: Mapping[str, object] | None = None):
    """``audit.record`` of ``action`` with ``instance``'s seal: its content hash in the entry and in the index."""
    from ketaclinic.audit.models import RecordSeal
    from ketaclinic.audit.services import record as audit_record

    digest = content_hash(instance)
    entry = audit_record(actor, action, subject=subject if subject is not None else instance, patient=patient,
                         details={**(details or {}),
                                  "seal": {"record": instance._meta.label, "pk": instance.pk, "hash": digest}})
    RecordSeal.objects.create(record=instance._meta.label, record_pk=str(instance.pk), hash=digest, entry=entry)
    return entry


def _demo_patient(instance: models.Model):
    patient = getattr(instance, "patient", None)
    if patient is None and hasattr(instance, "session"):
        patient = getattr(instance.session, "patient", None)
    if getattr(patient, "is_demo", False) is not True:
        raise ValueError("Only a synthetic demo patient's records are back-dated or sealed by the demo.")
    return patient


def seal_demo_history(actor, instance: models.Model) -> None:
    """The demo loader writes its synthetic history (past sessions, notes, completed orders) directly, signatures
    included; this seals such a record, in an audit entry that says so. Refused for any real patient's record."""
    from ketaclinic.audit.actions import AuditAction

    record(actor, AuditAction.DEMO_HISTORY_SEALED, instance, patient=_demo_patient(instance))


def _patient_path(model: type[models.Model]) -> str:
    """The relation :func:`_demo_patient` reads the record's patient through: its own, or its session's."""
    names = {f.name for f in model._meta.get_fields()}
    return "patient" if "patient" in names else "session__patient"


def seal_demo_history_many(actor, instances: Iterable[models.Model]) -> int:
    """:func:`seal_demo_history` of many records at once (a synthetic history written in bulk, such as the benchmark
    network's): the same entries, seals and hashes, in the order given, but the records are read afresh ``_CHUNK``
    at a time with the rows they cover (as verify_records reads them) and the entries appended under one lock of
    the chain head (``audit.services.record_many``). All or nothing: if any record's patient is not a synthetic
    demo patient, the ValueError of :func:`_demo_patient` is raised and nothing is written. Of each instance only
    its kind and key are read (an instance holding its key alone will do). Returns how many records were sealed."""
    from django.db import transaction

    from ketaclinic.audit.actions import AuditAction
    from ketaclinic.audit.models import RecordSeal
    from ketaclinic.audit.services import Item, record_many

    _discover()
    wanted = [(instance._meta.label, str(instance.pk)) for instance in instances]
    by_kind: dict[str, list[str]] = {}
    for label, pk in wanted:
        by_kind.setdefault(label, []).append(pk)
    read: dict[tuple[str, str], models.Model] = {}
    for label, pks in by_kind.items():
        model = apps.get_model(label)
        for chunk in batched(pks, _CHUNK):
            found = _read(model, _KINDS[label], chunk, _patient_path(model))
            read.update(((label, pk), row) for pk, row in found.items())
    items, seals = [], []
    for key in wanted:
        row = read.get(key)
        if row is None:  # as content_hash refuses a record that is not in the database
            raise apps.get_model(key[0]).DoesNotExist(f"{key[0]} {key[1]} does not exist.")
        patient = _demo_patient(row)  # refused before any hash is taken or anything written
        digest = _hash_of(row)
        items.append(Item(subject=row, patient=patient,
                          details={"seal": {"record": key[0], "pk": row.pk, "hash": digest}}))
        seals.append(RecordSeal(record=key[0], record_pk=key[1], hash=digest))
    with transaction.atomic():
        entries = record_many(actor, AuditAction.DEMO_HISTORY_SEALED, items)
        for seal, entry in zip(seals, entries, strict=True):
            seal.entry = entry
        RecordSeal.objects.bulk_create(seals, batch_size=1000)
    return len(seals)


def backdate_demo_record(actor, instance: models.Model, **fields: object) -> None:
    """The demo loader's one way to move a signed synthetic record's times into the past (the services sign at
    "now"): only fields ending in ``_at`` are written, the record's own patient must be a synthetic demo patient,
    and the record is sealed again in an audit entry that says so."""
    from ketaclinic.audit.actions import AuditAction

    patient = _demo_patient(instance)
    if not fields or not all(name.endswith("_at") for name in fields):
        raise ValueError("Only the times of a demo record (fields ending in _at) are back-dated.")
    require_intact(instance)
    type(instance)._default_manager.filter(pk=instance.pk).update(**fields)
    record(actor, AuditAction.DEMO_RECORD_BACKDATED, instance, patient=patient,
           details={"fields": {k: str(v) for k, v in fields.items()}})


#: Records checked (or sealed) together by verify_records and seal_demo_history_many (one read of them and one of
#: each kind of row they cover).
_CHUNK = 500


def _read(model: type[models.Model], kind: Kind, pks: Iterable[object], *also: str) -> dict[str, models.Model]:
    """Records of one kind by their key (as text), read afresh with the rows their content covers (``prefetch``)
    and any related rows ``also`` names, in one query of the records and one of each kind of row."""
    return {str(pk): row for pk, row in model._default_manager.prefetch_related(*kind.prefetch, *also)
            .in_bulk([model._meta.pk.to_python(pk) for pk in pks]).items()}


@dataclass(frozen=True)
class Mismatch:
    record: str
    pk: object
    signed_at: str
    reason: str


def _unsealed(label: str, kind: Kind) -> Iterator[object]:
    """Keys of the records of a kind that say they are signed (``signed``) but have no seal, found by the database
    (an anti-join on the seal index), streamed."""
    from ketaclinic.audit.models import RecordSeal

    signed = apps.get_model(label)._default_manager.filter(**kind.signed).order_by("pk")
    sealed = RecordSeal.objects.filter(record=label, record_pk=OuterRef("pk_text"))  # an integer key's text: register
    yield from (signed.annotate(pk_text=Cast("pk", models.CharField())).filter(~Exists(sealed))
                .values_list("pk", flat=True).iterator())


def verify_records() -> tuple[int, list[Mismatch]]:
    """Check every signed record (see the module); return how many were checked and what does not match. The audit
    chain is verified by the caller first (``verify_records`` command); this checks the seals themselves.

    It holds a chunk of records at a time, never the whole index (a network of clinics has millions of seals): the
    seals are streamed against their entries, the newest seal of each record is found by the database (no newer
    seal of the same record; index ``seal_record_newest``), kind by kind, and a record that says it is signed but has
    no seal is found by the database too."""
    from ketaclinic.audit.models import RecordSeal

    _discover()
    problems: list[Mismatch] = []
    for label, pk, hash_, details, at in (RecordSeal.objects.order_by("id")
                                          .values_list("record", "record_pk", "hash", "entry__details", "entry__at")
                                          .iterator(chunk_size=2000)):
        in_entry = (details or {}).get("seal") or {}
        if (in_entry.get("record"), str(in_entry.get("pk")), in_entry.get("hash")) != (label, pk, hash_):
            problems.append(Mismatch(label, pk, at.isoformat(), "the seal index does not match the audit trail's entry"))
    newer = RecordSeal.objects.filter(record=OuterRef("record"), record_pk=OuterRef("record_pk"), id__gt=OuterRef("id"))
    newest = RecordSeal.objects.filter(~Exists(newer)).order_by("id").values_list("record_pk", "hash", "entry__at")
    checked = 0
    for label in RecordSeal.objects.order_by("record").values_list("record", flat=True).distinct():
        seals = newest.filter(record=label).iterator(chunk_size=_CHUNK * 4)
        try:
            model = apps.get_model(label)
            kind = _KINDS[label]
        except (LookupError, ValueError, KeyError):
            for pk, _hash, at in seals:
                checked += 1
                problems.append(Mismatch(label, pk, at.isoformat(), "the sealed record's kind is unknown"))
            continue
        for chunk in batched(seals, _CHUNK):  # a chunk of records and the rows they cover at a time
            checked += len(chunk)
            found = _read(model, kind, [pk for pk, _hash, _at in chunk])
            for pk, hash_, at in chunk:
                row = found.get(pk)
                if row is None:
                    problems.append(Mismatch(label, pk, at.isoformat(), "the signed record is gone"))
                elif _hash_of(row) != hash_:
                    problems.append(Mismatch(label, pk, at.isoformat(), "the record no longer holds what was signed"))
    for label, kind in _KINDS.items():
        problems += [Mismatch(label, pk, "", "it says it is signed, but no signature sealed it")
                     for pk in _unsealed(label, kind)]
    return checked, problems
