"""Dispensing for a treatment session: what may be drawn from which container, the draw itself, each draw's
balance (drawn, administered, wasted), and posting the administration the session record says was given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Bucket, Container, LedgerEntry, Product, StorageLocation
from ketaclinic.custody.services.common import (
    HANDLERS,
    ZERO,
    CustodyError,
    _dec,
    _require,
    parse_quantity,
    use_case,
    whole_device_problem,
)
from ketaclinic.custody.services.ledger import _lock_container, _post
from ketaclinic.treatments.models import TreatmentSession


def container_problems(container: Container, session: TreatmentSession | None, clinic: Clinic,
                       now: datetime | None = None) -> list[str]:
    """Why this container may not be drawn from now (empty list when it may)."""
    now = now or timezone.now()
    limits = clinic.limits()
    product = container.lot.product
    problems = []
    if container.balance <= 0:
        problems.append(f"{container.label} is empty.")
    if rules.is_expired(container.lot.expiry, now.astimezone(clinic.tz).date()):
        problems.append(f"Lot {container.lot.lot_number} expired on {container.lot.expiry:%Y-%m-%d}.")
    bud = rules.beyond_use_at(container.opened_at, int(limits["custody.opened_vial_beyond_use_hours"]))
    if product.form == Product.Form.VIAL and bud is not None and now > bud:
        problems.append(f"{container.label} was opened {container.opened_at.astimezone(clinic.tz):%Y-%m-%d %H:%M}"
                        f" and is past its beyond-use time ({bud.astimezone(clinic.tz):%Y-%m-%d %H:%M}).")
    if session is not None:
        if session.drug != product.drug:
            problems.append(f"The session is for {session.get_drug_display()}, this container holds "
                            f"{product.get_drug_display()}.")
        if not location_serves(container.location, session):
            room = session.room.name if session.room_id else "no room"
            problems.append(f"{container.label} is kept in {container.location.name}, which does not supply "
                            f"the session's room ({room}).")
    return problems


def location_serves(location: StorageLocation, session: TreatmentSession) -> bool:
    """A store supplies the rooms listed on it; a store with no rooms listed supplies all rooms of its clinic."""
    room_ids = {r.pk for r in location.rooms.all()}
    if not room_ids:
        return session.room_id is None or session.room.clinic_id == location.clinic_id
    return session.room_id in room_ids


def preparation_mismatch(session: TreatmentSession, container: Container) -> list[str]:
    """A draw comes from a vial of the strength the dose was calculated and verified for. (That the prepared lot
    is among the session's draws is checked when the account is closed: :func:`ketaclinic.clinical.custody.
    session_account_problems`; a dose that needs a second vial may take it from another lot.)"""
    product = container.lot.product
    problems = []
    if (product.form == Product.Form.VIAL and session.concentration_mg_per_mL is not None
            and product.strength_mg_per_mL != session.concentration_mg_per_mL):
        problems.append(f"The dose was calculated for {session.concentration_mg_per_mL.normalize():f} mg/mL; "
                        f"{container.label} holds {product.strength_mg_per_mL.normalize():f} mg/mL. Draw from a "
                        "vial of the prepared strength, or prepare the dose again.")
    return problems


def signed_before(session: TreatmentSession, at: datetime) -> str:
    """Why nothing may be added to the session's drug account at ``at`` ('' when it may): once the nurse has
    signed the note, the account it was signed on is closed; a correction is a reversal and an addendum."""
    if session.nurse_signed_at is not None and at >= session.nurse_signed_at:
        return ("The session's note is signed: its drug account is closed. Correct it by reversing the entry "
                "(compliance) and adding an addendum to the note.")
    return ""


def session_problems(session: TreatmentSession, at: datetime | None = None) -> list[str]:
    problems = [p for p in [signed_before(session, at or timezone.now())] if p]
    if session.status in (TreatmentSession.Status.CANCELLED, TreatmentSession.Status.NO_SHOW):
        problems.append(f"The session is {session.get_status_display().lower()}.")
    if session.prepared_dose_mg is None or session.verified_at is None:
        problems.append("The session's dose has not been prepared and independently verified yet.")
    return problems


@use_case
def draw(actor: Actor, *, container: Container, session: TreatmentSession, quantity, clinic: Clinic | None = None,
         now: datetime | None = None) -> LedgerEntry:
    """Draw from a vial (mL) or take a device for a session whose dose has been verified."""
    _require(actor, HANDLERS, "draw controlled substances")
    clinic = clinic or current_clinic()
    now = now or timezone.now()
    quantity = parse_quantity(quantity)
    session = (TreatmentSession.objects.select_for_update(of=("self",)).select_related("room", "patient")
               .get(pk=session.pk))
    container = _lock_container(container)
    product = container.lot.product
    problems = session_problems(session, now) + container_problems(container, session, clinic, now)
    problems += preparation_mismatch(session, container)
    if whole := whole_device_problem(container, quantity):
        problems.append(whole)
    if quantity > container.balance and container.balance > 0:
        problems.append(f"{quantity} {product.unit} is more than the {container.balance} {product.unit} that "
                        f"remain in {container.label}.")
    if problems:
        raise CustodyError({"quantity": " ".join(problems)})
    if container.opened_at is None:
        Container.objects.filter(pk=container.pk).update(opened_at=now)
        container.opened_at = now
    entry = _post(actor, kind=LedgerEntry.Kind.DRAW, container=container, quantity=quantity, session=session,
                  at=now, details={"prepared_dose_mg": str(session.prepared_dose_mg),
                                   "verified_by": session.verified_by_id,
                                   "verified_at": session.verified_at.isoformat(),
                                   "remaining_after": str(container.balance - quantity)})
    audit.record(actor, AuditAction.CUSTODY_DRAW, subject=entry, patient=session.patient, details={
        "container": container.label, "quantity": str(quantity), "unit": product.unit, "mg": str(entry.mg),
        "session": str(session.external_id), "remaining": str(container.balance)})
    return entry



@dataclass(frozen=True)
class DrawBalance:
    entry: LedgerEntry
    drawn: Decimal
    administered: Decimal
    wasted: Decimal

    @property
    def residue(self) -> Decimal:
        return self.drawn - self.administered - self.wasted


def session_draws(session: TreatmentSession) -> list[DrawBalance]:
    """Each live draw of the session with what has been administered and wasted from it (two queries; one when
    nothing was drawn, as on every cockpit before the dose is prepared)."""
    draws = list(LedgerEntry.objects.filter(session=session, kind=LedgerEntry.Kind.DRAW, reversed_by__isnull=True)
                 .select_related("container__lot__product").order_by("seq"))
    if not draws:
        return []
    used = (LedgerEntry.objects.filter(source__in=draws, bucket__in=[Bucket.ADMINISTERED, Bucket.WASTED])
            .values("source_id", "bucket").annotate(total=Sum("quantity")))
    totals = {(u["source_id"], u["bucket"]): _dec(u["total"]) for u in used}
    return [DrawBalance(d, d.quantity, totals.get((d.pk, Bucket.ADMINISTERED), ZERO),
                        totals.get((d.pk, Bucket.WASTED), ZERO)) for d in draws]


def administered_quantity(session: TreatmentSession, product: Product) -> Decimal:
    """The session's administered mg in the product's unit (mL or devices), to 0.01."""
    return rules.q2(Decimal(session.administered_mg) / product.mg_per_unit)


@use_case
def record_administration(actor: Actor, session: TreatmentSession, at: datetime | None = None) -> list[LedgerEntry]:
    """Post what the session record says was given, against the session's draws (first drawn, first used)."""
    _require(actor, HANDLERS, "record administration")
    session = TreatmentSession.objects.select_for_update(of=("self",)).select_related("patient", "administered_by").get(pk=session.pk)
    if session.administered_mg is None:
        raise CustodyError({"__all__": "The session has no administered dose recorded yet."})
    closed = signed_before(session, at or timezone.now())
    if closed:
        raise CustodyError({"__all__": closed})
    draws = session_draws(session)
    if not draws:
        raise CustodyError({"__all__": "Nothing was drawn for this session."})
    if any(d.administered for d in draws):
        raise CustodyError({"__all__": "Administration is already recorded for this session."})
    product = draws[0].entry.container.lot.product
    remaining = administered_quantity(session, product)
    available = sum((d.residue for d in draws), ZERO)
    if remaining > available:
        raise CustodyError({"__all__": f"The session records {session.administered_mg} mg given "
                            f"({remaining} {product.unit}) but only {available} {product.unit} were drawn and not "
                            "wasted. Record the missing draw first."})
    entries = []
    for d in draws:
        take = min(d.residue, remaining)
        if take <= 0:
            continue
        container = _lock_container(d.entry.container_id)
        entries.append(_post(actor, kind=LedgerEntry.Kind.ADMINISTER, container=container, quantity=take,
                             session=session, source=d.entry, at=at, details={
                                 "administered_by": session.administered_by_id,
                                 "administered_by_label": session.administered_by.label if session.administered_by else "",
                                 "administered_mg": str(session.administered_mg)}))
        remaining -= take
    audit.record(actor, AuditAction.CUSTODY_ADMINISTRATION_RECORDED, subject=session, patient=session.patient,
                 details={"administered_mg": str(session.administered_mg), "entries": [e.seq for e in entries]})
    return entries
