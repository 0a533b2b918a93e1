from __future__ import annotations

import pytest

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.settings import SETTINGS, SETTINGS_BY_KEY, defaults, resolve, validate_settings

GROUPS = {"Vital signs", "Dosing", "Observation and discharge", "Outcomes", "Schedules", "Eligibility", "Custody",
          "Rating scales"}


def test_every_spec_is_well_formed():
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys))
    for s in SETTINGS:
        assert "." in s.key and s.label and s.source, s.key
        assert s.group in GROUPS, s.key
        assert type(s.default) in (int, float, bool, str), s.key
        if isinstance(s.default, int | float) and not isinstance(s.default, bool):
            assert s.minimum is not None and s.maximum is not None, s.key
            assert s.minimum <= s.default <= s.maximum, s.key
        if s.choices:
            assert s.default in s.choices, s.key
        if not s.confirmed:
            assert s.source, s.key


def test_required_keys_present():
    required = [
        "vitals.pre_dose_systolic_hold_mmHg", "vitals.systolic_hold_mmHg", "vitals.systolic_stop_mmHg",
        "vitals.heart_rate_high_hold_bpm", "vitals.heart_rate_low_hold_bpm", "vitals.spo2_low_hold_percent",
        "vitals.respiratory_rate_low_hold_per_min", "vitals.respiratory_rate_high_hold_per_min",
        "vitals.systolic_rise_mmHg", "vitals.diastolic_rise_mmHg", "vitals.iv_interval_during_minutes",
        "dosing.iv_default_mg_per_kg", "dosing.iv_ceiling_mg_per_kg", "dosing.weight_change_flag_percent",
        "observation.esketamine_min_minutes", "observation.iv_min_minutes", "discharge.systolic_tolerance_mmHg",
        "outcomes.madrs_remission_max", "outcomes.relapse_rise_phq9_points", "schedules.integration_start_hours",
        "custody.opened_vial_beyond_use_hours", "custody.waste_witness_count", "custody.routine_count_frequency",
    ]
    for key in required:
        assert key in SETTINGS_BY_KEY, key


def test_reference_values_and_confirmation():
    d = defaults()
    # confirmed (C) numbers from clinical.md
    assert d["vitals.systolic_rise_mmHg"] == 40 and SETTINGS_BY_KEY["vitals.systolic_rise_mmHg"].confirmed
    assert d["vitals.diastolic_rise_mmHg"] == 25
    assert d["observation.esketamine_min_minutes"] == 120 and SETTINGS_BY_KEY["observation.esketamine_min_minutes"].confirmed
    assert d["dosing.iv_default_mg_per_kg"] == 0.5 and d["dosing.iv_default_minutes"] == 40
    assert d["vitals.iv_interval_during_minutes"] == 10 and d["vitals.iv_interval_after_minutes"] == 15
    assert d["outcomes.response_percent"] == 50 and d["outcomes.madrs_remission_max"] == 12
    # S / U / absent numbers are never marked confirmed
    for key in ["vitals.systolic_hold_mmHg", "vitals.spo2_low_hold_percent", "vitals.respiratory_rate_low_hold_per_min",
                "vitals.pre_dose_systolic_hold_mmHg", "outcomes.phq9_remission_max", "custody.waste_witness_count",
                "custody.opened_vial_beyond_use_hours", "observation.iv_min_minutes"]:
        assert not SETTINGS_BY_KEY[key].confirmed, key


def test_validate_merges_and_coerces():
    v = validate_settings({"vitals.systolic_hold_mmHg": "170", "discharge.no_driving_ack_required": "no",
                           "dosing.iv_default_mg_per_kg": "0.6", "outcomes.madrs_remission_max": 10.0})
    assert v["vitals.systolic_hold_mmHg"] == 170 and isinstance(v["vitals.systolic_hold_mmHg"], int)
    assert v["discharge.no_driving_ack_required"] is False
    assert v["dosing.iv_default_mg_per_kg"] == 0.6
    assert v["outcomes.madrs_remission_max"] == 10
    assert v["vitals.diastolic_hold_mmHg"] == 110
    assert resolve(None) == defaults()


@pytest.mark.parametrize(
    "values, field, fragment",
    [
        ({"vitals.nonsense": 1}, "vitals.nonsense", "unknown"),
        ({"vitals.systolic_hold_mmHg": 500}, "vitals.systolic_hold_mmHg", "above the allowed maximum"),
        ({"vitals.systolic_hold_mmHg": "high"}, "vitals.systolic_hold_mmHg", "whole number"),
        ({"vitals.systolic_hold_mmHg": True}, "vitals.systolic_hold_mmHg", "number"),
        ({"vitals.systolic_hold_mmHg": 180.5}, "vitals.systolic_hold_mmHg", "whole number"),
        ({"observation.esketamine_min_minutes": 60}, "observation.esketamine_min_minutes", "below"),
        ({"discharge.no_driving_ack_required": "maybe"}, "discharge.no_driving_ack_required", "true or false"),
        ({"vitals.baseline_rise_level": "stop"}, "vitals.baseline_rise_level", "one of"),
        ({"dosing.iv_default_mg_per_kg": float("nan")}, "dosing.iv_default_mg_per_kg", "finite"),
        ({"vitals.systolic_caution_mmHg": 190}, "vitals.systolic_caution_mmHg", "must not be greater"),
        ({"dosing.iv_max_mg_per_kg": 0.3, "dosing.iv_default_mg_per_kg": 0.5}, None, "must not be greater"),
    ],
)
def test_validate_rejects(values, field, fragment):
    with pytest.raises(ClinicalInputError) as e:
        validate_settings(values)
    if field:
        assert e.value.field == field
    assert fragment in str(e.value)


def test_esketamine_observation_setting_is_labelled_with_the_clock_discharge_uses():
    # discharge counts the esketamine minimum from the last device; a label saying "from the first device" would
    # tell the clinic the patient may leave 2 h after the first spray
    from ketaclinic.clinical.discharge import CLOCK_START
    from ketaclinic.clinical.rulebook import RULES

    label = SETTINGS_BY_KEY["observation.esketamine_min_minutes"].label
    assert "last device" in label and "first device" not in label
    assert "last device" in CLOCK_START["intranasal"]
    rule = next(r for r in RULES if r.id == "discharge.observation")
    assert "from the first device" not in rule.statement and "last device" in rule.statement


def test_the_esketamine_working_says_the_clock_discharge_uses():
    # the preparation's working told the nurse "observe at least 120 min from the first device" while discharge
    # counts from the last: the two messages disagreed
    from ketaclinic.clinical.dosing import esketamine

    working = esketamine(84, first_session=False).working
    assert working[1] == "Device 1 at 0 min" and working[3] == "Device 3 at 10 min (5 min after device 2) (last device: the observation clock starts)"
    assert "min from the last device (the REMS form counts its minutes from the first)" in working[-1]
    assert not any("from the first device" in line or "first device: observation" in line for line in working)
