"""One shape for every safety guard's answer: go ahead, needs a prescriber's override, or stop.

A guard never raises for a clinical finding; it returns a :class:`GuardDecision` whose ``reason`` is a sentence
a nurse can act on (what is wrong and what to do next) and whose ``cleared_by`` says who, if anyone, may clear
it.  Bad *input* (not a number, unknown route) still raises :class:`~ketaclinic.clinical.errors.ClinicalInputError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Outcome(StrEnum):
    """What a guard decided."""

    OK = "ok"  #: nothing stops the step
    NEEDS_OVERRIDE = "needs_override"  #: a prescriber may let it go ahead with a written reason
    BLOCK = "block"  #: the step does not happen; ``cleared_by`` says what clears it ("" = nothing can)


#: ``cleared_by`` values the apps can rely on.
CLEARED_BY_NOTHING = ""
CLEARED_BY_PRESCRIBER = "prescriber"
CLEARED_BY_SECOND_CLINICIAN = "second clinician"
CLEARED_BY_REPEAT_READING = "repeat reading"


@dataclass(frozen=True)
class GuardDecision:
    """A guard's answer.

    ``kind``: :class:`Outcome`.  ``reason``: empty when OK (or a short note), otherwise what is wrong and what to
    do next, in a nurse's words.  ``rule``: the rulebook id (:mod:`ketaclinic.clinical.rulebook`).  ``source``:
    where the rule comes from.  ``cleared_by``: who or what may clear a BLOCK or NEEDS_OVERRIDE ("" = nothing: a
    hard limit).  ``details``: the numbers behind the decision, for the cockpit and the audit trail.
    """

    kind: Outcome
    reason: str
    rule: str
    source: str
    cleared_by: str = CLEARED_BY_NOTHING
    details: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def ok(self) -> bool:
        return self.kind is Outcome.OK

    @property
    def blocked(self) -> bool:
        return self.kind is Outcome.BLOCK

    @property
    def needs_override(self) -> bool:
        return self.kind is Outcome.NEEDS_OVERRIDE

    @property
    def hard(self) -> bool:
        """True for a block nothing can clear (a label limit or an impossible value)."""
        return self.kind is Outcome.BLOCK and not self.cleared_by


def decision(kind: Outcome, reason: str, rule: str, source: str, cleared_by: str = CLEARED_BY_NOTHING,
             **details: object) -> GuardDecision:
    """Build a :class:`GuardDecision` with read-only ``details``."""
    return GuardDecision(kind, reason, rule, source, cleared_by, MappingProxyType(dict(details)))
