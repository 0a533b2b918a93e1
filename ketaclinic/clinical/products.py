"""The strengths ketamine and esketamine come in, and the check that a dose is worked out from a stocked product.

A concentration typed by hand can be off by ten (5 for 50 mg/mL gives ten times the volume); a concentration
chosen from what the clinic holds cannot.  The apps pass the strengths the clinic stocks (from custody's products
with stock on hand); this module refuses anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from .errors import ClinicalInputError
from .guards import CLEARED_BY_NOTHING, GuardDecision, Outcome, decision

KETAMINE = "ketamine"
ESKETAMINE = "esketamine"

#: Strengths each product is made in: racemic ketamine injection in mg/mL, esketamine nasal spray in mg per device.
PRODUCT_STRENGTHS: dict[str, tuple[Decimal, ...]] = {
    KETAMINE: (Decimal(10), Decimal(50), Decimal(100)),
    ESKETAMINE: (Decimal(28),),
}
STRENGTH_UNIT: dict[str, str] = {KETAMINE: "mg/mL", ESKETAMINE: "mg per device"}
PRODUCT_SOURCE = (
    "Ketamine: Ketalar (ketamine hydrochloride injection) PI, How Supplied: multiple-dose vials of 10, 50 and "
    "100 mg/mL (label text as quoted at inpharmd.com; S); 10 mg/mL on openFDA NDC 42023-113 and 100 mg/mL on the "
    "RxCUI 238083 NDCs (clinical.md §5b, C). Esketamine: 28 mg per device (clinical.md §3b 'Device' row, C)"
)


def _strength(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ClinicalInputError(f"must be a number, not {value!r}", name)
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ClinicalInputError(f"must be a number, not {value!r}", name) from None
    if not d.is_finite() or d <= 0:
        raise ClinicalInputError(f"must be a number above 0, not {value!r}", name)
    return d


def product_strengths(drug: str) -> tuple[Decimal, ...]:
    """The strengths ``drug`` ("ketamine" or "esketamine") is made in (see :data:`PRODUCT_SOURCE`)."""
    try:
        return PRODUCT_STRENGTHS[drug]
    except KeyError:
        raise ClinicalInputError(f"drug must be ketamine or esketamine, not {drug!r}", "drug") from None


def _fmt(values: Iterable[Decimal]) -> str:
    return ", ".join(f"{v.normalize():f}" for v in values)


def stocked_strength_check(drug: str, strength: object, stocked: Iterable[object]) -> GuardDecision:
    """Is ``strength`` (mg/mL for ketamine, mg per device for esketamine) one the clinic stocks?

    BLOCK (nothing clears it: choose the right product) when the strength is not in ``stocked``, naming the stocked
    strengths; the message also says when the number is not a strength the drug is made in at all (a typo such as
    5 for 50 mg/mL).  ``stocked`` is what the clinic holds, passed by the app.  Source: :data:`PRODUCT_SOURCE`.
    """
    made = product_strengths(drug)
    value = _strength(strength, "strength")
    held = sorted({_strength(s, "stocked") for s in stocked})
    unit = STRENGTH_UNIT[drug]
    what = "ketamine" if drug == KETAMINE else "esketamine"
    if value in held:
        return decision(Outcome.OK, "", "dosing.stock", PRODUCT_SOURCE, strength=str(value), stocked=_fmt(held))
    if not held:
        reason = (f"No {what} is in stock to prepare this dose from. Receive stock into custody first, or ask the "
                  "pharmacist or clinic lead.")
    else:
        not_made = "" if value in made else (f"{value.normalize():f} {unit} is not a strength {what} is made in "
                                             f"({_fmt(made)} {unit}). ")
        reason = (f"{not_made}The clinic stocks {what} at {_fmt(held)} {unit}, not {value.normalize():f} {unit}. "
                  f"Read the strength on the {'vial' if drug == KETAMINE else 'device'} label and choose it from the "
                  "stocked products.")
    return decision(Outcome.BLOCK, reason, "dosing.stock", PRODUCT_SOURCE, CLEARED_BY_NOTHING,
                    strength=str(value), stocked=_fmt(held))


def require_stocked(drug: str, strength: object, stocked: Iterable[object] | None, field: str) -> None:
    """Raise :class:`ClinicalInputError` (``field``) when ``stocked`` is given and ``strength`` is not in it."""
    if stocked is None:
        return
    d: GuardDecision = stocked_strength_check(drug, strength, stocked)
    if not d.ok:
        raise ClinicalInputError(d.reason, field)
