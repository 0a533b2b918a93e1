"""What every custody use case shares: the refusal type, who may do what, the one quantity parser, and the
``use_case`` decorator that runs each use case in its own durable transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

from ketaclinic.accounts.roles import Role
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Product
from ketaclinic.inputs import plain_decimal
from ketaclinic.usecases import UseCase, use_case  # noqa: F401  (re-exported for the custody services)

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


def whole_device_problem(container, quantity: Decimal) -> str | None:
    """A nasal-spray device leaves the stock whole: it is drawn whole, and destroying, losing or returning a fraction
    of one would leave a fraction that no draw can ever take. None when ``quantity`` is fine for ``container``."""
    if container.lot.product.form == Product.Form.DEVICE and quantity != quantity.to_integral_value():
        return (f"Nasal spray devices are counted whole: enter a whole number of devices "
                f"(not {quantity:f}).")
    return None


def removal_problem(container, quantity: Decimal, *, pending: Decimal | None = None) -> str | None:
    """Why ``quantity`` cannot leave ``container``'s stock for good (destroyed, lost or returned): a fraction of a
    nasal-spray device (:func:`whole_device_problem`), or more than remains in it; ``pending``, when given, is what
    destructions already requested hold of it, and is not there to take. None when it can."""
    whole = whole_device_problem(container, quantity)
    if whole is not None:
        return whole
    available = container.balance - (pending or ZERO)
    if quantity > available:
        after = "" if pending is None else " (after other pending destructions)"
        return f"Only {available} {container.lot.product.unit} remain in {container.label}{after}."
    return None


def _dec(value) -> Decimal:
    """An aggregate as an exact 0.01 Decimal (SQLite sums decimals in floating point)."""
    return ZERO if value is None else rules.q2(value)


def settings_for(clinic: Clinic | None = None) -> dict:
    return (clinic or current_clinic()).limits()
