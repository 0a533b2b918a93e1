"""Dosing regimens for the simulator: what was given, when (minutes from the session start), how much (mg).

A dose may be one number (the same for every virtual patient) or an array with one value per patient (e.g. a
mg/kg dose times each patient's weight: :func:`mg_per_kg`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..discharge import ROUTES  # the routes the clinic gives; a model states which it has parameters for
from .errors import PKInputError

Amount = float | np.ndarray


def _finite_time(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise PKInputError("must be a finite number of minutes from the session start.", name)


def _positive(value: Amount, name: str, unit: str) -> None:
    if not (isinstance(value, np.ndarray) and value.dtype.kind in "iuf") and any(
            isinstance(v, (str, bytes)) for v in np.ravel(np.asarray(value, dtype=object))):
        raise PKInputError(f"must be a number of {unit}, not text.", name)
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1 or arr.size == 0:
        raise PKInputError(f"must be one number or one number per patient ({unit}).", name)
    if not np.isfinite(arr).all():
        raise PKInputError(f"must be a finite number of {unit}.", name)
    if (arr <= 0).any():
        raise PKInputError(f"must be more than 0 {unit} (a zero or negative dose is not a dose).", name)


@dataclass(frozen=True)
class Absorption:
    """First-order absorption from a depot: rate ``ka_per_min`` (1/min), ``bioavailability`` (0-1] and
    ``lag_min`` (minutes before absorption starts). Used where a model has no published absorption for a route
    and a researcher supplies one; the result then names it as user-supplied."""

    ka_per_min: float
    bioavailability: float
    lag_min: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.ka_per_min) or self.ka_per_min <= 0:
            raise PKInputError("the absorption rate must be more than 0 per minute.", "ka_per_min")
        if not math.isfinite(self.bioavailability) or not 0 < self.bioavailability <= 1:
            raise PKInputError("bioavailability is a fraction above 0 and at most 1.", "bioavailability")
        if not math.isfinite(self.lag_min) or self.lag_min < 0:
            raise PKInputError("the lag time must be 0 minutes or more.", "lag_min")


@dataclass(frozen=True)
class Bolus:
    """An IV bolus of ``dose_mg`` at ``time_min``."""

    time_min: float
    dose_mg: Amount
    route: str = "iv"

    def __post_init__(self) -> None:
        _finite_time(self.time_min, "time_min")
        _positive(self.dose_mg, "dose_mg", "mg")
        if self.route != "iv":
            raise PKInputError("a bolus here is intravenous; use Absorbed for IM or intranasal doses.", "route")


@dataclass(frozen=True)
class Infusion:
    """A constant-rate IV infusion of ``rate_mg_per_min`` from ``start_min`` to ``end_min``. A pause is the gap
    between two infusions; a rate change is one infusion ending where the next begins."""

    start_min: float
    end_min: float
    rate_mg_per_min: Amount
    route: str = "iv"

    def __post_init__(self) -> None:
        _finite_time(self.start_min, "start_min")
        _finite_time(self.end_min, "end_min")
        if self.end_min <= self.start_min:
            raise PKInputError(f"the infusion ends ({self.end_min:g} min) before or when it starts "
                               f"({self.start_min:g} min).", "end_min")
        _positive(self.rate_mg_per_min, "rate_mg_per_min", "mg/min")
        if self.route != "iv":
            raise PKInputError("an infusion is intravenous.", "route")

    @classmethod
    def of_dose(cls, dose_mg: Amount, start_min: float, end_min: float) -> Infusion:
        """``dose_mg`` spread evenly from ``start_min`` to ``end_min``."""
        _finite_time(start_min, "start_min")
        _finite_time(end_min, "end_min")
        if end_min <= start_min:
            raise PKInputError(f"the infusion ends ({end_min:g} min) before or when it starts ({start_min:g} min).",
                               "end_min")
        _positive(dose_mg, "dose_mg", "mg")
        return cls(start_min, end_min, np.asarray(dose_mg, dtype=float) / (end_min - start_min)
                   if np.ndim(dose_mg) else float(dose_mg) / (end_min - start_min))

    @property
    def dose_mg(self) -> Amount:
        return self.rate_mg_per_min * (self.end_min - self.start_min)


@dataclass(frozen=True)
class Absorbed:
    """An extravascular dose (``route`` "im" or "intranasal") of ``dose_mg`` at ``time_min``; ``absorption``
    supplies absorption parameters where the model publishes none for the route."""

    time_min: float
    dose_mg: Amount
    route: str
    absorption: Absorption | None = None

    def __post_init__(self) -> None:
        _finite_time(self.time_min, "time_min")
        _positive(self.dose_mg, "dose_mg", "mg")
        if self.route not in ROUTES or self.route == "iv":
            raise PKInputError(f"unknown route {self.route!r} for an absorbed dose: use 'im' or 'intranasal' "
                               "(IV doses are a Bolus or an Infusion).", "route")


Dose = Bolus | Infusion | Absorbed


@dataclass(frozen=True)
class Regimen:
    """The doses of one session, in any order."""

    doses: tuple[Dose, ...]

    def __init__(self, doses: Iterable[Dose]) -> None:
        items = tuple(doses)
        if not items:
            raise PKInputError("the regimen has no dose.", "doses")
        for d in items:
            if not isinstance(d, (Bolus, Infusion, Absorbed)):
                raise PKInputError(f"not a dose: {d!r}.", "doses")
        object.__setattr__(self, "doses", tuple(sorted(items, key=_start)))


def _start(d: Dose) -> float:
    return d.start_min if isinstance(d, Infusion) else d.time_min


def mg_per_kg(dose_mg_per_kg: float, weight_kg: Amount) -> Amount:
    """A weight-based dose in mg for each weight."""
    _positive(dose_mg_per_kg, "dose_mg_per_kg", "mg/kg")
    _positive(weight_kg, "weight_kg", "kg")
    return np.asarray(weight_kg, dtype=float) * dose_mg_per_kg if np.ndim(weight_kg) else \
        float(weight_kg) * dose_mg_per_kg
