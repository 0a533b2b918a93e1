"""The PK engine against closed forms and a tight ODE solution: bolus and infusion formulas, superposition, a
schedule with a pause and a rate change against SciPy's solve_ivp segment by segment, first-order absorption with
lag (including an absorption rate equal to the elimination rate), and the time back below a threshold against a
dense bisection."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from ketaclinic.clinical.pk.engine import (
    Grid,
    Impulse,
    LinearSystem,
    Modes,
    Observation,
    ZeroOrder,
    evaluate,
    exp_sum_roots,
    last_time_above,
)
from ketaclinic.clinical.pk.errors import PKInputError
from ketaclinic.clinical.pk.models import MODELS, mammillary

#: Domino's k10, k12, k13, k21, k31 (1/min), read from the models module so the numbers cannot drift from it.
DOMINO = tuple(MODELS["domino"].value(k) for k in ("k10", "k12", "k13", "k21", "k31"))


def three_cmt(n: int, cv: float = 0.0, seed: int = 0) -> LinearSystem:
    """Domino's 3-compartment system for n patients, each rate constant varied log-normally by ``cv``."""
    rng = np.random.default_rng(seed)
    k10, k12, k13, k21, k31 = (np.full(n, v) * np.exp(cv * rng.standard_normal(n)) for v in DOMINO)
    return mammillary(np.ones(n), k10, k12, k21, k13, k31)


def one_cmt(k: float, depot_ka: float | None = None) -> LinearSystem:
    if depot_ka is None:
        return LinearSystem(np.array([[[-k]]]), ("central",))
    return LinearSystem(np.array([[[-k, depot_ka], [0.0, -depot_ka]]]), ("central", "depot"))


def ode_reference(K: np.ndarray, inputs: list, t: np.ndarray, compartment: int, volume: float) -> np.ndarray:
    """Concentration (ng/mL) by solve_ivp (DOP853, rtol 1e-12), integrated piecewise between the input
    breakpoints and from sample to sample."""
    n = K.shape[0]
    breaks = sorted({0.0, float(t.max())} | {b for i in inputs for b in (
        (i.start, i.end) if isinstance(i, ZeroOrder) else (i.time,))})
    x = np.zeros(n)
    out = np.full(len(t), np.nan)
    for a, b in zip(breaks, breaks[1:] + [math.inf], strict=False):
        for i in inputs:
            if isinstance(i, Impulse) and i.time == a:
                x[i.compartment] += float(i.amount)
        r = np.zeros(n)
        for i in inputs:
            if isinstance(i, ZeroOrder) and i.start <= a < i.end:
                r[i.compartment] += float(i.rate)
        mask = (t >= a) & (t < b)
        if math.isinf(b):
            b = float(t.max())
        if b > a:  # each sample is an end point of the integration (no interpolation by the dense output)
            for s_end in list(t[mask]) + [b]:
                if s_end > a:
                    x = solve_ivp(lambda _s, y, r=r: K @ y + r, (a, s_end), x, method="DOP853", rtol=1e-12,
                                  atol=1e-20).y[:, -1].copy()
                    a = s_end
                out[t == s_end] = x[compartment] / volume * 1000
        elif mask.any():
            out[mask] = x[compartment] / volume * 1000
    return out


def test_one_compartment_bolus_is_dose_over_volume_times_exponential():
    k, V, D = 0.05, 40.0, 100.0
    t = np.array([0.0, 1.0, 10.0, 60.0, 600.0])
    y = evaluate(one_cmt(k), [Impulse(0, 0.0, D)], {"c": Observation(0, np.array([V]))}, t)["c"][0]
    np.testing.assert_allclose(y, D / V * np.exp(-k * t) * 1000, rtol=1e-14)


def test_infusion_reaches_rate_over_clearance():
    sysd = three_cmt(1)
    V1, R = 4.41, 0.875  # L, mg/min
    cl = DOMINO[0] * V1  # L/min
    y = evaluate(sysd, [ZeroOrder(0, 0.0, 1e5, R)], {"c": Observation(0, np.array([V1]))}, [5e4])["c"][0, 0]
    assert y == pytest.approx(R / cl * 1000, rel=1e-12)


def test_bolus_during_infusion_is_the_sum_of_both():
    sysd = three_cmt(3, cv=0.3)
    obs = {"c": Observation(0, np.array([4.0, 5.0, 6.0]))}
    t = Grid(0, 120, 0.5)
    both = evaluate(sysd, [ZeroOrder(0, 0, 40, 0.8), Impulse(0, 10.0, 20.0)], obs, t)["c"]
    one = evaluate(sysd, [ZeroOrder(0, 0, 40, 0.8)], obs, t)["c"]
    two = evaluate(sysd, [Impulse(0, 10.0, 20.0)], obs, t)["c"]
    np.testing.assert_allclose(both, one + two, rtol=1e-12, atol=1e-12)
    # right-continuous: at the bolus time the bolus is already in
    assert both[0, 20] - one[0, 20] == pytest.approx(20.0 / 4.0 * 1000, rel=1e-12)


PAUSED_SCHEDULE = [ZeroOrder(0, 0.0, 12.5, 1.2), ZeroOrder(0, 20.0, 31.0, 0.6),  # pause 12.5-20 min
                   ZeroOrder(0, 31.0, 40.0, 1.5), Impulse(0, 45.0, 5.0)]  # rate change at 31, bolus at 45


@pytest.mark.parametrize("grid", [Grid(0, 240, 1 / 60), None], ids=["uniform 1-s grid", "scattered times"])
def test_pause_and_rate_change_match_the_ode_solution(grid):
    n = 4
    sysd = three_cmt(n, cv=0.3, seed=7)
    vols = np.array([3.5, 4.4, 5.1, 7.6])
    times = grid if grid is not None else np.sort(np.random.default_rng(1).uniform(0, 240, 300))
    y = evaluate(sysd, PAUSED_SCHEDULE, {"c": Observation(0, vols)}, times)["c"]
    t = times.times if grid is not None else times
    sample = np.arange(0, len(t), 37) if grid is not None else np.arange(len(t))
    for p in range(n):
        ref = ode_reference(sysd.rates[p], PAUSED_SCHEDULE, t[sample], 0, vols[p])
        ok = ref > 0
        assert np.max(np.abs(y[p, sample][ok] / ref[ok] - 1)) <= 1e-9
        assert np.all(y[p, sample][~ok] == 0)


def test_first_order_absorption_with_lag_matches_the_closed_form():
    k, ka, V, F, D, lag = 0.01, 0.15, 50.0, 0.93, 35.0, 4.0
    t = np.array([0.0, 3.9, 4.0, 5.0, 15.0, 60.0, 300.0])
    y = evaluate(one_cmt(k, ka), [Impulse(1, lag, F * D)], {"c": Observation(0, np.array([V]))}, t)["c"][0]
    s = np.clip(t - lag, 0, None)
    expected = F * D * ka / (V * (ka - k)) * (np.exp(-k * s) - np.exp(-ka * s)) * 1000
    # the two exponentials cancel at the lag time: round-off there is absolute (~1e-16 of the peak)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12 * expected.max())


def test_absorption_rate_equal_to_elimination_rate_uses_the_limit():
    """ka == k makes the modal form singular; the engine switches that patient to the matrix exponential."""
    k, V, D = 0.02, 30.0, 50.0
    sysd = one_cmt(k, k)
    assert not Modes.of(sysd).exact[0]
    t = np.array([1.0, 10.0, 50.0, 200.0])
    y = evaluate(sysd, [Impulse(1, 0.0, D)], {"c": Observation(0, np.array([V]))}, t)["c"][0]
    np.testing.assert_allclose(y, D * k * t * np.exp(-k * t) / V * 1000, rtol=1e-10)
    tb = last_time_above(sysd, [Impulse(1, 0.0, D)], Observation(0, np.array([V])), 5.0)[0]
    assert D * k * tb * np.exp(-k * tb) / V * 1000 == pytest.approx(5.0, rel=1e-9)
    assert tb > 1 / k  # past the peak


def dense_bisection(f, lo: float, hi: float) -> float:
    """The last time f >= 0 on [lo, hi], from a 100,000-point scan refined by bisection."""
    s = np.linspace(lo, hi, 100_001)
    above = np.flatnonzero(f(s) >= 0)
    a, b = s[above[-1]], s[above[-1] + 1]
    for _ in range(200):
        m = 0.5 * (a + b)
        if f(np.array([m]))[0] >= 0:
            a = m
        else:
            b = m
    return a


def test_time_back_below_equals_a_dense_bisection():
    n = 5
    sysd = three_cmt(n, cv=0.3, seed=3)
    vols = np.array([4.0, 4.5, 5.0, 5.5, 6.0])
    obs = Observation(0, vols)
    for thr in (250.0, 100.0, 25.0):
        got = last_time_above(sysd, PAUSED_SCHEDULE, obs, thr)
        for p in range(n):
            def f(s, p=p, thr=thr):
                one = LinearSystem(sysd.rates[p:p + 1], sysd.compartments)
                return evaluate(one, PAUSED_SCHEDULE, {"c": Observation(0, vols[p:p + 1])}, s)["c"][0] - thr
            assert got[p] == pytest.approx(dense_bisection(f, 0.0, 3000.0), abs=1e-9)


def test_time_below_is_the_last_crossing_and_nan_when_never_above():
    sysd = three_cmt(1)
    obs = Observation(0, np.array([4.41]))
    two_sessions = [ZeroOrder(0, 0, 10, 3.0), ZeroOrder(0, 200, 210, 3.0)]  # crosses 100 ng/mL twice
    got = last_time_above(sysd, two_sessions, obs, 100.0)[0]
    assert 210 < got < 230
    first = last_time_above(sysd, two_sessions[:1], obs, 100.0)[0]
    assert 10 < first < 30 and got > first + 200  # what is left of the first session adds to the second

    def f(s):
        return evaluate(sysd, two_sessions, {"c": obs}, s)["c"][0] - 100.0
    assert got == pytest.approx(dense_bisection(f, 0.0, 1000.0), abs=1e-9)
    assert math.isnan(last_time_above(sysd, two_sessions, obs, 1e6)[0])


def test_exp_sum_roots_finds_every_root():
    # (e^-s - 0.5)(e^-2s - 0.1) = e^-3s - 0.5 e^-2s - 0.1 e^-s + 0.05: roots ln 2 and ln(10)/2
    roots = exp_sum_roots(0.05, [-0.1, -0.5, 1.0], [1.0, 2.0, 3.0], 0.0, 10.0)
    assert roots == pytest.approx(sorted([math.log(2), math.log(10) / 2]), abs=1e-14)
    assert exp_sum_roots(1.0, [2.0], [0.3], 0.0, 100.0) == []


@pytest.mark.parametrize("bad, field", [
    (ZeroOrder(0, 40.0, 10.0, 1.0), "end"),
    (ZeroOrder(0, 0.0, math.inf, 1.0), "start"),
    (Impulse(0, 0.0, -5.0), "amount"),
    (Impulse(3, 0.0, 5.0), "compartment"),
])
def test_engine_refuses_bad_inputs(bad, field):
    with pytest.raises(PKInputError) as err:
        evaluate(one_cmt(0.1), [bad], {"c": Observation(0, np.array([1.0]))}, [1.0])
    assert err.value.field == field and err.value.message.endswith(".")


def test_engine_refuses_a_matrix_that_creates_mass_and_a_bad_grid():
    with pytest.raises(PKInputError, match="mass"):
        LinearSystem(np.array([[[-0.1, 0.0], [0.5, -0.2]]]), ("a", "b"))
    with pytest.raises(PKInputError, match="step"):
        Grid(0, 10, 0)
    with pytest.raises(PKInputError, match="threshold"):
        last_time_above(one_cmt(0.1), [Impulse(0, 0.0, 1.0)], Observation(0, np.array([1.0])), 0.0)


@pytest.mark.parametrize("stop_s", [0, 1, 31, 32, 33, 64 * 32 + 5, 14_400])
def test_the_uniform_grid_fill_is_the_closed_form_at_every_point(stop_s):
    """The blocked matrix-product fill of a uniform grid (block starts as products of two exponentials, a last
    partial block) gives, at every point, what the pointwise closed form gives; a fast mode far past its decay
    (e^(-lam t) under 1e-260, where NumPy's exp turns slow and subnormal) comes out as 0, never NaN."""
    n = 3
    sysd = three_cmt(n, cv=0.3, seed=3)
    fast = mammillary(np.ones(1), np.array([4.0]), np.array([3.0]), np.array([2.5]))  # lam up to ~8/min
    vols = np.array([3.5, 4.4, 5.1])
    grid = Grid(0.0, stop_s / 60, 1 / 60)
    for system, obs in ((sysd, Observation(0, vols)), (fast, Observation(0, np.array([2.0])))):
        on_grid = evaluate(system, PAUSED_SCHEDULE, {"c": obs}, grid)["c"]
        pointwise = evaluate(system, PAUSED_SCHEDULE, {"c": obs}, grid.times)["c"]
        assert np.isfinite(on_grid).all()
        np.testing.assert_allclose(on_grid, pointwise, rtol=1e-13, atol=1e-300)


def test_a_reversible_model_is_diagonalised_by_the_symmetric_solver_exactly():
    """Mammillary models are reversible (K is similar to a symmetric matrix): their modes come from the symmetric
    eigensolver and reproduce K; a model with a one-way depot falls back to the general one."""
    sysd = three_cmt(50, cv=0.3, seed=5)
    modes = Modes.of(sysd)
    rebuilt = modes.P @ (-modes.lam[:, :, None] * modes.Pinv)
    np.testing.assert_allclose(rebuilt, sysd.rates, rtol=0, atol=1e-13)
    np.testing.assert_allclose(modes.lam, np.sort(-np.linalg.eigvals(sysd.rates).real, axis=1), rtol=1e-12)
    assert modes.exact.all()
    depot = one_cmt(0.01, 0.15)
    m = Modes.of(depot)
    np.testing.assert_allclose(m.lam[0], [0.01, 0.15], rtol=1e-13)


def test_a_large_grid_filled_by_two_threads_is_the_same_to_the_last_bit(monkeypatch):
    from ketaclinic.clinical.pk import engine

    sysd = three_cmt(7, cv=0.3, seed=11)
    obs = {"c": Observation(0, np.linspace(3.0, 6.0, 7))}
    grid = Grid(0.0, 240.0, 1 / 60)
    monkeypatch.setattr(engine, "WORKERS", 1)
    alone = evaluate(sysd, PAUSED_SCHEDULE, obs, grid)["c"]
    monkeypatch.setattr(engine, "WORKERS", 2)
    monkeypatch.setattr(engine, "CHUNK_PATIENTS", 2)  # four runs of patients over two threads
    monkeypatch.setattr(engine, "PARALLEL_POINTS", 1)
    assert np.array_equal(evaluate(sysd, PAUSED_SCHEDULE, obs, grid)["c"], alone)
