from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.discharge import DischargeInput, discharge_hard_limits, discharge_readiness
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.schedules import (
    check_spacing,
    esketamine_calendar,
    induction_series,
    integration_window,
)
from ketaclinic.clinical.vitals import VitalReading

BASE_V = VitalReading(120, 80, 70, 98, 14)
READY = DischargeInput("intranasal", 120, VitalReading(128, 84, 76, 97, 14), BASE_V, True, True, False, True, True)


def test_esketamine_ready_at_120_minutes():
    d = discharge_readiness(READY)
    assert d.ready and d.missing == () and d.earliest_minutes == 120


def test_esketamine_not_ready_at_119_minutes():
    d = discharge_readiness(DischargeInput(**{**READY.__dict__, "minutes_since_dose_end": 119}))
    assert not d.ready and d.minutes_remaining == 1 and "last device" in d.missing[0]


def test_everything_missing_is_listed():
    d = discharge_readiness(DischargeInput("iv", 30, VitalReading(185, 95, 110, 93, 14), BASE_V, False, False, True,
                                           False, False))
    text = " | ".join(d.missing)
    for fragment in ["Observation", "not within limits", "of baseline", "alert", "Walking", "Adverse event", "escort",
                     "No-driving"]:
        assert fragment in text, fragment
    assert d.earliest_minutes == 90


def test_vitals_missing_or_no_baseline():
    d = discharge_readiness(DischargeInput("im", 200, None, None, True, True, False, True, True))
    assert d.missing == ("Vital signs: no recovery reading recorded",)
    d = discharge_readiness(DischargeInput("im", 200, BASE_V, None, True, True, False, True, True))
    assert d.missing == ("Vital signs: no baseline reading to compare with",)


def test_near_baseline_tolerance_edges():
    ok = DischargeInput("iv", 90, VitalReading(140, 90, 90, 97, 14), BASE_V, True, True, False, True, True)
    assert discharge_readiness(ok).ready  # +20 / +10 / +20 exactly
    bad = DischargeInput("iv", 90, VitalReading(140, 90, 91, 97, 14), BASE_V, True, True, False, True, True)
    assert not discharge_readiness(bad).ready


def test_every_route_needs_an_escort_and_a_retired_escort_setting_changes_nothing():
    for route in ("iv", "im", "intranasal"):
        no_escort = DischargeInput(**{**READY.__dict__, "route": route, "escort_present": False})
        d = discharge_readiness(no_escort, {"discharge.escort_required": False})  # stored once; now ignored
        assert not d.ready and "No escort present to take the patient home" in d.missing
        assert any("No escort recorded" in p for p in discharge_hard_limits(route, 200, escort_present=False,
                                                                           no_driving_acknowledged=True))
    assert discharge_hard_limits("iv", 0, escort_present=True, no_driving_acknowledged=False) == ()


def test_bad_input():
    with pytest.raises(ClinicalInputError):
        discharge_readiness(DischargeInput(**{**READY.__dict__, "route": "oral"}))
    with pytest.raises(ClinicalInputError):
        discharge_readiness(DischargeInput(**{**READY.__dict__, "minutes_since_dose_end": -5}))
    with pytest.raises(ClinicalInputError):
        discharge_readiness(DischargeInput(**{**READY.__dict__, "escort_present": "yes"}))


MON = date(2025, 1, 6)


def test_induction_six_over_two_weeks():
    # Feder 2021: six infusions over two weeks, 3x weekly
    s = induction_series(MON, 6, 3)
    assert s == [MON + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    assert check_spacing(s, 2) == ()


def test_induction_skips_closed_and_weekends():
    s = induction_series(MON, 6, 3, closed_dates=frozenset({MON + timedelta(days=2)}))
    assert MON + timedelta(days=2) not in s and all(d.weekday() < 5 for d in s)
    with pytest.raises(ClinicalInputError):
        induction_series(MON, 6, 1, max_weeks=4)
    with pytest.raises(ClinicalInputError):
        induction_series(MON, 6, 3, working_weekdays=frozenset())


def test_check_spacing_problems():
    assert check_spacing([MON, MON], 1) == (f"two sessions on {MON}",)
    assert "less than the minimum 2" in check_spacing([MON, MON + timedelta(days=1)], 2)[0]
    assert "out of order" in check_spacing([MON + timedelta(days=1), MON], 1)[0]


def test_esketamine_calendar_label_schedule():
    cal = esketamine_calendar(MON, total_weeks=12)
    phases = [p for _, p in cal]
    assert phases.count("induction") == 8 and phases.count("optimisation") == 4
    assert phases.count("maintenance") == 2  # weeks 9 and 11
    assert check_spacing([d for d, _ in cal], 2) == ()
    assert [p for _, p in esketamine_calendar(MON, total_weeks=12, maintenance_every_weeks=1)].count("maintenance") == 4
    cal = esketamine_calendar(MON, total_weeks=4, closed_dates=frozenset({MON + timedelta(days=3)}))
    assert cal[1][0] == MON + timedelta(days=4)


def test_integration_window():
    end = datetime(2025, 1, 6, 11, 0, tzinfo=UTC)
    a, b = integration_window(end)
    assert a == end + timedelta(hours=24) and b == end + timedelta(hours=72)
    with pytest.raises(ClinicalInputError):
        integration_window(date(2025, 1, 6))


@given(st.dates(date(2024, 1, 1), date(2030, 12, 31)), st.integers(1, 12), st.integers(1, 3), st.integers(1, 4),
       st.frozensets(st.integers(0, 6), min_size=1),
       st.frozensets(st.dates(date(2024, 1, 1), date(2031, 6, 30)), max_size=20))
def test_schedule_never_breaks_its_spacing(start, sessions, per_week, spacing, weekdays, closed):
    s = induction_series(start, sessions, per_week, min_spacing_days=spacing, working_weekdays=weekdays,
                         closed_dates=closed)
    assert len(s) == sessions and s[0] >= start
    assert check_spacing(s, spacing) == ()
    assert all(d.weekday() in weekdays and d not in closed for d in s)
    for d in s:
        assert sum(1 for x in s if 0 <= (d - x).days < 7) <= per_week


@given(st.dates(date(2024, 1, 1), date(2030, 12, 31)), st.integers(1, 30), st.sampled_from([1, 2]))
def test_esketamine_calendar_spacing_property(start, weeks, every):
    cal = esketamine_calendar(start, total_weeks=weeks, maintenance_every_weeks=every)
    dates = [d for d, _ in cal]
    assert check_spacing(dates, 2) == ()
    for d, phase in cal:
        week = (d - start).days // 7 + 1
        assert phase == ("induction" if week <= 4 else "optimisation" if week <= 8 else "maintenance")


def test_esketamine_escort_and_no_driving_cannot_be_switched_off_by_settings():
    """Label rule (clinical.md §1 'Escort / driving', C for esketamine): settings cannot turn it off."""
    from ketaclinic.clinical.discharge import DischargeInput, discharge_readiness
    from ketaclinic.clinical.vitals import VitalReading

    vitals = VitalReading(120, 80, 70, 98, 14)
    off = {"discharge.no_driving_ack_required": False}
    common = dict(latest=vitals, baseline=vitals, alert_and_oriented=True, steady_gait=True,
                  active_adverse_event=False, escort_present=False, no_driving_acknowledged=False)
    esk = discharge_readiness(DischargeInput(route="intranasal", minutes_since_dose_end=130, **common), off)
    assert not esk.ready
    assert any("escort" in m.lower() for m in esk.missing) and any("driving" in m.lower() for m in esk.missing)
    iv = discharge_readiness(DischargeInput(route="iv", minutes_since_dose_end=130, **common), off)
    assert iv.missing == ("No escort present to take the patient home",)  # the no-driving setting is the clinic's


def test_esketamine_first_dose_setting_cannot_exceed_the_labels_56_mg():
    import pytest

    from ketaclinic.clinical.errors import ClinicalInputError
    from ketaclinic.clinical.settings import validate_settings

    with pytest.raises(ClinicalInputError):
        validate_settings({"dosing.esketamine_first_dose_mg": 84})


def test_ready_from_counts_real_minutes_across_the_autumn_clock_change():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from ketaclinic.clinical.discharge import earliest_discharge_at

    end = datetime(2026, 11, 1, 7, 30, tzinfo=UTC).astimezone(ZoneInfo("America/Denver"))  # 01:30 MDT
    ready = earliest_discharge_at("intranasal", end)  # the label's 120 minutes
    assert ready.timestamp() - end.timestamp() == 120 * 60
    assert f"{ready:%H:%M %Z}" == "02:30 MST"  # 01:30 MDT, then 01:00-02:00 again in MST
