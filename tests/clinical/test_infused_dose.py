"""The dose an IV infusion gave, from its events (rule dosing.infused_dose): the programmed rate x running time,
across pauses and rate changes, at the bag's concentration, never more than prepared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ketaclinic.clinical.dosing import infused_dose
from ketaclinic.clinical.errors import ClinicalInputError

DENVER = ZoneInfo("America/Denver")
T0 = datetime(2026, 3, 8, 8, 30, tzinfo=UTC)  # 01:30 in Denver: the infusion runs across the spring-forward gap
D = Decimal


def at(minutes):
    """The clinic's wall-clock time ``minutes`` after T0 (02:00 is skipped: 01:59 is followed by 03:00)."""
    return (T0 + timedelta(minutes=minutes)).astimezone(DENVER)


def run(minutes, events=(), planned=40, volume="100", mg="35"):
    return infused_dose(start=at(0), stop=at(minutes), start_rate_mL_per_h=D("150.0"),
                        events=[(k, at(m), v) for k, m, v in events], dose_mg=D(mg),
                        infused_volume_mL=D(volume), planned_minutes=planned)


def test_a_full_infusion_gives_the_prepared_dose_and_is_not_early():
    assert f"{at(40):%H:%M}" == "03:10"  # 40 real minutes, 100 on the wall clock
    d = run(40)
    assert (d.mg, d.volume_mL, d.running_minutes, d.early) == (D("35.00"), D("100.00"), D("40.0"), False)


def test_a_stop_after_ten_minutes_gives_a_quarter():
    d = run(10)
    assert (d.mg, d.volume_mL, d.early) == (D("8.75"), D("25.00"), True)


def test_a_pause_does_not_count_and_a_resume_does():
    d = run(50, [("pause", 10, None), ("resume", 20, None)])  # 10 min paused: 40 of 50 min ran
    assert (d.mg, d.running_minutes, d.early) == (D("35.00"), D("40.0"), False)
    assert run(30, [("pause", 10, None), ("resume", 20, None)]).mg == D("17.50")  # 20 min ran


def test_a_rate_change_counts_from_its_moment_and_the_bag_caps_the_dose():
    # 10 min at the programmed 150 mL/h (25 mL), then 300 mL/h: 75 mL more take 15 min
    assert run(20, [("rate", 10, D("300"))]).mg == D("26.25")  # 25 + 50 mL
    full = run(60, [("rate", 10, D("300"))])
    assert full.mg == D("35.00") and full.volume_mL == D("100.00")


def test_events_outside_the_infusion_are_ignored_and_a_stop_before_the_start_is_refused():
    assert run(10, [("pause", -5, None), ("rate", 30, D("10"))]).mg == D("8.75")
    with pytest.raises(ClinicalInputError):
        infused_dose(start=at(0), stop=at(-1), start_rate_mL_per_h=1, events=[], dose_mg=1,
                     infused_volume_mL=1)
