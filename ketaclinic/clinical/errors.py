"""Errors raised by the clinical rules library."""

from __future__ import annotations


class ClinicalInputError(ValueError):
    """Bad input to a clinical rule: out-of-range answer, wrong item, absurd weight, unknown setting...

    ``field`` names the offending input (an item id, a setting key, an argument name) where there is one;
    ``message`` is a sentence a clinician or nurse can act on.  Nothing in this package clamps or guesses:
    it raises this error instead.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message
