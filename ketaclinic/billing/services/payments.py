"""Payments and refunds on an invoice: cash, card (by the terminal's reference, never a card number) and package
draw-down. No payment on a voided invoice, no payment above what is owed, no refund above what was paid."""

from __future__ import annotations

from django.db.models import Q, Sum
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.billing.models import Invoice, PatientPackage, Payment
from ketaclinic.billing.money import MAX_CENTS, dollars
from ketaclinic.billing.services._common import (
    DESK_ROLES,
    MONEY_ROLES,
    BillingError,
    _roles,
    figures,
    number,
    use_case,
)


def _used(package: PatientPackage) -> int:
    from ketaclinic.billing.services.packages import used_sessions  # packages imports this module

    return used_sessions(package)


def _drawn(package: PatientPackage) -> int:
    from ketaclinic.billing.services.packages import drawn_cents

    return drawn_cents(package)

TAKEN = (Payment.Method.CASH, Payment.Method.CARD)


def _amount(amount_cents) -> int:
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise BillingError({"amount": "Enter an amount above $0.00."})
    if amount_cents > MAX_CENTS:
        raise BillingError({"amount": f"At most {dollars(MAX_CENTS)}."})
    return amount_cents


def _reference(method: str, reference: str) -> str:
    reference = (reference or "").strip()
    if method == Payment.Method.CARD and not reference:
        raise BillingError({"reference": "Give the card terminal's reference for a card payment."})
    if sum(ch.isdigit() for ch in reference) >= 13:
        raise BillingError({"reference": "That looks like a card number: give the terminal's reference instead."})
    return reference


@use_case
def take_payment(*, actor: Actor, invoice: Invoice, method: str, amount_cents: int, reference: str = "",
                 note: str = "") -> Payment:
    """A cash or card payment on ``invoice``: at most what is still owed."""
    _roles(actor, DESK_ROLES, what="take payments")
    if method not in TAKEN:
        raise BillingError({"method": "Cash or card."})
    amount = _amount(amount_cents)
    reference = _reference(method, reference)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_void:
        raise BillingError("This invoice is void: no payment can be taken on it.")
    owed = figures(invoice).balance
    if owed <= 0:
        raise BillingError("Nothing is owed on this invoice.")
    if amount > owed:
        raise BillingError({"amount": f"Only {dollars(owed)} is owed on this invoice."})
    payment = Payment.objects.create(invoice=invoice, kind=Payment.Kind.PAYMENT, method=method, amount_cents=amount,
                                     reference=reference, receipt_number=number("RCP"), at=timezone.now(),
                                     by=actor.user if actor.user_id else None, note=note)
    audit.record(actor, AuditAction.BILLING_PAYMENT_TAKEN, subject=payment, patient=invoice.patient,
                 details={"invoice": invoice.number, "method": method, "amount_cents": amount,
                          "receipt": payment.receipt_number})
    return payment


def outstanding_draw(invoice: Invoice) -> Payment | None:
    """The package draw on ``invoice`` not yet given back: the latest draw whose package has had fewer of its
    draws on this invoice returned than drawn (an earlier draw may have been returned already, to its own
    package)."""
    rows = invoice.payments.filter(method=Payment.Method.PACKAGE).order_by("at", "pk")
    open_by_package: dict[int, int] = {}
    for row in rows:
        step = 1 if row.kind == Payment.Kind.PAYMENT else -1 if row.kind == Payment.Kind.REFUND else 0
        open_by_package[row.package_id] = open_by_package.get(row.package_id, 0) + step
    draws = [r for r in rows if r.kind == Payment.Kind.PAYMENT and open_by_package.get(r.package_id, 0) > 0]
    return draws[-1] if draws else None


def refundable(invoice: Invoice) -> dict[str, int]:
    """What may still be refunded on ``invoice``, by method: cash and card together, and package draws."""
    s = Payment.objects.filter(invoice=invoice).aggregate(
        taken=Sum("amount_cents", filter=Q(kind=Payment.Kind.PAYMENT, method__in=TAKEN), default=0),
        back=Sum("amount_cents", filter=Q(kind__in=(Payment.Kind.REFUND, Payment.Kind.UNUSED_REFUND),
                                          method__in=TAKEN), default=0),
        drawn=Sum("amount_cents", filter=Q(kind=Payment.Kind.PAYMENT, method=Payment.Method.PACKAGE), default=0),
        returned=Sum("amount_cents", filter=Q(kind=Payment.Kind.REFUND, method=Payment.Method.PACKAGE), default=0),
    )
    return {"money": s["taken"] - s["back"], "package": s["drawn"] - s["returned"]}


@use_case
def refund(*, actor: Actor, invoice: Invoice, method: str, amount_cents: int, reason: str,
           reference: str = "") -> Payment:
    """Money back on ``invoice`` (cash or card: never more than was paid that way and not yet refunded), or a
    package session given back to its package (the whole draw)."""
    _roles(actor, MONEY_ROLES, what="give refunds")
    if not reason.strip():
        raise BillingError({"reason": "Give the reason for the refund."})
    amount = _amount(amount_cents)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    can = refundable(invoice)
    package = None
    if method == Payment.Method.PACKAGE:
        if amount != can["package"] or amount == 0:
            raise BillingError({"amount": f"A package draw is returned whole: {dollars(can['package'])}."})
        draw = outstanding_draw(invoice)
        if draw is None or draw.amount_cents != amount:
            raise BillingError({"amount": f"A package draw is returned whole: {dollars(can['package'])}."})
        package = PatientPackage.objects.select_for_update().get(pk=draw.package_id)
        if package.status == PatientPackage.Status.REFUNDED:
            # its unused sessions were already refunded in money: a session put back would be paid for twice
            raise BillingError("This package was closed and its unused sessions refunded, so the session cannot "
                               "go back into it. Leave the draw in place, or give the patient the package share "
                               "back on the package's invoice.")
        # under the package's lock: the return never leaves it with fewer than 0 sessions used or money drawn
        if _used(package) < 1 or _drawn(package) < amount:
            raise BillingError("This package has no draw left to return.")
        # the session goes back into the package: a package whose sessions were all used is open again
        PatientPackage.objects.filter(pk=package.pk, status=PatientPackage.Status.USED).update(
            status=PatientPackage.Status.ACTIVE)
    elif method in TAKEN:
        reference = _reference(method, reference)
        if amount > can["money"]:
            raise BillingError({"amount": f"Only {dollars(can['money'])} was paid in cash or by card and not yet "
                                          "refunded."})
    else:
        raise BillingError({"method": "Cash, card or package."})
    payment = Payment.objects.create(invoice=invoice, kind=Payment.Kind.REFUND, method=method, amount_cents=amount,
                                     reference=reference, package=package, receipt_number=number("RCP"),
                                     at=timezone.now(), by=actor.user if actor.user_id else None, note=reason.strip())
    audit.record(actor, AuditAction.BILLING_REFUND_GIVEN, subject=payment, patient=invoice.patient,
                 details={"invoice": invoice.number, "method": method, "amount_cents": amount,
                          "reason": reason.strip(), "receipt": payment.receipt_number})
    return payment
