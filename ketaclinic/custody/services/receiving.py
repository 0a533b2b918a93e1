"""Receiving, in two steps by two people: one enters the invoice, a second checks the delivery and countersigns;
only then do the containers enter stock (a receive entry each)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import next_number
from ketaclinic.clinical import custody as rules
from ketaclinic.clinical.identifiers import check_dea_number
from ketaclinic.custody.models import Container, LedgerEntry, Lot, Product, Receipt, StorageLocation, Supplier
from ketaclinic.custody.services.common import HANDLERS, CustodyError, _require, use_case
from ketaclinic.custody.services.ledger import _post, held_here


@use_case
def enter_receipt(actor: Actor, *, supplier: Supplier, invoice_number: str, invoice_date: date, received_on: date,
                  product: Product, lot_number: str, expiry: date, packages: int,
                  location: StorageLocation) -> Receipt:
    """Step 1 of receiving: one authorised person enters the invoice; stock counts once countersigned."""
    _require(actor, HANDLERS, "receive controlled substances")
    held_here(location)
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
    audit.record(actor, AuditAction.CUSTODY_RECEIPT_ENTERED, subject=receipt, details={
        "invoice": receipt.invoice_number, "ndc": product.ndc, "lot": receipt.lot_number, "packages": packages})
    return receipt


@use_case
def countersign_receipt(actor: Actor, receipt: Receipt, at: datetime | None = None) -> list[Container]:
    """Step 2: a second authorised person checks the delivery and countersigns; containers enter stock."""
    _require(actor, HANDLERS, "countersign a receipt")
    receipt = (Receipt.objects.select_for_update(of=("self",)).select_related("product", "location")
               .get(pk=receipt.pk))
    held_here(receipt.location, "__all__")
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
    audit.record(actor, AuditAction.CUSTODY_RECEIPT_COUNTERSIGNED, subject=receipt, details={
        "containers": [c.label for c in containers], "entered_by": receipt.entered_by.username})
    return containers
