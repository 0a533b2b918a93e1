"""The Kaplan–Meier curve of the core (ketaclinic.clinical.survival) reproduces published tables.

Data: Freireich et al. 1963 (Blood 21:699), remission times in weeks of the 6-MP arm, as tabulated by Kleinbaum &
Klein (Survival Analysis: A Self-Learning Text, ch. 2) and Klein & Moeschberger (Survival Analysis, Table 4.1A,
which also gives Greenwood's standard errors). '*' marks a censored time.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.survival import kaplan_meier

SIX_MP = "6,6,6,6*,7,9*,10,10*,11*,13,16,17*,19*,20*,22,23,25*,32*,32*,34*,35*"
OBSERVATIONS = [(float(t.rstrip("*")), not t.endswith("*")) for t in SIX_MP.split(",")]

#: time: (at risk, events, S(t), Greenwood SE) — Kleinbaum & Klein (S) and Klein & Moeschberger Table 4.1A (SE).
PUBLISHED = {
    6: (21, 3, 0.8571, 0.0764),
    7: (17, 1, 0.8067, 0.0869),
    10: (15, 1, 0.7529, 0.0963),
    13: (12, 1, 0.6902, 0.1068),
    16: (11, 1, 0.6275, 0.1141),
    22: (7, 1, 0.5378, 0.1282),
    23: (6, 1, 0.4482, 0.1346),
}

#: The 95% log-log band at each event time, as R's survival package prints it for these data
#: (survfit(Surv(time, status) ~ 1, conf.type = "log-log")).
LOG_LOG_BAND = {6: (0.620, 0.952), 7: (0.563, 0.923), 10: (0.503, 0.889), 13: (0.432, 0.849),
                16: (0.368, 0.805), 22: (0.268, 0.747), 23: (0.188, 0.680)}


def test_survival_at_risk_and_events_match_the_6mp_table():
    curve = kaplan_meier(OBSERVATIONS)
    event_steps = {int(s.time): s for s in curve.steps if s.events}
    assert set(event_steps) == set(PUBLISHED)
    for t, (at_risk, events, surv, se) in PUBLISHED.items():
        step = event_steps[t]
        assert (step.at_risk, step.events) == (at_risk, events), t
        assert round(step.survival, 4) == surv, t
        assert round(step.std_err, 4) == se, t


def test_the_log_log_band_matches_and_holds_the_estimate():
    curve = kaplan_meier(OBSERVATIONS)
    for step in curve.steps:
        if step.events:
            low, high = LOG_LOG_BAND[int(step.time)]
            assert (round(step.lower, 3), round(step.upper, 3)) == (low, high), step.time
            assert step.lower < step.survival < step.upper


def test_censored_times_are_steps_without_a_fall():
    curve = kaplan_meier(OBSERVATIONS)
    nine = next(s for s in curve.steps if s.time == 9)
    assert (nine.at_risk, nine.events, nine.censored) == (16, 0, 1)
    assert nine.survival == pytest.approx(0.8067, abs=5e-5)
    assert sum(s.censored for s in curve.steps) == 12 and curve.events == 9 and curve.n == 21


def test_median_is_23_weeks_and_none_when_not_reached():
    assert kaplan_meier(OBSERVATIONS).median == 23
    assert kaplan_meier([(1, True), (2, False), (3, False), (4, False)]).median is None
    assert kaplan_meier([]).median is None and kaplan_meier([]).steps == ()


def test_survival_at_reads_the_step_function():
    curve = kaplan_meier(OBSERVATIONS)
    assert curve.survival_at(5.9) == 1.0
    assert curve.survival_at(6) == pytest.approx(0.857142857)
    assert curve.survival_at(21.9) == pytest.approx(0.6275, abs=5e-5)


def test_everyone_failing_ends_at_zero_with_no_band():
    curve = kaplan_meier([(1, True), (2, True)])
    last = curve.steps[-1]
    assert last.survival == 0.0 and last.std_err == 0.0 and last.lower is None and last.upper is None
    assert curve.median == 1


@pytest.mark.parametrize("bad", [
    [(-1, True)], [(float("nan"), True)], [(float("inf"), False)], [("3", True)], [(True, True)],
    [(3, 1)], [(3,)], [None],
])
def test_bad_input_raises_clinical_input_error(bad):
    with pytest.raises(ClinicalInputError):
        kaplan_meier(bad)


@given(st.lists(st.tuples(st.integers(0, 60), st.booleans()), max_size=40))
def test_the_curve_never_rises_and_stays_in_zero_one(obs):
    curve = kaplan_meier(obs)
    previous = 1.0
    for step in curve.steps:
        assert 0.0 <= step.survival <= previous + 1e-12
        previous = step.survival
        if step.lower is not None:
            assert 0.0 <= step.lower <= step.survival <= step.upper <= 1.0
    assert sum(s.events + s.censored for s in curve.steps) == len(obs)
    if curve.median is not None:
        assert curve.survival_at(curve.median) <= 0.5
        assert not any(s.survival <= 0.5 and s.time < curve.median for s in curve.steps)
    assert not any(math.isnan(s.std_err) for s in curve.steps)
