from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.outcomes import assess_change, relapse_after_induction


def test_response_is_at_least_50_percent():
    assert assess_change("madrs", 30, 15).response is True  # exactly 50%
    assert assess_change("madrs", 30, 16).response is False
    a = assess_change("phq9", 20, 10)
    assert a.response and a.change == -10 and a.percent_change == -50.0


@pytest.mark.parametrize("code, total, remission", [
    ("madrs", 12, True), ("madrs", 13, False), ("phq9", 4, True), ("phq9", 5, False),
    ("qids_sr16", 5, True), ("qids_sr16", 6, False), ("pcl5", 30, True), ("pcl5", 31, False)])
def test_remission_edges(code, total, remission):
    assert assess_change(code, 40 if code != "phq9" and code != "qids_sr16" else 20, total).remission is remission


def test_remission_is_configurable_and_absent_for_gad7():
    assert assess_change("madrs", 30, 11, {"outcomes.madrs_remission_max": 10}).remission is False
    assert assess_change("gad7", 15, 3).remission is None


def test_pcl5_meaningful_change():
    a = assess_change("pcl5", 50, 40)
    assert a.meaningful_change is True and a.reliable_change is True
    a = assess_change("pcl5", 50, 41)
    assert a.meaningful_change is False and a.reliable_change is True
    assert assess_change("phq9", 20, 5).meaningful_change is None


def test_baseline_zero_and_bad_input():
    a = assess_change("phq9", 0, 0)
    assert a.percent_change is None and a.response is False
    with pytest.raises(ClinicalInputError) as e:
        assess_change("phq9", 28, 5)
    assert e.value.field == "baseline_total"
    with pytest.raises(ClinicalInputError):
        assess_change("cadss", 10, 5)
    with pytest.raises(ClinicalInputError):
        assess_change("phq9", 10, 5.0)


@given(st.integers(0, 27), st.integers(0, 27))
def test_response_matches_definition(base, cur):
    a = assess_change("phq9", base, cur)
    assert a.response == (base > 0 and cur <= base * 0.5)


END = date(2025, 3, 1)


def test_relapse_fires_at_plus_5_from_nadir():
    scores = [(END - timedelta(days=7), 12), (END, 6), (END + timedelta(days=14), 4), (END + timedelta(days=28), 9)]
    r = relapse_after_induction("phq9", scores, END)
    assert r.fired and r.nadir_total == 4 and r.rise == 5 and r.nadir_on == END + timedelta(days=14)
    scores[-1] = (END + timedelta(days=28), 8)
    assert not relapse_after_induction("phq9", scores, END).fired
    assert relapse_after_induction("phq9", scores, END, {"outcomes.relapse_rise_phq9_points": 4}).fired


def test_relapse_ignores_pre_induction_scores_and_handles_none():
    r = relapse_after_induction("phq9", [(END - timedelta(days=1), 2)], END)
    assert not r.fired and r.nadir_total is None
    with pytest.raises(ClinicalInputError) as e:
        relapse_after_induction("madrs", [(END, 10)], END)
    assert e.value.field == "outcomes.relapse_rise_madrs_points"
    assert relapse_after_induction("madrs", [(END, 10), (END + timedelta(days=5), 20)], END,
                                   {"outcomes.relapse_rise_madrs_points": 10}).fired
    with pytest.raises(ClinicalInputError):
        relapse_after_induction("phq9", [(END, 30)], END)
