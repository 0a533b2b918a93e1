"""Kaplan–Meier survival with right censoring, Greenwood's standard error and a 95% log-log confidence band.

Sources:

- Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc 1958;53:457-481,
  doi:10.1080/01621459.1958.10501452: the product-limit estimate S(t) = prod over event times t_j <= t of
  (1 - d_j / n_j), with n_j the number still at risk just before t_j (censored at t_j counted at risk: an
  observation censored at the same time as an event is taken to have outlived it).
- Greenwood M. The natural duration of cancer. Reports on Public Health and Medical Subjects 33, HMSO 1926:
  Var S(t) = S(t)^2 * sum d_j / (n_j (n_j - d_j)).
- The 95% band is the **log-log** ("complementary log-log") interval of Kalbfleisch & Prentice (The Statistical
  Analysis of Failure Time Data, Wiley 1980; also Klein & Moeschberger, Survival Analysis, 2nd ed. 2003, §4.3):
  S(t) ** exp(± z * se / (S log S)), which stays inside [0, 1] (the plain interval S ± z*se does not).
- Median survival: the smallest event time at which S(t) <= 0.5 (Kleinbaum & Klein, Survival Analysis: A
  Self-Learning Text); ``None`` when the curve never falls to 0.5 ("not reached").

Checked in tests/clinical/test_kaplan_meier_matches_published_tables.py against the Freireich 1963 6-MP
remission times as tabulated by Kleinbaum & Klein and by Klein & Moeschberger (Table 4.1A).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ClinicalInputError

#: Two-sided 95% normal quantile.
Z_95 = 1.959963984540054
CI_METHOD = "log-log (Kalbfleisch & Prentice 1980)"


@dataclass(frozen=True)
class KMStep:
    """The curve at one distinct observed time (an event time, a censoring time, or both).

    ``survival`` is S(t) just after ``time``; ``std_err`` is Greenwood's; ``lower``/``upper`` the 95% log-log band
    (``None`` while S(t) is 1 or 0, where the log-log interval is undefined: no event yet, or none left)."""

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    std_err: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class KMCurve:
    steps: tuple[KMStep, ...]
    n: int
    events: int
    median: float | None  # None: not reached

    def survival_at(self, t: float) -> float:
        """S(t): the step function's value at time ``t`` (1 before the first event)."""
        s = 1.0
        for step in self.steps:
            if step.time > t:
                break
            s = step.survival
        return s


def _clean(observations: Iterable[tuple[float, bool]]) -> list[tuple[float, bool]]:
    out: list[tuple[float, bool]] = []
    for n, entry in enumerate(observations):
        try:
            time, event = entry
        except (TypeError, ValueError):
            raise ClinicalInputError(f"observation {n} must be a (time, event) pair", "observations") from None
        if isinstance(time, bool) or not isinstance(time, int | float) or math.isnan(time) or math.isinf(time):
            raise ClinicalInputError(f"observation {n}: time must be a finite number, not {time!r}", "observations")
        if time < 0:
            raise ClinicalInputError(f"observation {n}: time {time} is negative", "observations")
        if not isinstance(event, bool):
            raise ClinicalInputError(
                f"observation {n}: event must be True (event) or False (censored), not {event!r}", "observations")
        out.append((float(time), event))
    return out


def kaplan_meier(observations: Iterable[tuple[float, bool]], z: float = Z_95) -> KMCurve:
    """The Kaplan–Meier curve of ``observations``: (time, event) pairs, ``event`` False for a censored time.

    Raises :class:`ClinicalInputError` on a negative, non-finite or non-numeric time or a non-boolean event."""
    data = _clean(observations)
    by_time: dict[float, list[int]] = {}
    for time, event in data:
        counts = by_time.setdefault(time, [0, 0])
        counts[0 if event else 1] += 1
    at_risk = len(data)
    s = 1.0
    greenwood = 0.0  # sum d / (n (n - d))
    steps: list[KMStep] = []
    median: float | None = None
    total_events = 0
    for time in sorted(by_time):
        d, c = by_time[time]
        if d:
            total_events += d
            s *= 1.0 - d / at_risk
            greenwood = math.inf if d == at_risk else greenwood + d / (at_risk * (at_risk - d))
            if median is None and s <= 0.5:
                median = time
        se = 0.0 if s == 0.0 or math.isinf(greenwood) else s * math.sqrt(greenwood)
        lower = upper = None
        if 0.0 < s < 1.0:
            # log-log transform: theta = log(-log S); se(theta) = sqrt(greenwood) / |log S|
            spread = z * math.sqrt(greenwood) / math.log(s)  # negative: log S < 0
            lower, upper = s ** math.exp(-spread), s ** math.exp(spread)
        steps.append(KMStep(time, at_risk, d, c, s, se, lower, upper))
        at_risk -= d + c
    return KMCurve(tuple(steps), len(data), total_events, median)
