"""The strengths a dose may be prepared from: the clinic's stocked strengths when the custody app tells us, else
the strengths the product is made in (the label's).

treatments must not import custody (custody imports treatments), so custody registers a provider here from its
``AppConfig.ready``::

    from ketaclinic.treatments import stock
    stock.register(lambda session: ...)   # the strengths (Decimal) a dose for the session may be drawn from

Until a provider is registered, the choice is limited to the label strengths
(:func:`ketaclinic.clinical.products.product_strengths`), which already rules out a typo such as 5 for 50 mg/mL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ketaclinic.clinical import products

Provider = Callable[[object], Iterable[Decimal] | None]
_provider: Provider | None = None


def register(provider: Provider | None) -> Provider | None:
    """Set (or with None, clear) the function giving the strengths a session's dose may be drawn from; returns the
    provider it replaces."""
    global _provider
    previous, _provider = _provider, provider
    return previous


def strengths(session) -> tuple[Decimal, ...]:
    """The strengths the dose of ``session`` may be prepared from: stocked ones that are label strengths when a
    provider is registered (it may answer None for 'unknown'), otherwise the label strengths."""
    made = products.product_strengths(session.drug)
    if _provider is None:
        return made
    stocked = _provider(session)
    if stocked is None:
        return made
    held = {Decimal(s) for s in stocked}
    return tuple(s for s in made if s in held)



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
