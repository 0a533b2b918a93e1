"""Custody rules against the reference (clinical.md §6)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ketaclinic.clinical import custody


def test_theft_notice_is_due_within_one_business_day():
    tz = ZoneInfo("America/Denver")
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=tz)  # a Friday
    due = custody.theft_notice_due(friday_evening, 1, tz)
    assert due.date() == date(2026, 11, 30)  # the next business day is Monday





@pytest.mark.parametrize(("discovered", "due"), [
    # Independence Day 2026 falls on a Saturday: observed Friday 3 July, so Thursday's discovery is due Monday.
    (datetime(2026, 7, 2, 9, 0), date(2026, 7, 6)),
    # Independence Day 2027 falls on a Sunday: observed Monday 5 July, so Friday's discovery is due Tuesday.
    (datetime(2027, 7, 2, 16, 0), date(2027, 7, 6)),
    # Thanksgiving 2026 is Thursday 26 November: Wednesday's discovery is due Friday.
    (datetime(2026, 11, 25, 12, 0), date(2026, 11, 27)),
    # New Year's Eve 2026 (Thursday, 23:30): Friday 1 January 2027 is New Year's Day, so the notice is due on
    # Monday 4 January.
    (datetime(2026, 12, 31, 23, 30), date(2027, 1, 4)),
    # Christmas 2027 is a Saturday, observed Friday 24 December; New Year's Day 2028 (Saturday) is observed
    # Friday 31 December 2027.
    (datetime(2027, 12, 23, 10, 0), date(2027, 12, 27)),
    (datetime(2027, 12, 30, 10, 0), date(2028, 1, 3)),
    # An ordinary Tuesday: due Wednesday.
    (datetime(2026, 3, 10, 10, 0), date(2026, 3, 11)),
])
def test_theft_notice_skips_weekends_and_us_federal_holidays(discovered, due):
    tz = ZoneInfo("America/Denver")
    assert custody.theft_notice_due(discovered.replace(tzinfo=tz), 1, tz).date() == due


def test_federal_holidays_are_the_eleven_of_5_usc_6103():
    assert len(custody.us_federal_holidays(2026)) == 12  # 11 holidays + Independence Day observed on Friday 3 July
    assert date(2026, 6, 19) in custody.us_federal_holidays(2026)  # Juneteenth (since 2021)
    assert custody.is_business_day(date(2026, 7, 3)) is False
    assert custody.is_business_day(date(2026, 7, 6)) is True


def test_form_106_within_45_days():
    assert custody.form106_due(date(2026, 1, 1), 45) == date(2026, 2, 15)


def test_opened_schedule_iii_container_may_be_estimated_sealed_must_be_exact():
    assert custody.estimate_allowed("III", opened=True) is True
    assert custody.estimate_allowed("III", opened=False) is False


def test_two_people_waste_policy_means_one_witness_besides_the_clinician():
    assert custody.waste_witnesses_required(2) == 1
    assert custody.DESTRUCTION_WITNESSES == 2


def test_dea_code_for_ketamine_and_esketamine():
    assert (custody.DEA_DRUG_CODE, custody.DEA_SCHEDULE) == ("7285", "III")
