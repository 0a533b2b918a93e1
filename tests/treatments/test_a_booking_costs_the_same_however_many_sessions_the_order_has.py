"""Booking a session costs the same whether its order has one session booked or a dozen: the same queries, and none
of them reads whole session rows (the conflict, same-day and spacing checks read the start times and chairs they
compare). Timing lives in bench/load.py ("book a session")."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketaclinic.treatments import services
from tests.factories import IV, actor, make_order

pytestmark = pytest.mark.django_db


def _working_days(clinic, count: int, every: int = 4):
    """``count`` future working days of the clinic, ``every`` days apart at least (the order's spacing allows it)."""
    working, days = clinic.weekdays(), []
    day = timezone.localdate() + timedelta(days=2)
    while len(days) < count:
        if day.weekday() in working and not clinic.closed_days(day, day):
            days.append(day)
            day += timedelta(days=every)
        else:
            day += timedelta(days=1)
    return days


def _book(order, staff, rooms, day):
    tz = order.patient.clinic.tz
    start = timezone.make_aware(datetime.combine(day, time(9)), tz)
    with CaptureQueriesContext(connection) as q:
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=start, room=rooms["infusion"],
                              chair=rooms["a1"])
    return q.captured_queries


def _session_columns(queries) -> list[int]:
    """For each query that reads session rows, how many columns it selects."""
    reads = [x["sql"] for x in queries if x["sql"].lstrip().upper().startswith("SELECT")
             and 'FROM "treatments_treatmentsession"' in x["sql"]]
    return [sql.split(' FROM "treatments_treatmentsession"')[0].count(", ") + 1 for sql in reads]


def test_a_booking_reads_the_same_whatever_the_orders_history(patient, make_patient, staff, rooms):
    days = _working_days(patient.clinic, 14)
    first = make_order(patient, staff, {**IV, "sessions_planned": "52"})
    for day in days[:12]:  # a long series already booked on this order (and in this chair)
        _book(first, staff, rooms, day)
    long = _book(first, staff, rooms, days[12])
    fresh = make_order(make_patient(), staff, {**IV, "sessions_planned": "52"})
    short = _book(fresh, staff, rooms, days[13])  # a working day the chair is free on
    assert len(long) == len(short)
    assert _session_columns(long) == _session_columns(short)
    assert max(_session_columns(long)) <= 5  # the key, start, minutes, room and chair at most: never whole rows
