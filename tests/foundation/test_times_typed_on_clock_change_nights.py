"""Times typed as clinic wall-clock time on the nights the clocks change (America/Denver, the test clinic)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.utils import timezone

from ketaclinic.formfields import ClinicDateTimeField

DENVER = ZoneInfo("America/Denver")


class WhenForm(forms.Form):
    when = ClinicDateTimeField()


def read(text: str):
    with timezone.override(DENVER):
        form = WhenForm({"when": text})
        return form.cleaned_data["when"] if form.is_valid() else form.errors["when"][0]


def test_an_ordinary_time_is_read_in_the_clinic_time_zone():
    assert read("2026-06-17T10:00") == datetime(2026, 6, 17, 16, 0, tzinfo=UTC)


def test_the_repeated_hour_when_clocks_fall_back_is_read_as_its_first_occurrence():
    # 1 November 2026: 01:30 happens at 07:30 UTC (MDT) and again at 08:30 UTC (MST); the earlier is taken, so a
    # deadline counted from it is never later than the truth.
    assert read("2026-11-01T01:30") == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)


def test_a_time_skipped_when_clocks_spring_forward_is_refused_with_what_to_do():
    message = read("2026-03-08T02:30")
    assert "does not exist" in message and "an hour later" in message
    assert read("2026-03-08T03:30") == datetime(2026, 3, 8, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T10:00", "2026-06-17T25:00"])
def test_unreadable_times_are_refused(text):
    assert "Enter a date and time" in read(text)


def test_one_wall_clock_reading_for_every_form_and_service():
    from datetime import date, time

    from ketaclinic.inputs import wall_clock_moment

    assert wall_clock_moment(date(2026, 11, 1), time(1, 30), DENVER) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert wall_clock_moment(date(2026, 3, 8), time(2, 30), DENVER) is None
    assert wall_clock_moment(date(2026, 3, 8), time(3, 0), DENVER) == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
