"""Discharge a nurse can plan for: "ready from HH:MM" on the cockpit and the Today board, from the route's minimum
observation counted on the right clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from tests.treatments.factories import (
    ESK,
    IV,
    book_now,
    dosing_started,
    dosing_stopped,
    make_order,
    ready_to_start,
)

pytestmark = pytest.mark.django_db


def test_the_cockpit_and_today_board_say_when_an_iv_patient_may_go_home(patient, staff, rooms, client_for):
    s = dosing_stopped(dosing_started(ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff),
                                      staff), staff)
    minimum = int(services.limits_for(s.patient)["observation.iv_min_minutes"])
    expected = timezone.localtime(s.dose_ended_at + timedelta(minutes=minimum), s.patient.clinic.tz)
    assert services.ready_from(s) == s.dose_ended_at + timedelta(minutes=minimum)
    client = client_for("nurse")
    cockpit = client.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert f"Ready from {expected:%H:%M}" in cockpit and f"the {minimum} min minimum observation" in cockpit
    today = client.get(reverse("clinic:today")).content.decode()
    assert f"ready from <b>{expected:%H:%M}</b>" in today


def test_esketamine_is_ready_from_two_hours_after_the_last_device(patient, staff, rooms):
    s = dosing_stopped(dosing_started(ready_to_start(book_now(make_order(patient, staff, ESK), staff, rooms), staff),
                                      staff), staff)
    last = s.events.filter(kind="device").order_by("-at").first().at
    assert s.events.filter(kind="device").count() >= 2
    assert services.ready_from(s) == last + timedelta(minutes=120)
    assert services.discharge_hard_limits(s)[0].startswith("Observed 0 of at least 120 min since the last device")


def test_a_patient_still_in_observation_after_midnight_stays_on_the_today_board(patient, staff, rooms, client_for,
                                                                              clock):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from tests.factories import set_booking_hours
    from tests.treatments.factories import let_time_pass

    # a clinic that books into the evening; a late session on New Year's Eve (a Thursday), booked inside its hours
    set_booking_hours(patient.clinic, staff, opens=time(8, 0), closes=time(23, 0))
    late = datetime(2026, 12, 31, 20, 0, tzinfo=ZoneInfo("America/Denver"))
    clock.move_to(late)
    s = dosing_stopped(dosing_started(ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff),
                                      staff), staff)
    assert s.scheduled_start == late and s.scheduled_end <= late.replace(hour=23)
    let_time_pass((late.replace(hour=23, minute=59) - clock.now()).total_seconds() / 60 + 20)
    assert timezone.localtime(timezone.now(), s.patient.clinic.tz).date().isoformat() == "2027-01-01"
    today = client_for("nurse").get(reverse("clinic:today")).content.decode()
    assert s.patient.display_name in today and "ready from" in today
