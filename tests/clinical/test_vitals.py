from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.vitals import (
    Level,
    VitalReading,
    classify_reading,
    classify_series,
    validate_reading,
)


def level(phase="during", baseline=None, settings=None, **kw):
    return classify_reading(VitalReading(**kw), phase=phase, baseline=baseline, settings=settings).level


@pytest.mark.parametrize("sbp, expected", [(140, Level.OK), (141, Level.CAUTION), (180, Level.CAUTION),
                                           (181, Level.HOLD), (200, Level.HOLD), (201, Level.STOP)])
def test_systolic_edges_during(sbp, expected):
    assert level(systolic_mmHg=sbp, diastolic_mmHg=80) == expected


@pytest.mark.parametrize("dbp, expected", [(90, Level.OK), (91, Level.CAUTION), (110, Level.CAUTION),
                                           (111, Level.HOLD), (120, Level.HOLD), (121, Level.STOP)])
def test_diastolic_edges_during(dbp, expected):
    assert level(systolic_mmHg=170, diastolic_mmHg=dbp) >= expected
    assert classify_reading(VitalReading(diastolic_mmHg=dbp, systolic_mmHg=130), phase="recovery").level == expected


def test_pre_dose_label_guide():
    # clinical.md §1: label guide > 140 / > 90 before dosing -> prescriber weighs risk (HOLD here)
    assert level("pre_dose", systolic_mmHg=140, diastolic_mmHg=90) == Level.OK
    assert level("pre_dose", systolic_mmHg=141, diastolic_mmHg=80) == Level.HOLD
    assert level("pre_dose", systolic_mmHg=130, diastolic_mmHg=91) == Level.HOLD
    assert level("pre_dose", systolic_mmHg=205, diastolic_mmHg=100) == Level.STOP


def test_baseline_rise_spr_pi_5_6():
    base = VitalReading(95, 60)
    assert level(baseline=base, systolic_mmHg=134, diastolic_mmHg=84) == Level.OK  # +39 / +24
    a = classify_reading(VitalReading(135, 80), phase="during", baseline=base)  # +40 systolic
    assert a.level == Level.CAUTION and a.findings[0].vital == "systolic rise"
    a = classify_reading(VitalReading(120, 85), phase="during", baseline=base)  # +25 diastolic
    assert a.level == Level.CAUTION and a.findings[0].vital == "diastolic rise"
    assert level(baseline=base, settings={"vitals.baseline_rise_level": "hold"}, systolic_mmHg=135) == Level.HOLD
    assert level("pre_dose", baseline=base, systolic_mmHg=139) == Level.OK


@pytest.mark.parametrize("kw, expected", [
    ({"heart_rate_bpm": 100}, Level.OK), ({"heart_rate_bpm": 101}, Level.CAUTION), ({"heart_rate_bpm": 121}, Level.HOLD),
    ({"heart_rate_bpm": 141}, Level.STOP), ({"heart_rate_bpm": 50}, Level.OK), ({"heart_rate_bpm": 49}, Level.CAUTION),
    ({"heart_rate_bpm": 44}, Level.HOLD), ({"heart_rate_bpm": 39}, Level.STOP),
    ({"spo2_percent": 95}, Level.OK), ({"spo2_percent": 94}, Level.CAUTION), ({"spo2_percent": 91}, Level.HOLD),
    ({"spo2_percent": 89}, Level.STOP), ({"respiratory_rate_per_min": 10}, Level.OK),
    ({"respiratory_rate_per_min": 9}, Level.CAUTION), ({"respiratory_rate_per_min": 7}, Level.HOLD),
    ({"respiratory_rate_per_min": 5}, Level.STOP), ({"respiratory_rate_per_min": 21}, Level.CAUTION),
    ({"respiratory_rate_per_min": 31}, Level.STOP), ({"systolic_mmHg": 89, "diastolic_mmHg": 50}, Level.HOLD),
])
def test_other_vitals_edges(kw, expected):
    assert level(**kw) == expected


def test_settings_change_limits():
    assert level(settings={"vitals.spo2_low_hold_percent": 94, "vitals.spo2_low_caution_percent": 96},
                 spo2_percent=93) == Level.HOLD


@pytest.mark.parametrize("kw, field", [
    ({"systolic_mmHg": 500}, "systolic_mmHg"), ({"spo2_percent": 120}, "spo2_percent"),
    ({"heart_rate_bpm": 0}, "heart_rate_bpm"), ({"systolic_mmHg": 120, "diastolic_mmHg": 120}, "diastolic_mmHg"),
    ({"respiratory_rate_per_min": 0}, "respiratory_rate_per_min"), ({"heart_rate_bpm": 80.5}, "heart_rate_bpm"),
])
def test_impossible_readings_raise(kw, field):
    with pytest.raises(ClinicalInputError) as e:
        validate_reading(VitalReading(**kw))
    assert e.value.field == field
    with pytest.raises(ClinicalInputError):
        classify_reading(VitalReading(**kw), phase="during")


def test_bad_phase():
    with pytest.raises(ClinicalInputError):
        classify_reading(VitalReading(), phase="after")


def test_series_sustained_bp_and_hr():
    t0 = datetime(2025, 1, 6, 9, 0)
    high = VitalReading(185, 100)
    a = classify_series([(t0, high), (t0 + timedelta(minutes=5), high)], phase="during")
    assert a.level == Level.STOP
    a = classify_series([(t0, high), (t0 + timedelta(minutes=4), high)], phase="during")
    assert a.level == Level.HOLD
    a = classify_series([(t0, high), (t0 + timedelta(minutes=3), VitalReading(150, 80)),
                         (t0 + timedelta(minutes=6), high)], phase="during")
    assert a.level == Level.HOLD
    hr = VitalReading(heart_rate_bpm=125)
    a = classify_series([(t0 + timedelta(minutes=m), hr) for m in (0, 2, 5)], phase="during")
    assert a.level == Level.STOP


@given(st.integers(60, 250), st.integers(30, 150), st.integers(1, 60))
def test_higher_systolic_never_lowers_level(sbp, dbp, bump):
    if dbp >= sbp:
        return
    a = level(systolic_mmHg=sbp, diastolic_mmHg=dbp)
    b = level(systolic_mmHg=min(300, sbp + bump), diastolic_mmHg=dbp)
    if sbp >= 90:
        assert b >= a
