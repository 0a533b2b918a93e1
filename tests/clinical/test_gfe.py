"""Good Faith Estimate lead times (45 CFR 149.610(b)(1)(vi)) and the $400 dispute threshold (45 CFR 149.620):
business days skip weekends and US federal holidays (observed days included)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ketaclinic.clinical import gfe
from ketaclinic.clinical.custody import is_business_day

pytestmark = pytest.mark.calendar  # rerun by .ci/run at each moment of its date matrix


def due(asked: date, service: date | None = None, reason: str = "scheduled") -> gfe.GfeDue:
    return gfe.estimate_due(reason=reason, asked_on=asked, service_on=service)


def test_scheduled_three_business_days_ahead_is_due_the_next_business_day():
    # Monday 15 June 2026 for Thursday 18 June: Tue, Wed, Thu = 3 business days ahead
    d = due(date(2026, 6, 15), date(2026, 6, 18))
    assert (d.due_on, d.rule) == (date(2026, 6, 16), "3_days_ahead")
    assert "149.610" in d.source


def test_the_next_business_day_skips_an_observed_holiday_and_the_weekend():
    # Thursday 2 July 2026; Independence Day falls on a Saturday and is observed on Friday 3 July
    d = due(date(2026, 7, 2), date(2026, 7, 9))
    assert d.due_on == date(2026, 7, 6) and d.rule == "3_days_ahead"


def test_ten_business_days_ahead_gives_three_business_days_counting_around_thanksgiving():
    # Wednesday 25 Nov 2026 for Thursday 10 Dec: Thanksgiving (26 Nov) is not counted: exactly 10 business days
    d = due(date(2026, 11, 25), date(2026, 12, 10))
    assert (d.due_on, d.rule) == (date(2026, 12, 1), "10_days_ahead")


def test_nine_business_days_ahead_is_still_the_one_day_rule():
    d = due(date(2026, 11, 25), date(2026, 12, 9))
    assert (d.due_on, d.rule) == (date(2026, 11, 27), "3_days_ahead")


def test_a_request_is_due_within_three_business_days_skipping_christmas():
    assert due(date(2026, 12, 23), reason="requested").due_on == date(2026, 12, 29)
    assert due(date(2026, 12, 19), reason="requested").due_on == date(2026, 12, 23)  # asked on a Saturday


def test_under_three_business_days_is_due_the_day_it_is_scheduled():
    # Friday 19 June for Tuesday 23 June: Mon and Tue = 2 business days: the rule sets no deadline; conservative
    d = due(date(2026, 6, 19), date(2026, 6, 23))
    assert (d.due_on, d.rule) == (date(2026, 6, 19), "under_3_days")


def test_a_deadline_never_falls_after_the_service():
    d = due(date(2026, 6, 15), date(2026, 6, 16), reason="requested")
    assert d.due_on <= date(2026, 6, 16)


def test_a_scheduled_estimate_needs_the_service_day():
    with pytest.raises(ValueError):
        due(date(2026, 6, 15), None)


@pytest.mark.parametrize("offset", range(0, 15))
def test_on_any_day_of_the_clock_the_deadline_is_a_business_day_on_or_before_the_service(clock, offset):
    today = clock.today()
    service = today + timedelta(days=offset)
    d = due(today, service)
    assert today <= d.due_on <= max(today, service)
    if d.rule != "under_3_days" and d.due_on < service:
        assert is_business_day(d.due_on)
    ahead = gfe.business_days_between(today, service)
    assert d.rule == ("10_days_ahead" if ahead >= 10 else "3_days_ahead" if ahead >= 3 else "under_3_days")


@pytest.mark.parametrize("billed, estimated, flagged", [(140000, 100000, True), (139999, 100000, False),
                                                        (100000, 100000, False), (50000, 100000, False)])
def test_a_bill_400_dollars_or_more_above_the_estimate_is_flagged(billed, estimated, flagged):
    assert gfe.exceeds_estimate(billed_cents=billed, estimated_cents=estimated) is flagged


MON_TO_FRI, MON_TO_SAT, MON_TO_THU = frozenset(range(5)), frozenset(range(6)), frozenset(range(4))


def test_a_clinic_open_on_saturday_owes_the_estimate_earlier():
    # asked on Friday 19 June 2026 (a request): Sat, Mon, Tue would be 3 Mon-Fri days; the clinic opens Saturdays
    assert due(date(2026, 6, 19), reason="requested").due_on == date(2026, 6, 24)
    d = gfe.estimate_due(reason="requested", asked_on=date(2026, 6, 19), open_weekdays=MON_TO_SAT)
    assert d.due_on == date(2026, 6, 23)


def test_a_holiday_the_clinic_is_open_on_counts_toward_the_deadline():
    # Wednesday 25 Nov 2026, a request: Thanksgiving (Thu 26) counts when the clinic says it is open Thursdays
    d = gfe.estimate_due(reason="requested", asked_on=date(2026, 11, 25), open_weekdays=MON_TO_FRI)
    assert d.due_on == date(2026, 11, 30)
    assert due(date(2026, 11, 25), reason="requested").due_on == date(2026, 12, 1)


def test_a_day_the_clinic_is_closed_still_counts_toward_the_deadline_but_not_toward_how_far_ahead():
    # Monday 15 June for Friday 19 June; a clinic closed on Fridays: Tue, Wed, Thu ahead under both readings = 3
    d = gfe.estimate_due(reason="scheduled", asked_on=date(2026, 6, 15), service_on=date(2026, 6, 19),
                         open_weekdays=MON_TO_THU)
    assert (d.due_on, d.rule) == (date(2026, 6, 16), "3_days_ahead")
    # Monday 15 June for Monday 29 June: 10 Mon-Fri days, but only 8 days the clinic is open: the 1-day rule
    d = gfe.estimate_due(reason="scheduled", asked_on=date(2026, 6, 15), service_on=date(2026, 6, 29),
                         open_weekdays=MON_TO_THU)
    assert (d.due_on, d.rule) == (date(2026, 6, 16), "3_days_ahead")
    # and a deadline that runs over a Friday counts the Friday (the Mon-Fri reading): Thu 11 June + 1 = Fri 12
    d = gfe.estimate_due(reason="scheduled", asked_on=date(2026, 6, 11), service_on=date(2026, 6, 18),
                         open_weekdays=MON_TO_THU)
    assert d.due_on == date(2026, 6, 12)
