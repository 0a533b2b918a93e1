"""Session-day rules: how often vitals are due, who is asked for a pregnancy test, and how closely an
independent dose verification must match. Pure functions; sources in each docstring."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ketaclinic.clinical.settings import resolve

#: Independent dose verification: the second clinician's numbers must match the prepared ones to the rounding
#: step of the dose maths (weight 0.1 kg, dose 0.1 mg; ``ketaclinic.clinical.dosing``). A data-matching
#: tolerance, not a clinical threshold.
VERIFY_WEIGHT_TOLERANCE_KG = Decimal("0.1")
VERIFY_DOSE_TOLERANCE_MG = Decimal("0.1")


def vitals_interval_minutes(route: str, phase: str, settings: Mapping[str, object] | None = None) -> int:
    """Minutes between vitals readings for a route ("iv", "im", "intranasal") and phase ("during", "after").

    IV: ``vitals.iv_interval_during_minutes`` (10) during the infusion and ``vitals.iv_interval_after_minutes``
    (15) afterwards (clinical.md §1 'Vitals: when' row, Emory series, C). IM: ``vitals.im_interval_minutes``;
    esketamine: ``vitals.esketamine_interval_minutes`` (clinical.md gives no interval for either; unconfirmed
    settings whose default mirrors the IV after-infusion interval).
    """
    cfg = resolve(settings)
    if route == "iv":
        key = "vitals.iv_interval_during_minutes" if phase == "during" else "vitals.iv_interval_after_minutes"
    elif route == "im":
        key = "vitals.im_interval_minutes"
    elif route == "intranasal":
        key = "vitals.esketamine_interval_minutes"
    else:
        from ketaclinic.clinical.errors import ClinicalInputError

        raise ClinicalInputError(f"Unknown route {route!r}; use iv, im or intranasal.", field="route")
    return int(cfg[key])  # type: ignore[arg-type]


def pregnancy_test_applies(sex_at_birth: str) -> bool:
    """Whether the pre-dose checklist asks for a pregnancy test result.

    clinical.md §2 pregnancy row (SPR-PI §8.1, C) makes pregnancy a contraindication to weigh, but gives no rule
    for whom to test; the cautious choice is to ask everyone not recorded male at birth (the nurse may record
    "not applicable", which is kept in the record)."""
    return sex_at_birth != "male"


def matches(entered: Decimal, prepared: Decimal, tolerance: Decimal) -> bool:
    """True when an independently entered value agrees with the prepared one within ``tolerance``."""
    return abs(Decimal(entered) - Decimal(prepared)) <= tolerance
