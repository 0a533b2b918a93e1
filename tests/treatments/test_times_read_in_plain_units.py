"""Times on the Today board and in the cockpit read in plain units ("41 min since start", "vitals due in 3 min",
"overdue by 2 min") from one helper, ketaclinic.plaintime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic import plaintime


@pytest.mark.parametrize(("minutes", "said"), [
    (0, "under 1 min"), (1, "1 min"), (2, "2 min"), (41, "41 min"), (59, "59 min"), (60, "1 hour"),
    (61, "1 hour 1 min"), (65, "1 hour 5 min"), (120, "2 hours"), (125, "2 hours 5 min"), (-3, "under 1 min"),
])
def test_a_duration_in_minutes_and_hours_singular_and_plural(minutes, said):
    assert plaintime.duration(minutes) == said


def test_time_since_counts_whole_minutes_gone():
    now = timezone.now()
    assert plaintime.since(now - timedelta(minutes=41, seconds=59), now) == "41 min"
    assert plaintime.since(now - timedelta(seconds=30), now) == "under 1 min"
    assert plaintime.since(now - timedelta(hours=1, minutes=12), now) == "1 hour 12 min"
    assert plaintime.since(now + timedelta(minutes=5), now) == "under 1 min"  # a clock a little ahead


@pytest.mark.parametrize(("seconds", "said"), [
    (3 * 60, "due in 3 min"), (2 * 60 + 10, "due in 3 min"), (10, "due in 1 min"), (0, "due now"),
    (-59, "due now"), (-60, "overdue by 1 min"), (-2 * 60 - 50, "overdue by 2 min"),
    (-75 * 60, "overdue by 1 hour 15 min"), (90 * 60, "due in 1 hour 30 min"),
    (10 * 60 + 0.4, "due in 10 min"),  # parts of a second (a reading's stamp) are dropped
])
def test_due_counts_down_says_now_then_overdue(seconds, said):
    now = timezone.now()
    assert plaintime.due(now + timedelta(seconds=seconds), now) == said


def test_until_a_moment():
    now = timezone.now()
    assert plaintime.until(now + timedelta(minutes=24, seconds=1), now) == "in 25 min"
    assert plaintime.until(now - timedelta(minutes=1), now) == "now"
