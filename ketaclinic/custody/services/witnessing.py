"""Waste of a session's residue and the witnesses' attestations: a waste (or a destruction, see
``destruction.py``) waits as a pending event until enough witnesses, each on their own sign-in, have re-entered the
amount; then it posts to the ledger. The person who recorded it, or the compliance lead, may withdraw it."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Attestation, LedgerEntry, PendingEvent
from ketaclinic.custody.services.common import (
    COMPLIANCE,
    DESTRUCTION_WITNESSES_ROLES,
    HANDLERS,
    LICENSED_WITNESSES,
    ZERO,
    CustodyError,
    _dec,
    _require,
    parse_quantity,
    use_case,
)
from ketaclinic.custody.services.destruction import form41_details
from ketaclinic.custody.services.dispensing import session_draws, signed_before
from ketaclinic.custody.services.ledger import _lock_container, _post
from ketaclinic.treatments.models import TreatmentSession

#: The audit actions of a pending waste or destruction, by kind: witnessed, posted to the ledger, withdrawn.
WITNESSED = {PendingEvent.Kind.WASTE: AuditAction.CUSTODY_WASTE_WITNESSED,
             PendingEvent.Kind.DESTROY: AuditAction.CUSTODY_DESTROY_WITNESSED}
POSTED = {PendingEvent.Kind.WASTE: AuditAction.CUSTODY_WASTE_POSTED,
          PendingEvent.Kind.DESTROY: AuditAction.CUSTODY_DESTROY_POSTED}
WITHDRAWN = {PendingEvent.Kind.WASTE: AuditAction.CUSTODY_WASTE_WITHDRAWN,
             PendingEvent.Kind.DESTROY: AuditAction.CUSTODY_DESTROY_WITHDRAWN}

@use_case
def request_waste(actor: Actor, *, session: TreatmentSession, quantity, method: str,
                  clinic: Clinic | None = None, at: datetime | None = None) -> PendingEvent:
    """The clinician records the residue left after administration; it posts once witnessed."""
    _require(actor, HANDLERS, "waste controlled substances")
    clinic = clinic or current_clinic()
    quantity = parse_quantity(quantity)
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    closed = signed_before(session, at or timezone.now())
    if closed:
        raise CustodyError({"quantity": closed})
    errors = {}
    if not method.strip():
        errors["method"] = "Say how it was wasted (e.g. 'expelled into drug-disposal container')."
    draws = session_draws(session)
    if not draws:
        errors["quantity"] = "Nothing was drawn for this session."
    elif session.administered_mg is not None and not any(d.administered for d in draws):
        errors["quantity"] = "Record the administration first; waste is the residue after administration."
    pending = _dec(PendingEvent.objects.filter(session=session, kind=PendingEvent.Kind.WASTE,
                                               status=PendingEvent.Status.PENDING).aggregate(t=Sum("quantity"))["t"])
    residue = sum((d.residue for d in draws), ZERO) - pending
    if draws and quantity > residue:
        unit = draws[0].entry.container.lot.product.unit
        errors["quantity"] = f"Only {residue} {unit} drawn for this session is not yet administered or wasted."
    if errors:
        raise CustodyError(errors)
    required = rules.waste_witnesses_required(int(clinic.limits()["custody.waste_witness_count"]))
    event = PendingEvent.objects.create(kind=PendingEvent.Kind.WASTE, session=session, quantity=quantity,
                                        method=method.strip(), witnesses_required=required, requested_by=actor.user)
    audit.record(actor, AuditAction.CUSTODY_WASTE_REQUESTED, subject=event, patient=session.patient,
                 details={"quantity": str(quantity), "method": event.method, "witnesses_required": required})
    if required == 0:
        _post_event(actor, event, [])
    return event



@use_case
def attest(actor: Actor, event: PendingEvent, quantity_entered, at: datetime | None = None) -> PendingEvent:
    """A witness, signed in on their own session, confirms by re-entering the quantity."""
    event = PendingEvent.objects.select_for_update(of=("self",)).select_related("session").get(pk=event.pk)
    roles = LICENSED_WITNESSES if event.kind == PendingEvent.Kind.WASTE else DESTRUCTION_WITNESSES_ROLES
    _require(actor, roles, "witness this")
    if event.status != PendingEvent.Status.PENDING:
        raise CustodyError({"__all__": "This has already been witnessed or withdrawn."})
    if actor.user_id == event.requested_by_id:
        raise CustodyError({"__all__": "The witness must be a second person, not the one who recorded it."})
    if event.session_id and actor.user_id in (event.session.administered_by_id,):
        raise CustodyError({"__all__": "The witness may not be the clinician who administered the dose."})
    if event.attestations.filter(witness_id=actor.user_id).exists():
        raise CustodyError({"__all__": "You have already witnessed this."})
    entered = parse_quantity(quantity_entered, "quantity_entered")
    if entered != event.quantity:
        raise CustodyError({"quantity_entered": "The amount you entered does not match the amount recorded. Check "
                                                "it together before signing."})
    Attestation.objects.create(event=event, witness=actor.user, quantity_entered=entered)
    audit.record(actor, WITNESSED[event.kind], subject=event,
                 patient=event.session.patient if event.session_id else None,
                 details={"quantity": str(entered)})
    witnesses = [a.witness for a in event.attestations.select_related("witness").order_by("at", "pk")]
    if len(witnesses) >= event.witnesses_required:
        _post_event(actor, event, witnesses, at)
    return event


def _post_event(actor: Actor, event: PendingEvent, witnesses: list, at: datetime | None = None) -> list[LedgerEntry]:
    w1 = witnesses[0] if witnesses else None
    w2 = witnesses[1] if len(witnesses) > 1 else None
    recorder = Actor.for_user(event.requested_by, client_ip=actor.client_ip)
    entries: list[LedgerEntry] = []
    if event.kind == PendingEvent.Kind.WASTE:
        session = event.session
        remaining = event.quantity
        for d in session_draws(session):
            take = min(d.residue, remaining)
            if take <= 0:
                continue
            container = _lock_container(d.entry.container_id)
            entries.append(_post(recorder, kind=LedgerEntry.Kind.WASTE, container=container, quantity=take,
                                 session=session, source=d.entry, witness=w1, witness2=w2, at=at,
                                 details={"method": event.method, "event": str(event.external_id)}))
            remaining -= take
        if remaining > 0:
            raise CustodyError({"quantity": "The residue changed while waiting for the witness; record it again."})
    else:
        container = _lock_container(event.container_id)
        entries.append(_post(recorder, kind=LedgerEntry.Kind.DESTROY, container=container, quantity=event.quantity,
                             witness=w1, witness2=w2, at=at, details=form41_details(container, event, witnesses)))
    event.status = PendingEvent.Status.POSTED
    event.posted_at = at or timezone.now()
    event.save(update_fields=["status", "posted_at"])
    audit.record(actor, POSTED[event.kind], subject=event,
                 patient=event.session.patient if event.session_id else None,
                 details={"entries": [e.seq for e in entries], "witnesses": [w.username for w in witnesses]})
    return entries



@use_case
def withdraw_event(actor: Actor, event: PendingEvent, reason: str) -> PendingEvent:
    event = PendingEvent.objects.select_for_update().get(pk=event.pk)
    if event.status != PendingEvent.Status.PENDING:
        raise CustodyError({"__all__": "Only a pending record can be withdrawn."})
    if actor.user_id != event.requested_by_id and not (actor.roles & COMPLIANCE):
        raise CustodyError({"__all__": "Only the person who recorded it or the compliance lead may withdraw it."})
    if not reason.strip():
        raise CustodyError({"reason": "Give a reason."})
    event.status = PendingEvent.Status.WITHDRAWN
    event.save(update_fields=["status"])
    audit.record(actor, WITHDRAWN[event.kind], subject=event, details={"reason": reason.strip()})
    return event
