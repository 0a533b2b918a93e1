"""The cockpit costs the same with 30 readings as with 400: its vitals table shows the readings before the dose (the
baseline) and the newest ones, with a link to all of them; the queries are the same and the page is the same size.
An old reading at HOLD or STOP stays in the table for everyone however far back it is (and listed for a prescriber
until seen)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from ketaclinic.treatments.views import COCKPIT_RECENT_READINGS
from tests.factories import IV, actor, book_now, make_order, ready_to_start

pytestmark = pytest.mark.django_db

NORMAL = {"systolic_mmHg": 126, "diastolic_mmHg": 80, "heart_rate_bpm": 74, "spo2_percent": 98}


def _readings(s, staff, minutes_ago: range, values=NORMAL) -> None:
    for m in minutes_ago:
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=values,
                            taken_at=timezone.now() - timedelta(minutes=m))


def _cockpit(client, s, **params):
    from django.db import connection

    with CaptureQueriesContext(connection) as q:
        r = client.get(reverse("treatments:cockpit", args=[s.external_id]), params)
    assert r.status_code == 200
    return r.content.decode(), len(q.captured_queries)


def test_the_cockpit_is_flat_with_the_sessions_readings(patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=600), staff,
                       minutes_ago=600)  # one reading before the dose: the baseline
    services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=595))
    _readings(s, staff, [591], {**NORMAL, "systolic_mmHg": 186})  # at HOLD, long ago
    _readings(s, staff, range(590, 590 - 29, -1))
    client = client_for("prescriber")
    _cockpit(client, s)  # the first request of a sign-in also stamps the sign-in session
    short, short_queries = _cockpit(client, s)
    _readings(s, staff, range(559, 559 - 370, -1))
    assert s.vitals.count() == 401
    long, long_queries = _cockpit(client, s)
    assert short_queries == long_queries
    # the same rows (their times and figures differ by a few bytes; which moments the clock shows, by a few more),
    # not 370 more: each row is some 150 bytes, so 370 more would add over 50 KB
    assert abs(len(long) - len(short)) < 2_000
    for body in (short, long):
        # the baseline, the old HOLD reading (never out of sight) and the newest
        assert body.count('<tr class="level-') == COCKPIT_RECENT_READINGS + 2
        assert "show all readings" in body
        assert "Earlier readings at HOLD or STOP no prescriber has seen yet" in body and "186/80" in body
    nurse_view, _ = _cockpit(client_for("nurse"), s)
    assert nurse_view.count('<tr class="level-hold">') == 1  # a nurse sees the old HOLD reading in the table itself
    every, _ = _cockpit(client, s, vitals="all")
    assert every.count('<tr class="level-') == 401 and "show all readings" not in every
    assert "Show only the newest readings" in every


def test_a_short_session_shows_whole_without_a_link(patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff,
                       minutes_ago=60)
    services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=55))
    _readings(s, staff, range(50, 50 - COCKPIT_RECENT_READINGS, -2))
    body, _ = _cockpit(client_for("nurse"), s)
    assert body.count('<tr class="level-') == s.vitals.count() and "show all readings" not in body


def test_the_link_to_every_reading_shows_exactly_when_one_is_left_out(patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=120), staff,
                       minutes_ago=120)  # the baseline, before the dose
    services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=115))
    _readings(s, staff, range(110, 110 - COCKPIT_RECENT_READINGS, -1))  # as many since the dose as the table shows
    client = client_for("nurse")
    body, _ = _cockpit(client, s)
    assert body.count('<tr class="level-') == COCKPIT_RECENT_READINGS + 1 and "show all readings" not in body
    _readings(s, staff, [80])  # one more: the oldest since the dose is left out of the table, and the page says so
    body, _ = _cockpit(client, s)
    assert body.count('<tr class="level-') == COCKPIT_RECENT_READINGS + 1 and "show all readings" in body
