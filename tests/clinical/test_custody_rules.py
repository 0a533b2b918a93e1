"""Custody rules against the reference (clinical.md §6)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from ketaclinic.clinical import custody


def test_theft_notice_is_due_within_one_business_day():
    tz = ZoneInfo("America/Denver")
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=tz)  # a Friday
    due = custody.theft_notice_due(friday_evening, 1, tz)
    assert due.date() == date(2026, 11, 30)  # the next business day is Monday


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
