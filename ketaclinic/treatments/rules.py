"""Small pure rules the clinical core does not (yet) have. Each cites its source; the integrator may move them
into ``ketaclinic.clinical``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ketaclinic.clinical.settings import resolve

#: Independent dose verification: the second clinician's numbers must match the prepared ones to the rounding
#: step of the dose maths (weight 0.1 kg, dose 0.1 mg; ``ketaclinic.clinical.dosing.ROUNDING_RULE``). This is a
#: data-matching tolerance, not a clinical threshold.
VERIFY_WEIGHT_TOLERANCE_KG = Decimal("0.1")
VERIFY_DOSE_TOLERANCE_MG = Decimal("0.1")


def vitals_interval_minutes(route: str, phase: str, settings: Mapping[str, object] | None = None) -> int:
    """Minutes between vitals readings for a route and phase.

    IV: every ``vitals.iv_interval_during_minutes`` (10) during the infusion and every
    ``vitals.iv_interval_after_minutes`` (15) afterwards (clinical.md §1 'Vitals: when' row, Emory series, C).
    IM and esketamine: clinical.md gives no interval (§3c 'BP' row: before dosing, ~40 min after, then "as
    clinically warranted"), so the clinic's IV post-infusion interval is used for both phases; UNCONFIRMED
    choice, a dedicated setting should be added to the core.
    """
    cfg = resolve(settings)
    if route == "iv" and phase == "during":
        return int(cfg["vitals.iv_interval_during_minutes"])  # type: ignore[arg-type]
    return int(cfg["vitals.iv_interval_after_minutes"])  # type: ignore[arg-type]


def pregnancy_test_applies(sex_at_birth: str) -> bool:
    """Whether the pre-dose checklist asks for a pregnancy test result.

    clinical.md §2 pregnancy row (SPR-PI §8.1, C) makes pregnancy a contraindication to weigh, but gives no rule
    for whom to test; the cautious choice is to ask for everyone not recorded male at birth (the nurse may
    record "not applicable", which is kept in the record)."""
    return sex_at_birth != "male"


def matches(entered: Decimal, prepared: Decimal, tolerance: Decimal) -> bool:
    return abs(Decimal(entered) - Decimal(prepared)) <= tolerance
