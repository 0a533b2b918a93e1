"""Sedation during a session, from MOAA/S ratings (0 = no response ... 5 = responds readily to name).

Two rules: any fall from the patient's own pre-dose MOAA/S is sedation (recorded, and reported on the Spravato
REMS Patient Monitoring Form); MOAA/S at or below ``sedation.moaas_urgent_at_or_below`` (default 2: responds only
to prodding or shaking) is deep sedation with a risk to the airway, an urgent alert.  MOAA/S 0 is loss of
consciousness (clinical.md §3c, SPR-PI §5.1, C).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import ClinicalInputError
from .settings import resolve

SEDATION_SOURCE = (
    "SPR-PI §5.1: sedation measured on the MOAA/S in the esketamine trials (48-61% of patients), loss of "
    "consciousness = MOAA/S 0 (clinical.md §3c, C); J&J Medical Information on SPRAVATO sedation (2024): MOAA/S "
    "4 = mild, <= 3 = moderate or greater sedation (S). Counting ANY fall from the patient's own pre-dose score as "
    "sedation is issue 10's reading of §5.1 (U); with no pre-dose score, anything below 5 counts (cautious choice)"
)
DEEP_SEDATION_SOURCE = (
    "Setting sedation.moaas_urgent_at_or_below (default 2, unconfirmed): MOAA/S follows the ASA sedation continuum "
    "(J&J Medical Information, S); 2-1 respond only to physical stimulation (deep sedation, airway at risk)"
)
FULLY_ALERT = 5


@dataclass(frozen=True)
class SedationAssessment:
    """One MOAA/S rating judged against the pre-dose rating.

    ``sedated``: below the pre-dose score (below 5 when there is none).  ``deep``: at or below the clinic's deep
    sedation level (urgent).  ``unresponsive``: MOAA/S 0.  ``urgent``: ``deep`` (always true when unresponsive).
    ``message``: what it means and what to do, in a nurse's words ("" when not sedated).
    """

    score: int
    pre_dose_score: int | None
    sedated: bool
    deep: bool
    unresponsive: bool
    urgent: bool
    message: str
    source: str


def _level(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise ClinicalInputError(f"MOAA/S must be a whole number 0-5, not {value!r}", name)
    return value


def classify_moaas(
    score: int, pre_dose_score: int | None = None, *, settings: Mapping[str, object] | None = None
) -> SedationAssessment:
    """Classify a MOAA/S rating taken during or after dosing against the patient's pre-dose rating.

    Any fall from ``pre_dose_score`` is sedation (with no pre-dose rating, anything below 5); at or below
    ``sedation.moaas_urgent_at_or_below`` (default 2) is deep sedation, an urgent alert; 0 is loss of consciousness.
    Sources: :data:`SEDATION_SOURCE`, :data:`DEEP_SEDATION_SOURCE` (rule ``scales.moaas_sedation``).
    """
    s = _level(score, "score")
    pre = None if pre_dose_score is None else _level(pre_dose_score, "pre_dose_score")
    cfg = resolve(settings)
    deep_at = int(cfg["sedation.moaas_urgent_at_or_below"])  # type: ignore[arg-type]
    sedated = s < (pre if pre is not None else FULLY_ALERT)
    deep = s <= deep_at
    unresponsive = s == 0
    if unresponsive:
        message = ("MOAA/S 0: no response, loss of consciousness. Stop dosing, open and support the airway, check "
                   "breathing and oxygen saturation now, and call the prescriber.")
    elif deep:
        message = (f"MOAA/S {s}: deep sedation, the airway is at risk. Stop dosing, stay with the patient, check "
                   "airway, breathing and oxygen saturation now, and call the prescriber.")
    elif sedated:
        compare = f"down from {pre} before dosing" if pre is not None else "no pre-dose rating to compare with"
        message = (f"MOAA/S {s} ({compare}): the patient is sedated. Record it as sedation, keep them observed and "
                   "re-rate." + (" Rate MOAA/S before dosing next time." if pre is None else ""))
    else:
        message = ""
    return SedationAssessment(s, pre, sedated or deep, deep, unresponsive, deep, message,
                              DEEP_SEDATION_SOURCE if deep else SEDATION_SOURCE)


def sedation_occurred(
    pre_dose_score: int | None, scores_after: Iterable[int], *, settings: Mapping[str, object] | None = None
) -> bool:
    """For the REMS form's sedation question: was any MOAA/S rating after dosing sedation by
    :func:`classify_moaas` (the rule the cockpit alerts on): below the pre-dose rating (below 5 when there is
    none), or at or below the clinic's deep-sedation level ``sedation.moaas_urgent_at_or_below`` even with no fall
    from the pre-dose rating.  Pass the clinic's ``settings``.  Sources: :data:`SEDATION_SOURCE`,
    :data:`DEEP_SEDATION_SOURCE`."""
    pre = None if pre_dose_score is None else _level(pre_dose_score, "pre_dose_score")
    cfg = resolve(settings)
    return any(classify_moaas(_level(s, "scores_after"), pre, settings=cfg).sedated for s in scores_after)
