"""Custody use cases. Each validates, locks what it changes, appends to the ledger and writes the audit trail
in one transaction.

Lock order, everywhere: container rows (by primary key) -> the "custody" chain head -> the audit chain head.
A draw locks its container with SELECT ... FOR UPDATE, so two nurses drawing from one vial at the same moment
are serialised: the second sees the first's balance and is refused if too little remains.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models import Count as CountAgg
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import chain
from ketaclinic.audit import services as audit
from ketaclinic.audit.models import ChainHead
from ketaclinic.audit.services import Actor, lock_chain
from ketaclinic.clinic.models import Clinic, current_clinic, next_number
from ketaclinic.clinical import custody as rules
from ketaclinic.clinical.identifiers import check_dea_number
from ketaclinic.custody.models import (
    CONTAINER_EFFECT,
    Attestation,
    Bucket,
    Container,
    Count,
    CountLine,
    Incident,
    LedgerEntry,
    LossReport,
    Lot,
    PendingEvent,
    Product,
    Receipt,
    StorageLocation,
    Supplier,
)
from ketaclinic.inputs import plain_decimal
from ketaclinic.treatments.models import TreatmentSession

CHAIN = "custody"
ZERO = Decimal("0.00")

# Who may do what (the services check again what ketaclinic/access.py checks per page).
HANDLERS = frozenset({Role.PRESCRIBER, Role.NURSE})  # receive, draw, waste, count; countersign, witness
LICENSED_WITNESSES = HANDLERS  # waste witnesses: licensed staff (clinical.md §6 'Wastage' row)
DESTRUCTION_WITNESSES_ROLES = frozenset({Role.PRESCRIBER, Role.NURSE, Role.COMPLIANCE})
DISPOSERS = frozenset({Role.PRESCRIBER, Role.NURSE, Role.COMPLIANCE})  # destruction, loss reports
RETURNERS = frozenset({Role.PRESCRIBER, Role.COMPLIANCE})
INVENTORY_TAKERS = frozenset({Role.PRESCRIBER, Role.NURSE, Role.COMPLIANCE})
SETUP = frozenset({Role.CLINIC_ADMIN})
COMPLIANCE = frozenset({Role.COMPLIANCE})


class CustodyError(ValueError):
    """Refused custody input; ``errors`` maps a field name to a message a nurse can act on."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _require(actor: Actor, roles: frozenset[str], what: str) -> None:
    if actor.user is None or not (actor.roles & roles):
        allowed = ", ".join(sorted(Role(r).label for r in roles))
        raise CustodyError({"__all__": f"Your role may not {what}. Allowed: {allowed}."})


def _jsonable(data: Mapping[str, object]) -> dict:
    return json.loads(json.dumps(dict(data), default=str))


# The one quantity parser of every custody form and service (draw, waste, witness, destruction, loss, return,
# count, product set-up). Input sanity only, not a clinical number: the ceiling fits the ledger's columns
# (7 digits, 2 decimals) and is far above any real vial, device or count.
MAX_QUANTITY = Decimal("99999.99")
MAX_UNITS_PER_PACKAGE = 1000


def parse_quantity(raw: object, field: str = "quantity", *, allow_zero: bool = False,
                   maximum: Decimal | None = None, unit: str = "") -> Decimal:
    """A finite quantity, greater than zero (or zero when ``allow_zero``), at most two decimals (0.01 mL
    resolution) and at most ``maximum`` (never above ``MAX_QUANTITY``).

    Plain decimal notation only: NaN, Infinity, exponents ("1e30") and anything else is refused with a
    ``CustodyError`` naming ``field``, never an exception that would end in a server error.
    """
    if isinstance(raw, bool):
        raise CustodyError({field: "Enter a number."})
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    else:
        text = str(raw if raw is not None else "").strip()
        if not text:
            raise CustodyError({field: "Enter an amount." if not allow_zero else "Enter an amount (0 if none)."})
        parsed = plain_decimal(text)
        if parsed is None:
            raise CustodyError({field: f"\u201c{text[:20]}\u201d is not a number; enter digits like 2.5."})
        value = parsed
    if not value.is_finite():
        raise CustodyError({field: "Enter a number."})
    suffix = f" {unit}" if unit else ""
    if value < 0 or (value == 0 and not allow_zero):
        raise CustodyError({field: "Enter 0 or more." if allow_zero else "Enter an amount greater than zero."})
    ceiling = MAX_QUANTITY if maximum is None else min(maximum, MAX_QUANTITY)
    if value > ceiling:
        raise CustodyError({field: f"{value:f}{suffix} is more than the most accepted here "
                                   f"({ceiling}{suffix}); check the amount."})
    if value != rules.q2(value):
        raise CustodyError({field: "Use at most two decimal places (0.01)."})
    return rules.q2(value)


def _dec(value) -> Decimal:
    """An aggregate as an exact 0.01 Decimal (SQLite sums decimals in floating point)."""
    return ZERO if value is None else rules.q2(value)


def settings_for(clinic: Clinic | None = None) -> dict:
    return (clinic or current_clinic()).limits()


# --------------------------------------------------------------------------------------------- the ledger
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
    entry.hash = chain.entry_hash(head.last_hash, entry.content())
    entry.save()
    ChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
    if effect:
        Container.objects.filter(pk=container.pk).update(balance=new_balance)
        container.balance = new_balance
    return entry


def _lock_container(container: Container | int) -> Container:
    pk = container.pk if isinstance(container, Container) else container
    return Container.objects.select_for_update(of=("self",)).select_related("lot__product", "location").get(pk=pk)


def verify_ledger() -> chain.ChainBreak | None:
    """Recompute the custody ledger's hash chain; return the first break or None."""
    head = ChainHead.objects.filter(name=CHAIN).first()
    rows = LedgerEntry.objects.order_by("seq").iterator(chunk_size=2000)
    return chain.verify(((e.seq, e.prev_hash, e.hash, e.content()) for e in rows),
                        expected_last_seq=head.last_seq if head else 0)


# --------------------------------------------------------------------------------------------- set-up
@transaction.atomic
def add_supplier(actor: Actor, *, name: str, address: str, dea_number: str,
                 kind: str = Supplier.Kind.DISTRIBUTOR) -> Supplier:
    _require(actor, SETUP, "manage suppliers")
    errors = {}
    if not name.strip():
        errors["name"] = "Enter the supplier's name."
    if not address.strip():
        errors["address"] = "Enter the supplier's address (21 CFR 1304.22(c)(3))."
    dea = "".join(dea_number.split()).upper()
    result = check_dea_number(dea)
    if not result.valid:
        errors["dea_number"] = "; ".join(result.problems)
    if errors:
        raise CustodyError(errors)
    supplier = Supplier.objects.create(name=name.strip(), address=address.strip(), dea_number=dea, kind=kind)
    audit.record(actor, "custody.supplier.added", subject=supplier, details={"name": supplier.name, "dea": dea})
    return supplier


@transaction.atomic
def add_product(actor: Actor, *, ndc: str, name: str, drug: str, form: str, strength_mg_per_mL=None,
                container_volume_mL=None, device_mg=None, units_per_package: int = 1) -> Product:
    _require(actor, SETUP, "manage products")
    errors: dict[str, str] = {}
    ndc = ndc.strip()
    digits = ndc.replace("-", "")
    if not digits.isdigit() or len(digits) not in (10, 11):
        errors["ndc"] = "An NDC has 10 or 11 digits (e.g. 50458-028-02)."
    elif Product.objects.filter(ndc=ndc).exists():
        errors["ndc"] = "A product with this NDC already exists."
    if not name.strip():
        errors["name"] = "Enter the product name."
    if form == Product.Form.VIAL:
        strength_mg_per_mL = _positive(strength_mg_per_mL, "strength_mg_per_mL", errors)
        container_volume_mL = _positive(container_volume_mL, "container_volume_mL", errors)
        maximum = Decimal(str(settings_for()["dosing.max_concentration_mg_per_mL"]))
        if strength_mg_per_mL and strength_mg_per_mL > maximum:
            errors["strength_mg_per_mL"] = f"Above the highest accepted concentration ({maximum} mg/mL)."
        device_mg = None
    elif form == Product.Form.DEVICE:
        device_mg = _positive(device_mg, "device_mg", errors)
        strength_mg_per_mL = container_volume_mL = None
    else:
        errors["form"] = "Choose vial or device."
    if not 1 <= units_per_package <= MAX_UNITS_PER_PACKAGE:
        errors["units_per_package"] = f"Between 1 and {MAX_UNITS_PER_PACKAGE} vials or devices per package."
    if errors:
        raise CustodyError(errors)
    product = Product.objects.create(
        ndc=ndc, name=name.strip(), drug=drug, form=form, strength_mg_per_mL=strength_mg_per_mL,
        container_volume_mL=container_volume_mL, device_mg=device_mg, units_per_package=units_per_package,
        dea_schedule=rules.DEA_SCHEDULE, dea_drug_code=rules.DEA_DRUG_CODE,
    )
    audit.record(actor, "custody.product.added", subject=product, details={"ndc": ndc, "name": product.name})
    return product


def _positive(raw, field: str, errors: dict) -> Decimal | None:
    try:
        return parse_quantity(raw, field)
    except CustodyError as e:
        errors.update(e.errors)
        return None


@transaction.atomic
def add_location(actor: Actor, *, clinic: Clinic, name: str, rooms: Iterable = ()) -> StorageLocation:
    _require(actor, SETUP, "manage storage locations")
    if not name.strip():
        raise CustodyError({"name": "Name the store (e.g. 'Main safe')."})
    if StorageLocation.objects.filter(clinic=clinic, name=name.strip()).exists():
        raise CustodyError({"name": "A store with this name already exists."})
    location = StorageLocation.objects.create(clinic=clinic, name=name.strip())
    location.rooms.set(list(rooms))
    audit.record(actor, "custody.location.added", subject=location,
                 details={"name": location.name, "rooms": [r.name for r in location.rooms.all()]})
    return location


# --------------------------------------------------------------------------------------------- receiving
@transaction.atomic
def enter_receipt(actor: Actor, *, supplier: Supplier, invoice_number: str, invoice_date: date, received_on: date,
                  product: Product, lot_number: str, expiry: date, packages: int,
                  location: StorageLocation) -> Receipt:
    """Step 1 of receiving: one authorised person enters the invoice; stock counts once countersigned."""
    _require(actor, HANDLERS, "receive controlled substances")
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if supplier.kind != Supplier.Kind.DISTRIBUTOR or not supplier.active:
        errors["supplier"] = "Choose an active supplier."
    elif not check_dea_number(supplier.dea_number).valid:
        errors["supplier"] = "The supplier's DEA number fails its check digit; correct the supplier first."
    if not invoice_number.strip():
        errors["invoice_number"] = "Enter the invoice number."
    if invoice_date > today:
        errors["invoice_date"] = "The invoice date is in the future."
    if received_on > today:
        errors["received_on"] = "The date received is in the future."
    elif received_on < invoice_date:
        errors["received_on"] = "Received before the invoice date; check both dates."
    if not lot_number.strip():
        errors["lot_number"] = "Enter the lot number printed on the package."
    if rules.is_expired(expiry, received_on):
        errors["expiry"] = "This lot had expired when received; do not accept it into stock."
    existing = Lot.objects.filter(product=product, lot_number=lot_number.strip()).first()
    if existing and existing.expiry != expiry:
        errors["expiry"] = f"Lot {existing.lot_number} is on file with expiry {existing.expiry}; check the package."
    if not 1 <= packages <= 500:
        errors["packages"] = "Enter between 1 and 500 packages."
    if not product.active:
        errors["product"] = "This product is inactive."
    if errors:
        raise CustodyError(errors)
    receipt = Receipt.objects.create(
        supplier=supplier, invoice_number=invoice_number.strip(), invoice_date=invoice_date, received_on=received_on,
        product=product, lot_number=lot_number.strip(), expiry=expiry, packages=packages, location=location,
        entered_by=actor.user,
    )
    audit.record(actor, "custody.receipt.entered", subject=receipt, details={
        "invoice": receipt.invoice_number, "ndc": product.ndc, "lot": receipt.lot_number, "packages": packages})
    return receipt


@transaction.atomic
def countersign_receipt(actor: Actor, receipt: Receipt, at: datetime | None = None) -> list[Container]:
    """Step 2: a second authorised person checks the delivery and countersigns; containers enter stock."""
    _require(actor, HANDLERS, "countersign a receipt")
    receipt = Receipt.objects.select_for_update(of=("self",)).select_related("product").get(pk=receipt.pk)
    if receipt.status != Receipt.Status.PENDING:
        raise CustodyError({"__all__": "This receipt has already been countersigned."})
    if receipt.entered_by_id == actor.user_id:
        raise CustodyError({"__all__": "The countersignature must come from a second person, not the one who "
                                       "entered the receipt."})
    product = receipt.product
    lot, _ = Lot.objects.get_or_create(product=product, lot_number=receipt.lot_number,
                                       defaults={"expiry": receipt.expiry})
    n = receipt.containers_count
    first = next_number("custody_container", n)
    prefix = "D" if product.form == Product.Form.DEVICE else "V"
    containers = [Container(lot=lot, location=receipt.location, receipt=receipt, label=f"{prefix}{first + i:05d}")
                  for i in range(n)]
    Container.objects.bulk_create(containers)
    containers = list(Container.objects.filter(receipt=receipt).select_related("lot__product").order_by("pk")
                      .select_for_update(of=("self",)))
    for c in containers:
        _post(actor, kind=LedgerEntry.Kind.RECEIVE, container=c, quantity=product.units_per_container,
              witness=receipt.entered_by, at=at, details={"receipt": str(receipt.external_id),
                                                   "invoice": receipt.invoice_number,
                                                   "supplier": receipt.supplier.name,
                                                   "supplier_dea": receipt.supplier.dea_number})
    receipt.status = Receipt.Status.RECEIVED
    receipt.countersigned_by = actor.user
    receipt.countersigned_at = at or timezone.now()
    receipt.save(update_fields=["status", "countersigned_by", "countersigned_at"])
    audit.record(actor, "custody.receipt.countersigned", subject=receipt, details={
        "containers": [c.label for c in containers], "entered_by": receipt.entered_by.username})
    return containers


# --------------------------------------------------------------------------------------------- draws
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


def session_problems(session: TreatmentSession) -> list[str]:
    problems = []
    if session.status in (TreatmentSession.Status.CANCELLED, TreatmentSession.Status.NO_SHOW):
        problems.append(f"The session is {session.get_status_display().lower()}.")
    if session.prepared_dose_mg is None or session.verified_at is None:
        problems.append("The session's dose has not been prepared and independently verified yet.")
    return problems


@transaction.atomic
def draw(actor: Actor, *, container: Container, session: TreatmentSession, quantity, clinic: Clinic | None = None,
         now: datetime | None = None) -> LedgerEntry:
    """Draw from a vial (mL) or take a device for a session whose dose has been verified."""
    _require(actor, HANDLERS, "draw controlled substances")
    clinic = clinic or current_clinic()
    now = now or timezone.now()
    quantity = parse_quantity(quantity)
    session = TreatmentSession.objects.select_related("room", "patient").get(pk=session.pk)
    container = _lock_container(container)
    product = container.lot.product
    problems = session_problems(session) + container_problems(container, session, clinic, now)
    if product.form == Product.Form.DEVICE and quantity != quantity.to_integral_value():
        problems.append("Nasal spray devices are taken whole (quantity 1).")
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
    audit.record(actor, "custody.draw", subject=entry, patient=session.patient, details={
        "container": container.label, "quantity": str(quantity), "unit": product.unit, "mg": str(entry.mg),
        "session": str(session.external_id), "remaining": str(container.balance)})
    return entry


# --------------------------------------------------------------------------------------------- session balance
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
    """Each live draw of the session with what has been administered and wasted from it (two queries)."""
    draws = list(LedgerEntry.objects.filter(session=session, kind=LedgerEntry.Kind.DRAW, reversed_by__isnull=True)
                 .select_related("container__lot__product").order_by("seq"))
    used = (LedgerEntry.objects.filter(source__in=draws, bucket__in=[Bucket.ADMINISTERED, Bucket.WASTED])
            .values("source_id", "bucket").annotate(total=Sum("quantity")))
    totals = {(u["source_id"], u["bucket"]): _dec(u["total"]) for u in used}
    return [DrawBalance(d, d.quantity, totals.get((d.pk, Bucket.ADMINISTERED), ZERO),
                        totals.get((d.pk, Bucket.WASTED), ZERO)) for d in draws]


def administered_quantity(session: TreatmentSession, product: Product) -> Decimal:
    """The session's administered mg in the product's unit (mL or devices), to 0.01."""
    return rules.q2(Decimal(session.administered_mg) / product.mg_per_unit)


@transaction.atomic
def record_administration(actor: Actor, session: TreatmentSession, at: datetime | None = None) -> list[LedgerEntry]:
    """Post what the session record says was given, against the session's draws (first drawn, first used)."""
    _require(actor, HANDLERS, "record administration")
    session = TreatmentSession.objects.select_for_update(of=("self",)).select_related("patient", "administered_by").get(pk=session.pk)
    if session.administered_mg is None:
        raise CustodyError({"__all__": "The session has no administered dose recorded yet."})
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
    audit.record(actor, "custody.administration.recorded", subject=session, patient=session.patient,
                 details={"administered_mg": str(session.administered_mg), "entries": [e.seq for e in entries]})
    return entries


@transaction.atomic
def request_waste(actor: Actor, *, session: TreatmentSession, quantity, method: str,
                  clinic: Clinic | None = None) -> PendingEvent:
    """The clinician records the residue left after administration; it posts once witnessed."""
    _require(actor, HANDLERS, "waste controlled substances")
    clinic = clinic or current_clinic()
    quantity = parse_quantity(quantity)
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
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
    audit.record(actor, "custody.waste.requested", subject=event, patient=session.patient,
                 details={"quantity": str(quantity), "method": event.method, "witnesses_required": required})
    if required == 0:
        _post_event(actor, event, [])
    return event


@transaction.atomic
def request_destruction(actor: Actor, *, container: Container, quantity, method: str, place: str,
                        clinic: Clinic | None = None) -> PendingEvent:
    """Destroy expired or unwanted stock: DEA Form 41 data, posted once two witnesses have signed."""
    _require(actor, DISPOSERS, "destroy stock")
    clinic = clinic or current_clinic()
    quantity = parse_quantity(quantity)
    container = _lock_container(container)
    errors = {}
    if not method.strip():
        errors["method"] = "Say how it is made non-retrievable (DEA Form 41 'method of destruction')."
    if not place.strip():
        errors["place"] = "Say where it is destroyed (DEA Form 41 'location')."
    pending = _dec(PendingEvent.objects.filter(container=container, status=PendingEvent.Status.PENDING).aggregate(
        t=Sum("quantity"))["t"])
    if quantity > container.balance - pending:
        errors["quantity"] = f"Only {container.balance - pending} {container.lot.product.unit} remain in " \
                             f"{container.label} (after other pending destructions)."
    if errors:
        raise CustodyError(errors)
    event = PendingEvent.objects.create(kind=PendingEvent.Kind.DESTROY, container=container, quantity=quantity,
                                        method=method.strip(), details={"place": place.strip()},
                                        witnesses_required=rules.DESTRUCTION_WITNESSES, requested_by=actor.user)
    audit.record(actor, "custody.destruction.requested", subject=event,
                 details={"container": container.label, "quantity": str(quantity), "method": event.method})
    return event


@transaction.atomic
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
    audit.record(actor, f"custody.{event.kind}.witnessed", subject=event,
                 patient=event.session.patient if event.session_id else None,
                 details={"quantity": str(entered)})
    witnesses = [a.witness for a in event.attestations.select_related("witness").order_by("at", "pk")]
    if len(witnesses) >= event.witnesses_required:
        _post_event(actor, event, witnesses, at)
    return event


def _post_event(actor: Actor, event: PendingEvent, witnesses: list, at: datetime | None = None) -> list[LedgerEntry]:
    w1 = witnesses[0] if witnesses else None
    w2 = witnesses[1] if len(witnesses) > 1 else None
    recorder = Actor(user=event.requested_by, roles=event.requested_by.role_set(), client_ip=actor.client_ip)
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
    audit.record(actor, f"custody.{event.kind}.posted", subject=event,
                 patient=event.session.patient if event.session_id else None,
                 details={"entries": [e.seq for e in entries], "witnesses": [w.username for w in witnesses]})
    return entries


def form41_details(container: Container, event: PendingEvent, witnesses: list) -> dict:
    """The DEA Form 41 fields (clinical.md §6 'Destruction of inventory' row, status C)."""
    clinic = container.location.clinic
    product = container.lot.product
    per_container = product.units_per_container
    full = event.quantity == per_container and container.balance == per_container
    return {
        "registrant": {"name": clinic.name, "address": clinic.address, "dea_registration": clinic.dea_registration},
        "ndc": product.ndc, "batch": container.lot.lot_number, "name": product.name,
        "strength": f"{product.mg_per_unit} mg/{'device' if product.unit == 'device' else 'mL'}",
        "form": product.get_form_display(), "package_quantity": f"{per_container} {product.unit}",
        "full_packages": 1 if full else 0, "partial_count": "" if full else f"{event.quantity} {product.unit}",
        "total_destroyed_mg": str(rules.q2(event.quantity * product.mg_per_unit)),
        "date": timezone.localdate().isoformat(), "method": event.method, "location": event.details.get("place", ""),
        "witnesses": [w.label for w in witnesses], "container": container.label,
    }


@transaction.atomic
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
    audit.record(actor, f"custody.{event.kind}.withdrawn", subject=event, details={"reason": reason.strip()})
    return event


# --------------------------------------------------------------------------------------------- loss, returns
def received_at(container: Container, clinic: Clinic) -> datetime:
    """The earliest moment ``container`` was in the clinic's hands: the start (clinic time) of the day its
    delivery was received, or its receive entry in the ledger if that is earlier."""
    day_start = datetime.combine(container.receipt.received_on, datetime.min.time(), clinic.tz)
    first = (LedgerEntry.objects.filter(container=container, kind=LedgerEntry.Kind.RECEIVE)
             .order_by("seq").values_list("at", flat=True).first())
    return min(day_start, first) if first is not None else day_start


@transaction.atomic
def report_loss(actor: Actor, *, container: Container, quantity, kind: str, discovered_at: datetime,
                circumstances: str, police_notified: bool = False, police_report: str = "",
                clinic: Clinic | None = None) -> LossReport:
    """Theft or significant loss: DEA Form 106 data; the written notice is due within 1 business day."""
    _require(actor, DISPOSERS, "report a theft or loss")
    clinic = clinic or current_clinic()
    quantity = parse_quantity(quantity)
    container = _lock_container(container)
    errors = {}
    received = received_at(container, clinic)
    if discovered_at > timezone.now():
        errors["discovered_at"] = "Discovery cannot be in the future."
    elif discovered_at < received:
        errors["discovered_at"] = (f"Discovery cannot be before {container.label} was received "
                                   f"({received.astimezone(clinic.tz):%Y-%m-%d}); check the date and time.")
    if not circumstances.strip():
        errors["circumstances"] = "Describe what happened (DEA Form 106)."
    if kind not in LossReport.Kind.values:
        errors["kind"] = "Choose theft, significant loss or lost in transit."
    if quantity > container.balance:
        errors["quantity"] = f"Only {container.balance} {container.lot.product.unit} remain in {container.label}."
    if errors:
        raise CustodyError(errors)
    limits = clinic.limits()
    report = LossReport.objects.create(
        kind=kind, discovered_at=discovered_at, circumstances=circumstances.strip(), police_notified=police_notified,
        police_report=police_report.strip(), reported_by=actor.user,
        notice_due_at=rules.theft_notice_due(discovered_at, int(limits["custody.theft_notice_business_days"]),
                                             clinic.tz),
        form106_due_on=rules.form106_due(discovered_at.astimezone(clinic.tz).date(), int(limits["custody.dea106_days"])),
    )
    product = container.lot.product
    entry = _post(actor, kind=LedgerEntry.Kind.LOSS, container=container, quantity=quantity,
                  reason=circumstances.strip(), details={
                      "report": str(report.external_id), "type": report.get_kind_display(),
                      "discovered_at": discovered_at.isoformat(), "ndc": product.ndc,
                      "lot": container.lot.lot_number, "police_notified": police_notified,
                      "police_report": report.police_report})
    audit.record(actor, "custody.loss.reported", subject=report, details={
        "container": container.label, "quantity": str(quantity), "entry": entry.seq,
        "notice_due_at": report.notice_due_at.isoformat()})
    return report


@transaction.atomic
def record_loss_notice(actor: Actor, report: LossReport, *, notice_sent_at: datetime | None = None,
                       form106_filed_on: date | None = None, form106_reference: str = "") -> LossReport:
    _require(actor, DISPOSERS, "update a loss report")
    report = LossReport.objects.select_for_update().get(pk=report.pk)
    changed = {}
    if notice_sent_at is not None:
        if notice_sent_at > timezone.now():
            raise CustodyError({"notice_sent_at": "Cannot be in the future."})
        report.notice_sent_at, report.notice_sent_by = notice_sent_at, actor.user
        changed["notice_sent_at"] = notice_sent_at.isoformat()
    if form106_filed_on is not None:
        if not form106_reference.strip():
            raise CustodyError({"form106_reference": "Enter the DEA Form 106 confirmation number."})
        report.form106_filed_on, report.form106_reference = form106_filed_on, form106_reference.strip()
        changed.update(form106_filed_on=form106_filed_on.isoformat(), form106_reference=report.form106_reference)
    if not changed:
        raise CustodyError({"__all__": "Nothing to record."})
    report.save()
    audit.record(actor, "custody.loss.updated", subject=report, details=changed)
    return report


@transaction.atomic
def return_stock(actor: Actor, *, container: Container, quantity, distributor: Supplier, reason: str) -> LedgerEntry:
    """Return to a reverse distributor (which files the Form 41, clinical.md §6)."""
    _require(actor, RETURNERS, "return stock")
    quantity = parse_quantity(quantity)
    container = _lock_container(container)
    errors = {}
    if distributor.kind != Supplier.Kind.REVERSE_DISTRIBUTOR:
        errors["distributor"] = "Returns go to a registered reverse distributor."
    elif not check_dea_number(distributor.dea_number).valid:
        errors["distributor"] = "The reverse distributor's DEA number fails its check digit."
    if quantity > container.balance:
        errors["quantity"] = f"Only {container.balance} {container.lot.product.unit} remain in {container.label}."
    if not reason.strip():
        errors["reason"] = "Give the reason (expired, recalled, unwanted)."
    if errors:
        raise CustodyError(errors)
    entry = _post(actor, kind=LedgerEntry.Kind.RETURN, container=container, quantity=quantity, reason=reason.strip(),
                  details={"distributor": distributor.name, "distributor_address": distributor.address,
                           "distributor_dea": distributor.dea_number})
    audit.record(actor, "custody.returned", subject=entry, details={
        "container": container.label, "quantity": str(quantity), "to": distributor.name})
    return entry


# --------------------------------------------------------------------------------------------- counts
# A count may find more than the book balance (that is a discrepancy to record), but never more than this many
# times a full container's labelled content: input sanity against typing errors, not a clinical number.
COUNT_MAXIMUM_FACTOR = 2


def count_maximum(container: Container) -> Decimal:
    """The most a count line may record for ``container`` (twice its labelled content, in its unit)."""
    return rules.q2(container.lot.product.units_per_container * COUNT_MAXIMUM_FACTOR)


@dataclass(frozen=True)
class CountInput:
    container: Container
    counted: Decimal
    method: str = CountLine.Method.EXACT


@transaction.atomic
def submit_count(actor: Actor, *, location: StorageLocation, kind: str, lines: list[CountInput],
                 taken_on: date | None = None, timing: str = "", at: datetime | None = None) -> Count:
    """A blind count: the counter enters what they find; the book balance is read only now, under lock."""
    roles = HANDLERS if kind == Count.Kind.ROUTINE else INVENTORY_TAKERS
    _require(actor, roles, "record a count")
    today = timezone.localdate()
    taken_on = taken_on or today
    errors: dict[str, str] = {}
    if taken_on > today:
        errors["taken_on"] = "A count cannot be dated in the future."
    if kind in (Count.Kind.INITIAL, Count.Kind.BIENNIAL) and timing not in Count.Timing.values:
        errors["timing"] = "Say whether the inventory was taken at opening or close of business (21 CFR 1304.11)."
    in_stock = {c.pk for c in Container.objects.filter(location=location, balance__gt=0)}
    given = {line.container.pk for line in lines}
    if in_stock - given:
        errors["__all__"] = "Count every container in the store (some were left out)."
    for line in lines:
        key = line.container.external_id
        try:
            parse_quantity(line.counted, f"c_{key}", allow_zero=True, maximum=count_maximum(line.container),
                           unit=line.container.lot.product.unit)
        except CustodyError as e:
            errors.update(e.errors)
        if line.method not in CountLine.Method.values:
            errors[f"m_{key}"] = "Choose exact or estimated."
    if errors:
        raise CustodyError(errors)
    locked = {c.pk: c for c in Container.objects.select_for_update(of=("self",)).select_related("lot__product")
              .filter(pk__in=sorted(given)).order_by("pk")}
    count = Count.objects.create(kind=kind, location=location, taken_on=taken_on, timing=timing,
                                 counted_by=actor.user, signed_at=at or timezone.now())
    discrepancies = 0
    for line in sorted(lines, key=lambda item: item.container.pk):
        c = locked[line.container.pk]
        if c.location_id != location.pk:
            raise CustodyError({"__all__": f"{c.label} is not kept in {location.name}."})
        method = line.method
        if method == CountLine.Method.ESTIMATED and not rules.estimate_allowed(c.lot.product.dea_schedule,
                                                                              c.opened_at is not None):
            raise CustodyError({f"c_{c.external_id}": f"{c.label} is unopened: count it exactly "
                                                     "(21 CFR 1304.11(e))."})
        cl = CountLine.objects.create(count=count, container=c, counted=line.counted, expected=c.balance,
                                      method=method)
        if cl.counted != cl.expected:
            discrepancies += 1
            incident = Incident.objects.create(count_line=cl)
            audit.record(actor, "custody.incident.opened", subject=incident, details={
                "container": c.label, "counted": str(cl.counted), "expected": str(cl.expected)})
    count.discrepancies = discrepancies
    count.save(update_fields=["discrepancies"])
    audit.record(actor, f"custody.count.{kind}", subject=count, details={
        "location": location.name, "lines": len(lines), "discrepancies": discrepancies, "timing": timing})
    return count


@transaction.atomic
def resolve_incident(actor: Actor, incident: Incident, *, resolution: str, reason: str) -> Incident:
    """Only the compliance lead closes a discrepancy, always with a reason."""
    _require(actor, COMPLIANCE, "resolve a count discrepancy")
    incident = Incident.objects.select_for_update(of=("self",)).select_related("count_line__container").get(pk=incident.pk)
    if incident.status != Incident.Status.OPEN:
        raise CustodyError({"__all__": "This incident is already resolved."})
    if resolution not in Incident.Resolution.values:
        raise CustodyError({"resolution": "Choose how it is resolved."})
    if len(reason.strip()) < 10:
        raise CustodyError({"reason": "Explain the discrepancy (at least a sentence)."})
    line = incident.count_line
    if resolution == Incident.Resolution.ADJUST:
        container = _lock_container(line.container_id)
        delta = line.counted - line.expected
        incident.entry = _post(actor, kind=LedgerEntry.Kind.COUNT_ADJUST, container=container, quantity=delta,
                               reason=reason.strip(), details={"incident": str(incident.external_id),
                                                               "counted": str(line.counted),
                                                               "expected": str(line.expected)})
    incident.status = Incident.Status.RESOLVED
    incident.resolution = resolution
    incident.reason = reason.strip()
    incident.resolved_by = actor.user
    incident.resolved_at = timezone.now()
    incident.save()
    audit.record(actor, "custody.incident.resolved", subject=incident,
                 details={"resolution": resolution, "reason": incident.reason,
                          "entry": incident.entry.seq if incident.entry else None})
    return incident


# --------------------------------------------------------------------------------------------- corrections
@transaction.atomic
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
    audit.record(actor, "custody.entry.reversed", subject=reversal, patient=entry.patient,
                 details={"reverses": entry.seq, "reason": reversal.reason})
    return reversal


# --------------------------------------------------------------------------------------------- reconciliation
@dataclass
class ReconRow:
    lot: Lot
    received: Decimal = ZERO
    drawn: Decimal = ZERO
    administered: Decimal = ZERO
    wasted: Decimal = ZERO
    destroyed: Decimal = ZERO
    lost: Decimal = ZERO
    returned: Decimal = ZERO
    adjusted: Decimal = ZERO
    on_hand: Decimal = ZERO  # sum of the containers' cached balances (an independent record)
    containers: int = 0

    @property
    def unit(self) -> str:
        return self.lot.product.unit

    @property
    def in_process(self) -> Decimal:
        """Drawn for a session but not yet administered or wasted (in a syringe, in custody)."""
        return self.drawn - self.administered - self.wasted

    @property
    def accounted(self) -> Decimal:
        return (self.administered + self.wasted + self.destroyed + self.lost + self.returned + self.on_hand
                + self.in_process)

    @property
    def difference(self) -> Decimal:
        """received + count adjustments - everything accounted for; 0.00 when the lot balances."""
        return self.received + self.adjusted - self.accounted

    @property
    def balances(self) -> bool:
        return self.difference == 0 and self.in_process >= 0


@dataclass
class Reconciliation:
    rows: list[ReconRow]
    container_mismatches: list[dict]
    open_sessions: list[dict]

    @property
    def balances(self) -> bool:
        return all(r.balances for r in self.rows) and not self.container_mismatches


def reconciliation() -> Reconciliation:
    """Per product and lot: received = administered + wasted + destroyed + lost + returned + on hand (+ drawn
    and awaiting administration/waste), to 0.01. Four aggregate queries, whatever the ledger's length."""
    lots = {lot.pk: ReconRow(lot) for lot in Lot.objects.select_related("product").order_by("product__name", "expiry")}
    for row in LedgerEntry.objects.values("lot_id", "bucket").annotate(total=Sum("quantity")).order_by():
        setattr(lots[row["lot_id"]], row["bucket"], _dec(row["total"]))
    for row in Container.objects.values("lot_id").annotate(on_hand=Sum("balance"), n=CountAgg("pk")).order_by():
        lots[row["lot_id"]].on_hand = _dec(row["on_hand"])
        lots[row["lot_id"]].containers = row["n"]
    dec = DecimalField(max_digits=12, decimal_places=2)
    effect = Case(*[When(bucket=b, then=F("quantity") * Value(Decimal(e), output_field=dec))
                    for b, e in CONTAINER_EFFECT.items() if e], default=Value(ZERO, output_field=dec), output_field=dec)
    ledger_balance = (LedgerEntry.objects.values("container_id").annotate(ledger=Sum(effect)).order_by())
    cached = dict(Container.objects.values_list("pk", "balance"))
    labels = None
    mismatches = []
    for row in ledger_balance:
        book = _dec(row["ledger"])
        if cached.get(row["container_id"]) != book or book < 0:
            labels = labels or dict(Container.objects.values_list("pk", "label"))
            mismatches.append({"container": labels[row["container_id"]], "ledger": book,
                               "cached": cached.get(row["container_id"])})
    in_session = Case(When(bucket=Bucket.DRAWN, then=F("quantity")),
                      When(bucket__in=[Bucket.ADMINISTERED, Bucket.WASTED], then=-F("quantity")),
                      default=Value(ZERO, output_field=dec), output_field=dec)
    open_sessions = list(LedgerEntry.objects.filter(session__isnull=False).values(
        "session_id", "session__external_id", "session__status", "session__scheduled_start")
        .annotate(residue=Sum(in_session))
        .filter(Q(residue__gt=Decimal("0.005")) | Q(residue__lt=Decimal("-0.005"))).order_by("session__scheduled_start"))
    for row in open_sessions:
        row["residue"] = _dec(row["residue"])
    return Reconciliation(list(lots.values()), mismatches, open_sessions)

