"""Packages: an induction series or a booster bundle at a package price, paid up front and drawn down by one
completed session at a time; unused sessions refunded by the clinic's rule (``BillingProfile.package_refund_rule``).

The package share of each session comes from :func:`ketaclinic.billing.money.allocate` over what is left, so the
draws of a package always add up to its price to the cent.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.billing.models import Invoice, PackageOffer, PatientPackage, Payment, RefundRule, Service
from ketaclinic.billing.money import MAX_CENTS, allocate, dollars
from ketaclinic.billing.services._common import (
    MONEY_ROLES,
    BillingError,
    _roles,
    author,
    figures,
    number,
    profile_for,
    use_case,
)
from ketaclinic.billing.services.invoices import Line, _issue, package_invoice
from ketaclinic.billing.services.payments import TAKEN, _reference
from ketaclinic.billing.services.prices import price_for


@use_case
def add_offer(*, actor: Actor, clinic, name: str, kind: str, service: str, sessions: int,
              price_cents: int) -> PackageOffer:
    _roles(actor, MONEY_ROLES, what="set up packages")
    errors = {}
    if not name.strip():
        errors["name"] = "Name the package."
    if kind not in PackageOffer.Kind.values:
        errors["kind"] = "Choose the kind of package."
    if service not in Service.values or service == Service.NO_SHOW_FEE:
        errors["service"] = "Choose the service the package covers."
    if not 1 <= sessions <= 52:
        errors["sessions"] = "Between 1 and 52 sessions."
    if not 0 < price_cents <= MAX_CENTS:
        errors["price"] = "Enter a package price above $0.00."
    if errors:
        raise BillingError(errors)
    offer = PackageOffer.objects.create(clinic=clinic, name=name.strip(), kind=kind, service=service,
                                        sessions=sessions, price_cents=price_cents,
                                        created_by=author(actor),
                                        created_at=timezone.now())
    audit.record(actor, AuditAction.BILLING_PACKAGE_OFFER_ADDED, subject=offer,
                 details={"name": offer.name, "service": service, "sessions": sessions, "price_cents": price_cents})
    return offer


@use_case
def retire_offer(*, actor: Actor, offer: PackageOffer) -> PackageOffer:
    _roles(actor, MONEY_ROLES, what="set up packages")
    offer = PackageOffer.objects.select_for_update().get(pk=offer.pk)
    if not offer.active:
        raise BillingError("This package is already retired.")
    offer.active = False
    offer.save(update_fields=["active"])
    audit.record(actor, AuditAction.BILLING_PACKAGE_OFFER_RETIRED, subject=offer, details={"name": offer.name})
    return offer


@use_case
def sell_package(*, actor: Actor, patient, offer: PackageOffer) -> PatientPackage:
    """Sell ``offer`` to ``patient``: the package (its sessions and price copied) and its invoice."""
    _roles(actor, MONEY_ROLES, what="sell packages")
    if not offer.active or offer.clinic_id != patient.clinic_id:
        raise BillingError("This package is not on offer.")
    package = PatientPackage.objects.create(patient=patient, offer=offer, name=offer.name, service=offer.service,
                                            sessions=offer.sessions, price_cents=offer.price_cents,
                                            created_by=author(actor),
                                            created_at=timezone.now())
    _issue(actor, patient=patient, kind=Invoice.Kind.PACKAGE, service_on=timezone.localdate(timezone.now(),
                                                                                             patient.clinic.tz),
           lines=[Line(f"{offer.name}: {offer.sessions} × {Service(offer.service).label} (prepaid)",
                       offer.price_cents)], source={"package": package})
    audit.record(actor, AuditAction.BILLING_PACKAGE_SOLD, subject=package, patient=patient,
                 details={"name": package.name, "sessions": package.sessions, "price_cents": package.price_cents})
    return package


def _draws(package: PatientPackage) -> dict:
    return Payment.objects.filter(package=package, method=Payment.Method.PACKAGE).aggregate(
        drawn=Sum("amount_cents", filter=Q(kind=Payment.Kind.PAYMENT), default=0),
        returned=Sum("amount_cents", filter=Q(kind=Payment.Kind.REFUND), default=0),
        n_drawn=Count("pk", filter=Q(kind=Payment.Kind.PAYMENT)),
        n_returned=Count("pk", filter=Q(kind=Payment.Kind.REFUND)),
    )


def used_sessions(package: PatientPackage) -> int:
    d = _draws(package)
    return d["n_drawn"] - d["n_returned"]


def remaining_sessions(package: PatientPackage) -> int:
    return package.sessions - used_sessions(package)


def packages_of(patient) -> list[PatientPackage]:
    """The patient's packages, newest first, each with ``left`` (sessions left): one query, however many."""
    used = (Payment.objects.filter(package=OuterRef("pk"), method=Payment.Method.PACKAGE).order_by()
            .values("package").annotate(n=Count("pk", filter=Q(kind=Payment.Kind.PAYMENT))
                                        - Count("pk", filter=Q(kind=Payment.Kind.REFUND))).values("n"))
    drawn = (Payment.objects.filter(package=OuterRef("pk"), method=Payment.Method.PACKAGE).order_by()
             .values("package").annotate(c=Sum("amount_cents", filter=Q(kind=Payment.Kind.PAYMENT), default=0)
                                         - Sum("amount_cents", filter=Q(kind=Payment.Kind.REFUND), default=0))
             .values("c"))
    rows = list(PatientPackage.objects.filter(patient=patient)
                .annotate(used_n=Coalesce(Subquery(used), 0), drawn_c=Coalesce(Subquery(drawn), 0))
                .order_by("-created_at"))
    for p in rows:
        p.left = p.sessions - p.used_n
    return rows


def drawn_cents(package: PatientPackage) -> int:
    d = _draws(package)
    return d["drawn"] - d["returned"]


def next_draw_cents(package: PatientPackage) -> int:
    """The package share of the next session: what is left of the price shared over the sessions left."""
    left = remaining_sessions(package)
    if left <= 0:
        raise BillingError("No sessions are left in this package.")
    return allocate(package.price_cents - drawn_cents(package), left)[0]


def draw_within(actor: Actor, *, invoice: Invoice, package: PatientPackage) -> Payment:
    """Pay ``invoice`` (one completed session) from ``package``: the package share of one session, at most what is
    owed. Runs inside the invoicing use case's transaction."""
    package = PatientPackage.objects.select_for_update().get(pk=package.pk)
    if package.status != PatientPackage.Status.ACTIVE or package.patient_id != invoice.patient_id:
        raise BillingError("This package cannot be drawn on.")
    if figures(package_invoice(package)).balance > 0:
        raise BillingError("The package is not paid yet.")
    share = next_draw_cents(package)
    owed = figures(invoice).balance
    amount = min(share, owed)
    if amount <= 0:
        raise BillingError("Nothing is owed on this invoice.")
    payment = Payment.objects.create(invoice=invoice, kind=Payment.Kind.PAYMENT, method=Payment.Method.PACKAGE,
                                     amount_cents=amount, package=package, receipt_number=number("RCP"),
                                     at=timezone.now(), by=actor.user if actor.user_id else None)
    if remaining_sessions(package) == 0:
        package.status = PatientPackage.Status.USED
        package.save(update_fields=["status"])
    audit.record(actor, AuditAction.BILLING_PACKAGE_DRAWN, subject=payment, patient=invoice.patient,
                 details={"invoice": invoice.number, "package": str(package.external_id), "amount_cents": amount,
                          "sessions_left": remaining_sessions(package)})
    return payment


@use_case
def draw(*, actor: Actor, invoice: Invoice, package: PatientPackage) -> Payment:
    """Pay an invoice for a session from the patient's package (when it was invoiced before the package was
    bought, or paid otherwise)."""
    _roles(actor, MONEY_ROLES, what="draw on packages")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_void:
        raise BillingError("This invoice is void: no payment can be taken on it.")
    if invoice.kind != Invoice.Kind.SESSION or not invoice.lines.filter(service=package.service).exists():
        raise BillingError("This package covers another service.")
    return draw_within(actor, invoice=invoice, package=package)


def refund_due(package: PatientPackage, rule: str, *, list_price_cents: int | None = None) -> int:
    """What the clinic's rule gives back for the package's unused sessions, in cents. A package from
    :func:`packages_of` carries its counts (no further query but the list price, which may be given)."""
    if hasattr(package, "used_n"):
        used, drawn = package.used_n, package.drawn_c
    else:
        used, drawn = used_sessions(package), drawn_cents(package)
    if rule == RefundRule.NONE or package.sessions - used <= 0:
        return 0
    if rule == RefundRule.PRORATED:
        return package.price_cents - drawn
    if list_price_cents is None:
        list_price_cents = price_for(package.patient.clinic, package.service).amount_cents
    return max(0, package.price_cents - used * list_price_cents)


@use_case
def refund_unused(*, actor: Actor, package: PatientPackage, method: str, reference: str = "",
                  reason: str = "") -> Payment | None:
    """Close ``package`` and give back its unused sessions by the clinic's rule, in cash or to the card (never more
    than was paid for it)."""
    _roles(actor, MONEY_ROLES, what="refund packages")
    package = PatientPackage.objects.select_for_update().select_related("patient__clinic").get(pk=package.pk)
    if package.status != PatientPackage.Status.ACTIVE:
        raise BillingError(f"This package is {package.get_status_display().lower()}.")
    if method not in TAKEN:
        raise BillingError({"method": "Cash or card."})
    reference = _reference(method, reference)
    rule = profile_for(package.patient.clinic).package_refund_rule
    amount = refund_due(package, rule)
    invoice = Invoice.objects.select_for_update().get(pk=package_invoice(package).pk)
    paid = figures(invoice).net_paid
    if amount > paid:
        raise BillingError(f"The refund ({dollars(amount)}) would be more than was paid for the package "
                           f"({dollars(paid)}).")
    payment = None
    if amount > 0:
        payment = Payment.objects.create(invoice=invoice, kind=Payment.Kind.UNUSED_REFUND, method=method,
                                         amount_cents=amount, reference=reference, package=None,
                                         receipt_number=number("RCP"), at=timezone.now(),
                                         by=actor.user if actor.user_id else None, note=reason.strip())
    package.status, package.closed_at = PatientPackage.Status.REFUNDED, timezone.now()
    package.save(update_fields=["status", "closed_at"])
    audit.record(actor, AuditAction.BILLING_PACKAGE_REFUNDED, subject=package, patient=package.patient,
                 details={"rule": rule, "amount_cents": amount, "sessions_unused": remaining_sessions(package),
                          "method": method})
    return payment
