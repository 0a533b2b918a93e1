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

