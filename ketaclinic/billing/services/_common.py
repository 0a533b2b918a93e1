"""What every billing use case shares: the error, the role check, numbering, and an invoice's figures.

Every use case validates, writes and audits in one durable transaction (:func:`ketaclinic.usecases.use_case`) and
raises :class:`BillingError` (a ``ValueError`` carrying ``errors: {field: message}``) for anything refused; nothing
is changed then. Money is whole cents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from ketaclinic.accounts.roles import Role
from ketaclinic.audit.services import Actor
from ketaclinic.billing.models import BillingProfile, Invoice, Payment
from ketaclinic.clinic.models import current_clinic, next_number
from ketaclinic.usecases import use_case  # noqa: F401  (re-exported for the billing services)

#: Who handles money: the billing role and the clinic admin. The front desk may take a payment at the desk.
MONEY_ROLES = (Role.BILLING, Role.CLINIC_ADMIN)
DESK_ROLES = (Role.BILLING, Role.CLINIC_ADMIN, Role.FRONT_DESK)
SYSTEM = "system"


class BillingError(ValueError):
    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


def _roles(actor: Actor, allowed: Sequence[str], *, what: str) -> None:
    """Refuse an actor without one of ``allowed`` (the demo loader and other system actors pass)."""
    if actor.user is None and (actor.label_override or "").startswith("system:"):
        return
    if not set(actor.roles) & {str(r) for r in allowed}:
        raise BillingError(f"Your role may not {what}.")


def author(actor: Actor):
    """Who a record that must name a person is by: the actor's user, or for the demo loader (a system actor, no
    user) the first clinic admin."""
    if actor.user_id:
        return actor.user
    from ketaclinic.accounts.models import RoleGrant

    grant = (RoleGrant.objects.filter(role="clinic_admin", clinic=current_clinic()).select_related("user")
             .order_by("pk").first())
    if grant is None:
        raise BillingError("A person must set prices.")
    return grant.user


def number(prefix: str) -> str:
    """The next gap-free number of a series ("INV-000042", "RCP-000007", "GFE-000003")."""
    return f"{prefix}-{next_number(f'billing.{prefix.lower()}'):06d}"


def profile_for(clinic) -> BillingProfile:
    profile = BillingProfile.objects.filter(clinic=clinic).first()
    return profile if profile is not None else BillingProfile(clinic=clinic)


@dataclass(frozen=True)
class Figures:
    """An invoice's money: its total, what was paid (cash, card or package), refunded, and still owed."""

    total: int
    paid: int
    refunded: int
    unused_refunded: int

    @property
    def balance(self) -> int:
        return self.total - self.paid + self.refunded

    @property
    def net_paid(self) -> int:
        """What the patient has paid and not had back (ordinary refunds and unused-session refunds)."""
        return self.paid - self.refunded - self.unused_refunded


def _sums(prefix: str = "") -> dict:
    """Payments, refunds and unused-session refunds summed, by kind (``prefix`` "payments__" from an invoice)."""
    kinds = {"paid_cents": Payment.Kind.PAYMENT, "refunded_cents": Payment.Kind.REFUND,
             "unused_cents": Payment.Kind.UNUSED_REFUND}
    return {name: Coalesce(Sum(f"{prefix}amount_cents", filter=Q(**{f"{prefix}kind": kind})), 0)
            for name, kind in kinds.items()}


def figures(invoice: Invoice) -> Figures:
    s = Payment.objects.filter(invoice=invoice).aggregate(**_sums())
    return Figures(invoice.total_cents, s["paid_cents"], s["refunded_cents"], s["unused_cents"])


def annotate_figures(invoices):
    """``invoices`` with ``paid_cents``, ``refunded_cents`` and ``unused_cents`` annotated (one query)."""
    return invoices.annotate(**_sums("payments__"))


def annotated_figures(invoice) -> Figures:
    return Figures(invoice.total_cents, invoice.paid_cents, invoice.refunded_cents, invoice.unused_cents)
