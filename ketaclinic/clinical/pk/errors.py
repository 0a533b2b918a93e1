"""Errors and the label every result carries."""

from __future__ import annotations

from ..errors import ClinicalInputError

#: Shown next to every predicted level, in every result, CSV and chart.
LABEL = "model estimate, not a measured level"


class PKInputError(ClinicalInputError):
    """Bad input to the pharmacokinetic simulator (a ``ValueError``): a sentence a clinician or researcher can act
    on, and the offending argument in ``field``. Nothing is clamped or guessed."""
