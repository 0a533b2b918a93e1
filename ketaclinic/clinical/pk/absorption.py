"""Adult intramuscular (IM) absorption of racemic ketamine, built only from the reference's values.

pk-models.md §1.4 ("IM, adult" row) gives F 93% and Tmax 5-15 min, usually attributed to Clements 1982 (J Pharm
Sci 71:539) and seen only in secondary summaries: status **U**. It gives no absorption rate constant. So for each
IV disposition model the absorption rate ka (first order, no lag) is solved so that the model's own Tmax after a
single IM dose is each end of that range: the cockpit then draws, per model, one curve for each end. The three
numbers are clinic settings (``pk.im_bioavailability``, ``pk.im_tmax_min_low``, ``pk.im_tmax_min_high``), shown
as unconfirmed; the defaults below are the reference's.

Mathematics (pk-models.md §4.1): after a unit bolus the level is sum_i c_i e^(-lam_i t); after an IM dose D with
bioavailability F and rate ka it is F D ka sum_i c_i (e^(-lam_i t) - e^(-ka t)) / (ka - lam_i), whose slope is

    F D ka sum_i c_i (ka e^(-ka t) - lam_i e^(-lam_i t)) / (ka - lam_i).

For a fixed T the slope at T is positive when ka is small (still absorbing) and negative when ka is large (as
after a bolus). ``ka_for_tmax`` finds the ka where it is zero by bisection on log(ka) to machine precision, then
checks on the closed form that T is the curve's highest point (every stationary point isolated exactly by
``exp_sum_roots``), so the solved ka reproduces the Tmax it was asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .engine import NG_PER_ML_PER_MG_PER_L, Modes, exp_sum_roots
from .errors import PKInputError
from .models import Model, Param, Patients, get_model
from .regimen import Absorbed, Absorption, Regimen

_SRC = ("pk-models.md §1.4 'IM, adult' row: F 93% (widely quoted) and Tmax 5-15 min, usually attributed to "
        "Clements 1982 (J Pharm Sci 71:539); only secondary summaries were seen")
IM_BIOAVAILABILITY = Param("F", 0.93, "fraction", _SRC, "U")
IM_TMAX_LOW = Param("Tmax low", 5.0, "min", _SRC, "U")
IM_TMAX_HIGH = Param("Tmax high", 15.0, "min", _SRC, "U")
#: In words, for every place an IM curve is shown.
IM_NOTE = ("The IM absorption is unconfirmed: F and Tmax come from secondary summaries (pk-models.md §1.4, status "
           "U) and are clinic settings; the absorption rate is solved so that each model peaks at each end of the "
           "Tmax range.")


def bolus_response(model: Model | str, patients: Patients, output: str | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The model's level (ng/mL) after a 1 mg bolus into its central compartment, as sum_i c_i e^(-lam_i t):
    ``(lam, c)``, each of shape (patients, modes), lam in 1/min."""
    m = model if isinstance(model, Model) else get_model(model)
    m.check_population(patients)
    built = m.build(patients)
    name = output or m.outputs[0]
    if name not in built.observe:
        raise PKInputError(f"the {m.name} model predicts {', '.join(m.outputs)}, not {name!r}.", "output")
    obs = built.observe[name]
    modes = Modes.of(built.system)
    central = built.system.index("central")
    w = modes.P[:, obs.compartment, :] * (NG_PER_ML_PER_MG_PER_L / np.asarray(obs.volume, dtype=float))[:, None]
    return modes.lam, w * modes.Pinv[:, :, central]


def _pairs(lams: Sequence[float], coefs: Sequence[float]) -> list[tuple[float, float]]:
    pairs = [(float(lam), float(c)) for lam, c in zip(lams, coefs, strict=True)]
    if not pairs or any(not (math.isfinite(lam) and lam > 0 and math.isfinite(c)) for lam, c in pairs):
        raise PKInputError("a disposition needs rates above 0 per minute and finite coefficients.", "lams")
    return pairs


def _dd(ka: float, lam: float, t: float) -> float:
    """(ka e^(-ka t) - lam e^(-lam t)) / (ka - lam), the divided difference of x e^(-x t), exact as ka -> lam."""
    if abs(ka - lam) <= 1e-6 * max(ka, lam):
        mid = 0.5 * (ka + lam)
        return math.exp(-mid * t) * (1.0 - mid * t)
    return (ka * math.exp(-ka * t) - lam * math.exp(-lam * t)) / (ka - lam)


def _slope(ka: float, pairs: list[tuple[float, float]], t: float) -> float:
    """The slope of the level at t after an IM dose, divided by F D ka (> 0)."""
    return math.fsum(c * _dd(ka, lam, t) for lam, c in pairs)


def _level(ka: float, pairs: list[tuple[float, float]], t: float) -> float:
    """The level at t after an IM dose, divided by F D ka."""
    return math.fsum(c * (math.exp(-lam * t) - math.exp(-ka * t)) / (ka - lam) for lam, c in pairs)


def tmax(ka_per_min: float, lams: Sequence[float], coefs: Sequence[float]) -> float:
    """The time (min) of the highest level after a single IM dose absorbed at ``ka_per_min`` (no lag) into the
    disposition ``sum_i coefs_i e^(-lams_i t)``: every zero of the slope is isolated on the closed form and the
    highest of them taken."""
    pairs = _pairs(lams, coefs)
    if not math.isfinite(ka_per_min) or ka_per_min <= 0:
        raise PKInputError("the absorption rate must be more than 0 per minute.", "ka_per_min")
    if any(abs(ka_per_min - lam) <= 1e-9 * lam for lam, _ in pairs):
        raise PKInputError("the absorption rate equals a disposition rate; choose another.", "ka_per_min")
    # slope / (F D ka) = sum_i [c_i ka / (ka - lam_i)] e^(-ka t) - [c_i lam_i / (ka - lam_i)] e^(-lam_i t)
    cs = [sum(c * ka_per_min / (ka_per_min - lam) for lam, c in pairs)] + \
        [-c * lam / (ka_per_min - lam) for lam, c in pairs]
    rates = [ka_per_min] + [lam for lam, _ in pairs]
    hi = 200.0 / min(rates)
    roots = exp_sum_roots(0.0, cs, rates, 0.0, hi)
    if not roots:
        raise PKInputError("the level after this IM dose has no peak.", "ka_per_min")
    return max(roots, key=lambda t: _level(ka_per_min, pairs, t))


def ka_for_tmax(tmax_min: float, lams: Sequence[float], coefs: Sequence[float]) -> float:
    """The first-order absorption rate (1/min, no lag) for which the level after a single IM dose into the
    disposition ``sum_i coefs_i e^(-lams_i t)`` peaks at ``tmax_min``."""
    if not isinstance(tmax_min, (int, float)) or not math.isfinite(tmax_min) or tmax_min <= 0:
        raise PKInputError("Tmax must be more than 0 minutes.", "tmax_min")
    pairs = _pairs(lams, coefs)
    T = float(tmax_min)
    lo = hi = 1.0 / T
    for _ in range(200):  # slope at T > 0 for a slow absorption (still rising), < 0 for a fast one
        if _slope(lo, pairs, T) > 0:
            break
        lo /= 2
    else:
        raise PKInputError(f"no absorption rate makes this model peak as late as {T:g} min.", "tmax_min")
    for _ in range(200):
        if _slope(hi, pairs, T) < 0:
            break
        hi *= 2
    else:
        raise PKInputError(f"no absorption rate makes this model peak as early as {T:g} min.", "tmax_min")
    while hi - lo > 2e-16 * hi:  # bisection on log(ka)
        mid = math.sqrt(lo * hi)
        if not lo < mid < hi:
            break
        if _slope(mid, pairs, T) > 0:
            lo = mid
        else:
            hi = mid
    ka = lo if abs(_slope(lo, pairs, T)) <= abs(_slope(hi, pairs, T)) else hi
    if any(abs(ka - lam) <= 1e-9 * lam for lam, _ in pairs):
        ka = math.nextafter(ka, math.inf)
    if abs(tmax(ka, lams, coefs) - T) > 1e-6 * max(1.0, T):
        raise PKInputError(f"the model's level after an IM dose has more than one peak; no single absorption "
                           f"rate makes it peak at {T:g} min.", "tmax_min")
    return ka


def im_absorption(model: Model | str, weight_kg: float, age_years: float, tmax_min: float,
                  bioavailability: float = IM_BIOAVAILABILITY.value) -> Absorption:
    """The adult IM absorption for one patient under ``model``: ka solved for ``tmax_min`` on the model's own
    disposition, no lag, ``bioavailability`` (default pk-models.md §1.4's 93%, status U)."""
    lam, c = bolus_response(model, Patients.of(weight_kg, age_years))
    return Absorption(ka_for_tmax(tmax_min, lam[0].tolist(), c[0].tolist()), bioavailability, 0.0)


def with_absorption(regimen: Regimen, absorption: Absorption, route: str = "im") -> Regimen:
    """The regimen with ``absorption`` given to each absorbed dose of ``route``."""
    return Regimen([Absorbed(d.time_min, d.dose_mg, d.route, absorption)
                    if isinstance(d, Absorbed) and d.route == route else d for d in regimen.doses])
