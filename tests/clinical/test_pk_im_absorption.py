"""Adult IM absorption (issue 14): the reference gives only F 93% and Tmax 5-15 min (pk-models.md §1.4, status U),
so the absorption rate is solved for each IV disposition model so that it peaks at each end of the Tmax range. The
solved rate reproduces the Tmax on the closed form written independently from pk-models.md §4.1 (to 1e-6 min),
the engine's curve peaks there too, and the values are unconfirmed clinic settings citing their source."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from ketaclinic.clinical import pk
from ketaclinic.clinical.pk import absorption
from ketaclinic.clinical.settings import SETTINGS_BY_KEY, validate_settings

MODELS = pk.RACEMIC_IV_ADULT
TMAX_ENDS = (pk.IM_TMAX_LOW.value, pk.IM_TMAX_HIGH.value)


def unit_bolus(key: str, weight_kg: float) -> tuple[list[float], list[float]]:
    """lam_i and A_i of C(t) = sum A_i e^(-lam_i t) (ng/mL per mg) from the micro-constants, by pk-models.md §4.1's
    formulas (the characteristic polynomial's roots; A_i = prod_j (k_j1 - lam_i) / (V1 prod_{j != i}
    (lam_j - lam_i))), not from the engine."""
    m = pk.get_model(key)
    k = {p.name: p.value for p in m.params}
    v1 = k["V1"] * weight_kg
    back = [k["k21"]] + ([k["k31"]] if "k31" in k else [])
    a2 = k["k10"] + k["k12"] + k.get("k13", 0.0) + sum(back)
    if len(back) == 2:
        a1 = (k["k10"] * k["k21"] + k["k10"] * k["k31"] + k["k12"] * k["k31"] + k["k13"] * k["k21"]
              + k["k21"] * k["k31"])
        lams = sorted(np.roots([1.0, -a2, a1, -k["k10"] * k["k21"] * k["k31"]]).real)
    else:
        lams = sorted(np.roots([1.0, -a2, k["k10"] * k["k21"]]).real)
    coefs = []
    for i, lam in enumerate(lams):
        num = math.prod(kb - lam for kb in back)
        den = v1 * math.prod(other - lam for j, other in enumerate(lams) if j != i)
        coefs.append(1000.0 * num / den)
    return lams, coefs


def closed_form(ka: float, lams, coefs, t: float) -> float:
    """pk-models.md §4.1: C(t) / (F D) = ka sum A_i (e^(-lam_i t) - e^(-ka t)) / (ka - lam_i)."""
    return ka * sum(a * (math.exp(-lam * t) - math.exp(-ka * t)) / (ka - lam) for lam, a in zip(lams, coefs, strict=True))


def slope(ka: float, lams, coefs, t: float) -> float:
    return ka * sum(a * (ka * math.exp(-ka * t) - lam * math.exp(-lam * t)) / (ka - lam)
                    for lam, a in zip(lams, coefs, strict=True))


@pytest.mark.parametrize("key", MODELS)
@pytest.mark.parametrize("tmax", TMAX_ENDS)
def test_the_solved_absorption_rate_peaks_at_the_asked_tmax_on_the_closed_form(key, tmax):
    a = pk.im_absorption(key, 70.0, 40.0, tmax)
    assert a.bioavailability == 0.93 and a.lag_min == 0.0
    lams, coefs = unit_bolus(key, 70.0)
    # the peak of the closed form: the slope's zero near tmax, and higher than every other time in 12 h
    peak = brentq(lambda t: slope(a.ka_per_min, lams, coefs, t), tmax / 3, tmax * 3, xtol=1e-12, rtol=1e-15)
    assert abs(peak - tmax) < 1e-6
    grid = np.linspace(0.0, 720.0, 72001)
    top = closed_form(a.ka_per_min, lams, coefs, peak)
    assert all(closed_form(a.ka_per_min, lams, coefs, t) <= top * (1 + 1e-12) for t in grid[::50])
    # the engine, given that absorption, draws the same curve and peaks there too
    dose = 35.0
    reg = pk.Regimen([pk.Absorbed(0.0, dose, "im", a)])
    fine = np.arange(0.0, 3 * tmax, 0.001)
    c = pk.simulate(key, reg, pk.Patients.of(70.0, 40.0), fine).concentrations["ketamine"][0]
    assert abs(fine[int(np.argmax(c))] - tmax) <= 0.001
    expected = [0.93 * dose * closed_form(a.ka_per_min, lams, coefs, t) for t in fine[::500]]
    assert c[::500].tolist() == pytest.approx(expected, rel=1e-9)


def test_a_later_peak_needs_a_slower_absorption_and_the_weight_does_not_move_it():
    for key in MODELS:
        fast, slow = (pk.im_absorption(key, 70.0, 40.0, t).ka_per_min for t in TMAX_ENDS)
        assert fast > slow > 0
        # V1 scales with weight in these models, so the time to peak does not depend on it
        assert pk.im_absorption(key, 110.0, 40.0, TMAX_ENDS[0]).ka_per_min == pytest.approx(fast, rel=1e-12)


def test_tmax_of_a_given_rate_inverts_the_solver():
    lams, coefs = unit_bolus("domino", 70.0)
    for ka in (0.01, 0.05, 0.3, 3.0):
        t = pk.tmax(ka, lams, coefs)
        assert pk.ka_for_tmax(t, lams, coefs) == pytest.approx(ka, rel=1e-9)
        assert slope(ka, lams, coefs, t) == pytest.approx(0.0, abs=1e-9 * abs(slope(ka, lams, coefs, 0.0)))


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_bad_tmax_is_refused(bad):
    lams, coefs = unit_bolus("domino", 70.0)
    with pytest.raises(pk.PKInputError) as e:
        pk.ka_for_tmax(bad, lams, coefs)
    assert e.value.field == "tmax_min"


def test_a_paediatric_model_is_refused_for_an_adult_and_im_needs_an_absorption():
    with pytest.raises(pk.PKInputError, match="children"):
        pk.im_absorption("herd", 70.0, 40.0, 5.0)
    with pytest.raises(pk.PKInputError, match="no published parameters for the im route"):
        pk.simulate("domino", pk.Regimen([pk.Absorbed(0.0, 35.0, "im")]), pk.Patients.of(70.0, 40.0), [0.0, 1.0])


def test_with_absorption_gives_it_to_the_im_doses_only():
    a = pk.im_absorption("domino", 70.0, 40.0, 5.0)
    reg = pk.with_absorption(pk.Regimen([pk.Absorbed(0.0, 35.0, "im"), pk.Bolus(30.0, 5.0)]), a)
    assert [getattr(d, "absorption", None) for d in reg.doses] == [a, None]


def test_the_im_values_are_unconfirmed_clinic_settings_citing_the_reference():
    for key, param in (("pk.im_bioavailability", pk.IM_BIOAVAILABILITY), ("pk.im_tmax_min_low", pk.IM_TMAX_LOW),
                       ("pk.im_tmax_min_high", pk.IM_TMAX_HIGH)):
        spec = SETTINGS_BY_KEY[key]
        assert spec.default == param.value and not spec.confirmed and param.status == "U"
        assert "pk-models.md §1.4" in spec.source and "status U" in spec.source
        assert "Clements 1982" in param.source
    assert absorption.IM_BIOAVAILABILITY.value == 0.93
    with pytest.raises(ValueError, match="must not be greater"):
        validate_settings({"pk.im_tmax_min_low": 20, "pk.im_tmax_min_high": 15})
    with pytest.raises(ValueError, match="above the allowed maximum"):
        validate_settings({"pk.im_bioavailability": 1.2})
