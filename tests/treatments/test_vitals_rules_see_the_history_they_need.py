"""A vitals save reads only the readings the sustained-limit rule needs (back to the first normal one), yet a long
run above the hold limit is still followed to its start, however many readings that is; a back-dated reading is
classified by its own values and the readings before it, never by a later one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic.treatments import services
from tests.factories import actor
from tests.treatments.vitals_posting import NORMAL, dosing_since

pytestmark = pytest.mark.django_db

HIGH_BP = {"systolic_mmHg": 186, "diastolic_mmHg": 100, "heart_rate_bpm": 80, "spo2_percent": 98}


def _at(s, staff, minutes_ago: float, values: dict):
    return services.add_vitals(actor=actor(staff["nurse"]), session=s, values=values,
                               taken_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_a_long_run_above_the_hold_limit_is_followed_back_to_its_start(patient, staff, rooms):
    s = dosing_since(patient, staff, rooms, 120)
    for m in range(100, 40, -2):  # thirty normal readings first
        _at(s, staff, m, NORMAL)
    first = _at(s, staff, 30, HIGH_BP)
    assert first.level_name == "hold"  # one high reading: HOLD (it pauses the dose), not yet STOP
    for m in range(29, 10, -1):  # nineteen more, one a minute, one of them without a blood pressure
        _at(s, staff, m, {"heart_rate_bpm": 80} if m == 20 else HIGH_BP)
    last = _at(s, staff, 10, HIGH_BP)
    assert last.level_name == "stop"
    assert any(f["message"].startswith("blood pressure above the hold limit for 20") for f in last.findings), [f["message"] for f in last.findings]
    # A normal reading ends the run: the next high one starts again at HOLD.
    _at(s, staff, 9, NORMAL)
    assert _at(s, staff, 8, HIGH_BP).level_name == "hold"


def test_a_back_dated_reading_is_classified_by_its_own_values(patient, staff, rooms):
    s = dosing_since(patient, staff, rooms, 60)
    for m in (40, 30, 20, 10):
        _at(s, staff, m, NORMAL)
    late = _at(s, staff, 35, HIGH_BP)  # taken 35 minutes ago, typed in now
    assert late.level_name == "hold" and any("186" in f["message"] for f in late.findings)
    s.refresh_from_db()
    assert s.alert_level == 0  # the newest reading (10 minutes ago) is still the session's level
    # and a normal reading typed in late is not given a later reading's alert
    _at(s, staff, 5, HIGH_BP)
    assert _at(s, staff, 7, NORMAL).level_name == "ok"
