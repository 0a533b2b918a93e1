"""What treatments needs of the controlled-substance ledger, which it must not import (custody imports
treatments): the session's :class:`DrugAccount` (draws, administration, waste, what may be drawn now, why it does
not balance) and, from it, the strengths a dose may be prepared from. Custody registers the provider from its
``AppConfig.ready``::

    from ketaclinic.treatments import stock
    stock.register_account(session_account)   # session -> DrugAccount

Until a provider is registered (or when the clinic keeps no stock of the drug in KetaClinic), the strengths
offered are the label's (:func:`ketaclinic.clinical.products.product_strengths`), which already rules out a typo
such as 5 for 50 mg/mL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ketaclinic.clinical import products


# ------------------------------------------------------------------------------------- the session's drug account
@dataclass(frozen=True)
class StockOption:
    """A vial or device the session's dose may be drawn from now (custody's own draw rules passed)."""

    key: str                 # the container's external id, as the draw form posts it
    label: str               # e.g. "V-0003 · Ketamine HCl 50 mg/mL 10 mL · lot A1 (exp 2027-05-31) · 7.20 mL left"
    lot_number: str
    strength_mg_per_mL: Decimal | None
    unit: str
    balance: Decimal


@dataclass(frozen=True)
class DrawLine:
    at: datetime
    container: str
    lot_number: str
    quantity: Decimal
    mg: Decimal
    by: str
    administered: Decimal
    wasted: Decimal


@dataclass(frozen=True)
class DrugAccount:
    """What the controlled-substance ledger holds for one session, as the cockpit and signing need it."""

    unit: str
    draws: tuple[DrawLine, ...]
    drawn: Decimal
    drawn_mg: Decimal
    administered: Decimal
    wasted: Decimal
    pending_waste: Decimal
    problems: tuple[str, ...]        # why it does not balance (clinical.custody.session_account_problems)
    options: tuple[StockOption, ...]  # what may be drawn now
    stock_known: bool                # the clinic records vials/devices of this drug in KetaClinic

    @property
    def balanced(self) -> bool:
        return not self.problems

    @property
    def residue(self) -> Decimal:
        return self.drawn - self.administered - self.wasted - self.pending_waste


AccountProvider = Callable[[object], DrugAccount]
_account: AccountProvider | None = None


def register_account(provider: AccountProvider | None) -> AccountProvider | None:
    """Set (or with None, clear) the function giving a session's :class:`DrugAccount`; returns the one replaced."""
    global _account
    previous, _account = _account, provider
    return previous


def account(session) -> DrugAccount | None:
    """The session's drug account, or None when no ledger is installed (custody registers one at start-up)."""
    return _account(session) if _account is not None else None


_UNKNOWN = object()


def strengths(session, known=_UNKNOWN) -> tuple[Decimal, ...]:
    """The strengths the dose of ``session`` may be prepared from: the label strengths the session could draw a
    vial of now, when the clinic keeps its stock in KetaClinic; otherwise the label strengths. ``known``: the
    session's account, when the caller has it already (one walk over the stock, not two)."""
    made = products.product_strengths(session.drug)
    held = account(session) if known is _UNKNOWN else known
    if held is None or not held.stock_known:
        return made
    stocked = {o.strength_mg_per_mL for o in held.options if o.strength_mg_per_mL is not None}
    return tuple(s for s in made if s in stocked)
