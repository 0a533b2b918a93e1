"""The custody ledger: append one hash-chained entry (and keep the container's cached balance), lock a container,
verify the chain, and correct a wrong entry with a reversing one (the original stays, marked reversed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from ketaclinic.audit import chain
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import ChainHead
from ketaclinic.audit.services import Actor, lock_chain
from ketaclinic.clinic.models import current_clinic_id
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import CONTAINER_EFFECT, Container, LedgerEntry, StorageLocation
from ketaclinic.custody.services.common import CHAIN, COMPLIANCE, CustodyError, _jsonable, _require, use_case
from ketaclinic.treatments.models import TreatmentSession


def _post(
    actor: Actor, *, kind: str, container: Container, quantity: Decimal, bucket: str | None = None,
    witness=None, witness2=None, session: TreatmentSession | None = None, source: LedgerEntry | None = None,
    reverses: LedgerEntry | None = None, reason: str = "", details: Mapping[str, object] | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Append one entry and update the container's cached balance. The caller holds the container's row lock."""
    bucket = bucket or LedgerEntry.KIND_BUCKET[kind]
    product = container.lot.product
    quantity = rules.q2(quantity)
    effect = CONTAINER_EFFECT[bucket] * quantity
    new_balance = container.balance + effect
    if new_balance < 0:
        raise CustodyError({"quantity": f"Only {container.balance} {product.unit} remain in {container.label}."})
    head = lock_chain(CHAIN)
    entry = LedgerEntry(
        seq=head.last_seq + 1, at=at or timezone.now(), kind=kind, bucket=bucket, container=container,
        lot_id=container.lot_id, quantity=quantity, mg=rules.q2(quantity * product.mg_per_unit),
        actor=actor.user if actor.user_id else None, actor_label=actor.label, witness=witness, witness2=witness2,
        session=session, patient_id=session.patient_id if session else None, source=source, reverses=reverses,
        reason=reason, details=_jsonable(details or {}), prev_hash=head.last_hash,
    )
    entry.hash = chain.entry_hash(head.last_hash, entry.content(), settings.CHAIN_KEY)
    entry.save()
    ChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
    if effect:
        Container.objects.filter(pk=container.pk).update(balance=new_balance)
        container.balance = new_balance
    return entry


def held_here(location: StorageLocation, field: str = "location") -> None:
    """Refuse a store of another clinic than the one acting now: its stock is under that clinic's DEA
    registration, received, counted and handled only there."""
    if location.clinic_id != current_clinic_id():
        raise CustodyError({field: f"{location.name} is a store of another clinic, held under its own DEA "
                                   "registration: its stock is received, counted and handled only there."})


def _lock_container(container: Container | int) -> Container:
    """The container, locked, if it is stock of the clinic acting now: each clinic of a network holds its stock
    under its own DEA registration, so no one at one clinic draws, wastes, counts or reports another's."""
    pk = container.pk if isinstance(container, Container) else container
    locked = Container.objects.select_for_update(of=("self",)).select_related("lot__product", "location").get(pk=pk)
    if locked.location.clinic_id != current_clinic_id():
        raise CustodyError({"container": f"{locked.label} is stock of another clinic, held under its own DEA "
                                         "registration: it is handled only there."})
    return locked


def verify_ledger() -> chain.ChainBreak | None:
    """Recompute the custody ledger's hash chain; return the first break or None."""
    head = ChainHead.objects.filter(name=CHAIN).first()
    rows = LedgerEntry.objects.order_by("seq").iterator(chunk_size=2000)
    return chain.verify(((e.seq, e.prev_hash, e.hash, e.content()) for e in rows),
                        expected_last_seq=head.last_seq if head else 0, key=settings.CHAIN_KEY)



@use_case
def reverse_entry(actor: Actor, entry: LedgerEntry, reason: str) -> LedgerEntry:
    """Correct a wrong entry with a reversing entry (the original stays, marked reversed)."""
    _require(actor, COMPLIANCE, "reverse a ledger entry")
    if len(reason.strip()) < 10:
        raise CustodyError({"reason": "Explain the correction (at least a sentence)."})
    container = _lock_container(entry.container_id)
    entry = LedgerEntry.objects.get(pk=entry.pk)
    if entry.kind == LedgerEntry.Kind.REVERSAL:
        raise CustodyError({"__all__": "A reversal cannot itself be reversed; post a new entry instead."})
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise CustodyError({"__all__": "This entry has already been reversed."})
    if entry.kind == LedgerEntry.Kind.DRAW and entry.uses.filter(reversed_by__isnull=True).exists():
        raise CustodyError({"__all__": "Reverse the administration and waste recorded against this draw first."})
    if entry.kind == LedgerEntry.Kind.RECEIVE and LedgerEntry.objects.filter(
            container=container).exclude(pk=entry.pk).exclude(kind=LedgerEntry.Kind.REVERSAL).filter(
            reversed_by__isnull=True).exists():
        raise CustodyError({"__all__": "Stock from this receipt has been used; reverse those entries first."})
    reversal = _post(actor, kind=LedgerEntry.Kind.REVERSAL, bucket=entry.bucket, container=container,
                     quantity=-entry.quantity, session=entry.session, source=entry.source, reverses=entry,
                     reason=reason.strip(), details={"reverses_seq": entry.seq, "reverses_kind": entry.kind})
    audit.record(actor, AuditAction.CUSTODY_ENTRY_REVERSED, subject=reversal, patient=entry.patient,
                 details={"reverses": entry.seq, "reason": reversal.reason})
    return reversal
