"""The strengths a dose may be prepared from: the clinic's stocked strengths when the custody app tells us, else
the strengths the product is made in (the label's).

treatments must not import custody (custody imports treatments), so custody registers a provider here from its
``AppConfig.ready``::

    from ketaclinic.treatments import stock
    stock.register(lambda clinic, drug: ...)   # the strengths (Decimal) with stock on hand

Until a provider is registered, the choice is limited to the label strengths
(:func:`ketaclinic.clinical.products.product_strengths`), which already rules out a typo such as 5 for 50 mg/mL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from ketaclinic.clinical import products

Provider = Callable[[object, str], Iterable[Decimal] | None]
_provider: Provider | None = None


def register(provider: Provider | None) -> None:
    """Set (or with None, clear) the function giving a clinic's stocked strengths of a drug."""
    global _provider
    _provider = provider


def strengths(clinic: object, drug: str) -> tuple[Decimal, ...]:
    """The strengths a dose of ``drug`` may be prepared from at ``clinic``: stocked ones that are label strengths
    when a provider is registered (it may answer None for 'unknown'), otherwise the label strengths."""
    made = products.product_strengths(drug)
    if _provider is None:
        return made
    stocked = _provider(clinic, drug)
    if stocked is None:
        return made
    held = {Decimal(s) for s in stocked}
    return tuple(s for s in made if s in held)


def stock_known() -> bool:
    """True when the clinic's stock (not only the label) limits the choice."""
    return _provider is not None
