"""``manage check --fail-level WARNING`` (a CI step) passes whatever the time of day it runs at. Django warns of a
fixed date or time default (fields.W161) only when it runs within 10 seconds of that value, so a ``time(21, 0)``
default failed CI at 21:00:00. Every time-of-day default is a function now; this runs the checks at the moments the
old fixed defaults named and at midnight (UTC: the check compares the naive UTC clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core import checks

pytestmark = pytest.mark.django_db  # a project check reads the database


@pytest.mark.parametrize("at", [time(0, 0), time(8, 0), time(18, 0), time(21, 0)])
def test_no_system_check_warns_at_this_time_of_day(at):
    moment = datetime.combine(date(2026, 6, 17), at, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        found = [m for m in checks.run_checks() if m.level >= checks.WARNING]
    assert found == [], found


def test_the_check_can_fail_on_a_fixed_time_default():
    """The check above can see the defect: a field with a fixed default, at that time of day, is warned of."""
    from django.db import models

    field = models.TimeField(default=time(21, 0))
    field.set_attributes_from_name("quiet_start")
    moment = datetime.combine(date(2026, 6, 17), time(21, 0), tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        assert [m.id for m in field._check_fix_default_value()] == ["fields.W161"]
