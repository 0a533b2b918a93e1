"""Pharmacokinetic simulator for ketamine and esketamine (issue 14): predicted levels, the spread across published
models, population bands and the time back below a threshold. Every result says it is a "model estimate, not a
measured level". NumPy is allowed in this package only; no Django. See docs/pk.md.
"""

from __future__ import annotations

from .absorption import (
    IM_BIOAVAILABILITY,
    IM_NOTE,
    IM_TMAX_HIGH,
    IM_TMAX_LOW,
    im_absorption,
    ka_for_tmax,
    tmax,
    with_absorption,
)
from .engine import Grid
from .errors import LABEL, PKInputError
from .models import MODELS, RACEMIC_IV_ADULT, Model, Patients, get_model
from .population import Band, monte_carlo, sample_etas
from .regimen import ROUTES, Absorbed, Absorption, Bolus, Infusion, Regimen, mg_per_kg
from .simulate import Prediction, Spread, TimeBelow, model_spread, simulate, time_below

__all__ = [
    "IM_BIOAVAILABILITY", "IM_NOTE", "IM_TMAX_HIGH", "IM_TMAX_LOW", "LABEL", "MODELS", "RACEMIC_IV_ADULT", "ROUTES",
    "Absorbed", "Absorption", "Band", "Bolus", "Grid", "Infusion",
    "Model", "PKInputError", "Patients", "Prediction", "Regimen", "Spread", "TimeBelow", "get_model", "im_absorption",
    "ka_for_tmax", "mg_per_kg", "model_spread", "monte_carlo", "sample_etas", "simulate", "time_below", "tmax",
    "with_absorption",
]
