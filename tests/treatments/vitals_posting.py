"""Helpers for the tests that post vitals rows at the chair (the row form's htmx save): a session dosing since some
minutes ago, earlier readings entered through the treatment services, and the save itself as the cockpit posts it.
Shared by tests/treatments/test_vitals_save_sends_only_what_changed.py and
tests/treatments/test_a_saved_vitals_row_leaves_the_focus_where_the_nurse_is.py."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from tests.factories import IV, actor, book_now, make_order, ready_to_start

#: A reading inside every limit.
NORMAL = {"systolic_mmHg": 126, "diastolic_mmHg": 80, "heart_rate_bpm": 74, "spo2_percent": 98}


def dosing_since(patient, staff, rooms, minutes: int):
    """An IV session booked, checked and verified ``minutes`` ago, its dose started five minutes later."""
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=minutes), staff,
                       minutes_ago=minutes)
    return services.start_dose(actor=actor(staff["nurse"]), session=s,
                               at=timezone.now() - timedelta(minutes=minutes - 5))


def add_readings(s, staff, count: int, first_minutes_ago: int) -> None:
    """``count`` normal readings by the nurse, a minute apart, the first ``first_minutes_ago`` minutes ago."""
    for k in range(count):
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=NORMAL,
                            taken_at=timezone.now() - timedelta(minutes=first_minutes_ago - k))


def newest(s):
    """The session's newest reading (None before the first)."""
    return s.vitals.order_by("taken_at", "pk").last()


def save_row(client, s, **values):
    """The row form's htmx POST from a screen that shows the newest reading (unless ``shown_through`` is given)."""
    if "shown_through" not in values:
        shown = newest(s)
        values["shown_through"] = shown.pk if shown else ""
    return client.post(reverse("treatments:vitals", args=[s.external_id]),
                       {"systolic_mmHg": "128", "diastolic_mmHg": "82", "heart_rate_bpm": "76", **values},
                       HTTP_HX_REQUEST="true", HTTP_HX_TARGET="vitals-form")
