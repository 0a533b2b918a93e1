"""Population uncertainty: Monte Carlo over a model's published inter-individual variability, with a seeded
random generator, summarised as percentile bands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .engine import Grid
from .errors import LABEL, PKInputError
from .models import Model, Patients
from .regimen import Regimen
from .simulate import _model, _times, simulate


def sample_etas(model: Model | str, n: int, seed: int) -> dict[str, np.ndarray]:
    """Random effects for ``n`` virtual patients from the model's published variances (independent normal
    deviates; the model's ``Variability`` rows say on which scale each acts)."""
    m = _model(model)
    if not m.variability:
        raise PKInputError(f"the {m.name} model publishes no inter-individual variability, so it has no "
                           "population band.", "model")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise PKInputError("the number of virtual patients must be a whole number of 1 or more.", "n")
    rng = np.random.default_rng(seed)
    return {v.param: rng.standard_normal(n) * np.sqrt(v.omega2) for v in m.variability}


@dataclass(frozen=True)
class Band:
    """Percentiles across virtual patients at every time: ``bands[output]`` has shape (len(percentiles), times)
    in ng/mL."""

    model: str
    output_units: str
    times_min: np.ndarray
    percentiles: tuple[float, ...]
    bands: dict[str, np.ndarray]
    n: int
    seed: int
    variability_source: str
    label: str = LABEL


def monte_carlo(model: Model | str, regimen: Regimen, weight_kg: float, age_years: float,
                times: Grid | Sequence[float] | np.ndarray, n: int = 1000, seed: int = 0,
                percentiles: Sequence[float] = (5.0, 50.0, 95.0), asian: bool = False,
                japanese: bool = False) -> Band:
    """Simulate ``n`` virtual copies of one patient whose parameters vary as the model publishes, and return
    the percentile bands. The same seed gives the same band."""
    m = _model(model)
    pct = tuple(float(p) for p in percentiles)
    if not pct or any(not 0 <= p <= 100 for p in pct) or list(pct) != sorted(pct):
        raise PKInputError("percentiles are ascending numbers from 0 to 100.", "percentiles")
    etas = sample_etas(m, n, seed)
    patients = Patients.of(np.full(n, float(weight_kg)), np.full(n, float(age_years)), asian, japanese)
    pred = simulate(m, regimen, patients, times, etas=etas)
    bands = {name: np.percentile(c, pct, axis=0) for name, c in pred.concentrations.items()}
    src = "; ".join(f"{v.param} ({v.scale}, omega2 {v.omega2:.4g}): {v.source} [{v.status}]" for v in m.variability)
    return Band(m.name, "ng/mL", _times(times), pct, bands, n, seed, src)
