"""How long a running IV infusion has left (issue 20, on rule dosing.infused_dose): the prepared volume not yet run,
over the rate the pump runs at now, counted from the same pump events as the dose it gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ketaclinic.clinical.dosing import infused_dose, infusion_time_left
from ketaclinic.clinical.errors import ClinicalInputError

DENVER = ZoneInfo("America/Denver")
T0 = datetime(2026, 3, 8, 8, 30, tzinfo=UTC)  # 01:30 in Denver: the infusion runs across the spring-forward gap
D = Decimal


def at(minutes):
    return (T0 + timedelta(minutes=minutes)).astimezone(DENVER)


def left(minutes, events=(), planned=40, volume="100"):
    return infusion_time_left(start=at(0), at=at(minutes), start_rate_mL_per_h=D("150.0"),
                              events=[(k, at(m), v) for k, m, v in events], infused_volume_mL=D(volume),
                              planned_minutes=planned)


def test_a_40_minute_infusion_has_25_minutes_left_after_15_real_minutes_across_the_clock_change():
    # 15 real minutes (the wall clock jumped an hour): 62.5 of 100 mL left at 150 mL/h
    x = left(15)
    assert (x.running, x.volume_left_mL, x.rate_mL_per_h, x.minutes_left) == (True, D("62.50"), D("150"), D("25.0"))


def test_a_pause_stops_the_count_and_tells_no_time():
    x = left(20, [("pause", 10, None)])
    assert (x.running, x.volume_left_mL, x.rate_mL_per_h, x.minutes_left) == (False, D("75.00"), None, None)


def test_after_a_pause_the_time_left_is_what_the_pause_added():
    # 10 min run, 10 min paused, resumed at 20: at 25, 15 minutes have run, 25 to go
    assert left(25, [("pause", 10, None), ("resume", 20, None)]).minutes_left == D("25.0")


def test_a_slower_rate_stretches_the_rest():
    # 10 min at 150 mL/h (25 mL), then 75 mL/h: at 20, 62.5 mL left at 75 mL/h = 50 min
    x = left(20, [("rate", 10, D("75"))])
    assert (x.volume_left_mL, x.rate_mL_per_h, x.minutes_left) == (D("62.50"), D("75"), D("50.0"))


def test_time_left_and_dose_given_count_the_same_volume():
    events = [("rate", 5, D("120")), ("pause", 12, None), ("resume", 17, None), ("rate", 22, D("200"))]
    x = left(30, events)
    given = infused_dose(start=at(0), stop=at(30), start_rate_mL_per_h=D("150.0"), dose_mg=D("35"),
                         infused_volume_mL=D("100"), planned_minutes=40,
                         events=[(k, at(m), v) for k, m, v in events])
    assert x.volume_left_mL + given.volume_mL == D("100.00")


def test_once_the_prepared_volume_has_run_nothing_is_left():
    x = left(55)
    assert (x.running, x.volume_left_mL, x.minutes_left) == (True, D("0.00"), D("0.0"))


def test_without_planned_minutes_the_programmed_rate_runs():
    assert left(10, planned=None).minutes_left == D("30.0")  # 100 mL at 150 mL/h = 40 min; 10 gone


def test_a_moment_before_the_start_is_refused():
    with pytest.raises(ClinicalInputError):
        left(-1)
