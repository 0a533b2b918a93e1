"""What a notebook, the CLI and the cockpit call: predicted curves, the spread across published models, population
bands and the time back below a threshold. Every result carries :data:`LABEL`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .engine import Grid, evaluate, last_time_above
from .errors import LABEL, PKInputError
from .models import RACEMIC_IV_ADULT, Model, Patients, get_model
from .regimen import Regimen


def _model(model: Model | str) -> Model:
    return model if isinstance(model, Model) else get_model(model)


def _times(times: Grid | Sequence[float] | np.ndarray) -> np.ndarray:
    return times.times if isinstance(times, Grid) else np.asarray(times, dtype=float)


@dataclass(frozen=True)
class Prediction:
    """Predicted concentrations (ng/mL) of each output, shape (patients, times), for one model."""

    model: str
    drug: str
    source: str
    status: str
    times_min: np.ndarray
    concentrations: dict[str, np.ndarray]
    unit: str = "ng/mL"
    label: str = LABEL


def simulate(model: Model | str, regimen: Regimen, patients: Patients,
             times: Grid | Sequence[float] | np.ndarray, etas: Mapping[str, np.ndarray] | None = None,
             out: Mapping[str, np.ndarray] | None = None) -> Prediction:
    """Concentrations of ``model``'s outputs for each patient at ``times`` (minutes from the session start)."""
    m = _model(model)
    built = m.prepare(patients, regimen, etas)
    conc = evaluate(built.system, built.inputs, built.observe, times, out=out)
    return Prediction(m.name, m.drug, m.citation, m.status, _times(times), conc)


@dataclass(frozen=True)
class TimeBelow:
    """Per patient, the last time (minutes from the session start) the output is at or above
    ``threshold_ng_per_ml``; NaN where it never reaches it. Advice, never a discharge criterion."""

    model: str
    output: str
    threshold_ng_per_ml: float
    minutes: np.ndarray
    label: str = LABEL


def time_below(model: Model | str, regimen: Regimen, patients: Patients, threshold_ng_per_ml: float,
               output: str | None = None, etas: Mapping[str, np.ndarray] | None = None) -> TimeBelow:
    """When the predicted level falls below the threshold for good, solved on the closed form (no grid)."""
    m = _model(model)
    name = output or m.outputs[0]
    if name not in m.outputs:
        raise PKInputError(f"the {m.name} model predicts {', '.join(m.outputs)}, not {name!r}.", "output")
    if not np.isfinite(threshold_ng_per_ml) or threshold_ng_per_ml <= 0:
        raise PKInputError("the threshold must be a concentration above 0 ng/mL.", "threshold_ng_per_ml")
    built = m.prepare(patients, regimen, etas)
    minutes = last_time_above(built.system, built.inputs, built.observe[name], threshold_ng_per_ml)
    return TimeBelow(m.name, name, float(threshold_ng_per_ml), minutes)


@dataclass(frozen=True)
class Spread:
    """The published models side by side for one patient and regimen: each model's curve and, at every time,
    the lowest, median and highest of them (ng/mL)."""

    output: str
    times_min: np.ndarray
    curves: dict[str, np.ndarray]
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    sources: dict[str, str] = field(default_factory=dict)
    unit: str = "ng/mL"
    label: str = LABEL


def model_spread(regimen: Regimen, weight_kg: float, age_years: float, times: Grid | Sequence[float] | np.ndarray,
                 models: Sequence[str] = RACEMIC_IV_ADULT, output: str = "ketamine") -> Spread:
    """One patient's predicted curve under each of ``models`` (default: Domino, Clements, Hijazi) and their
    min/median/max: the published models disagree two- to fourfold after an infusion, so the spread is shown,
    not one line."""
    if not models:
        raise PKInputError("name at least one model.", "models")
    patients = Patients.of(weight_kg, age_years)
    curves, sources = {}, {}
    for key in models:
        m = get_model(key)
        if output not in m.outputs:
            raise PKInputError(f"the {m.name} model predicts {', '.join(m.outputs)}, not {output!r}.", "output")
        pred = simulate(m, regimen, patients, times)
        curves[m.name] = pred.concentrations[output][0]
        sources[m.name] = f"{m.citation} [status {m.status}]"
    stack = np.vstack(list(curves.values()))
    return Spread(output, _times(times), curves, stack.min(axis=0), np.median(stack, axis=0), stack.max(axis=0),
                  sources)
