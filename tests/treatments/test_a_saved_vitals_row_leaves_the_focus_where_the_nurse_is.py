"""A nurse who saved a vitals row and went on to another field keeps the focus there: htmx focuses an
``autofocus`` field once a swap settles, whatever has the focus by then, so the answers to a save carry none and
static/js/cockpit.js decides (Systolic, unless the nurse has moved on; tests/e2e/test_cockpit_by_keyboard.py).
A page opened during dosing still starts in Systolic."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import IV, book_now, checked_in, clinic_open, make_order, template_minutes
from tests.treatments.vitals_posting import add_readings, dosing_since, save_row

pytestmark = pytest.mark.django_db


def test_no_answer_to_a_save_takes_the_focus_from_the_field_the_nurse_moved_on_to(
        patient, staff, rooms, client_for, make_patient):
    """htmx focuses an ``autofocus`` field once a swap settles, whatever has the focus by then: a nurse who saved a
    row and went on to the dose form had the vial's name typed into Systolic. The answers leave the focus to
    static/js/cockpit.js (Systolic, unless the nurse has moved on); a page opened during dosing still starts there."""
    # a session begun an hour ago and one now: a time the clinic books both (the clock may move on to one)
    clinic_open(patient.clinic, minutes=60 + template_minutes(patient.clinic), minutes_ago=60)
    first = checked_in(book_now(make_order(make_patient(), staff, IV), staff, rooms, chair=rooms["a2"]), staff)
    client = client_for("nurse")
    panel = save_row(client, first)  # the first reading: the whole panel
    assert panel.headers["HX-Retarget"] == "#vitals" and "autofocus" not in panel.content.decode()
    s = dosing_since(patient, staff, rooms, 60)
    add_readings(s, staff, 2, first_minutes_ago=30)
    in_place, refused = save_row(client, s), save_row(client, s, systolic_mmHg="500")
    assert 'data-saved="yes"' in in_place.content.decode() and "autofocus" not in in_place.content.decode()
    assert "not a possible reading" in refused.content.decode() and "autofocus" not in refused.content.decode()
    page = client.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert re.search(r'<input name="systolic_mmHg"[^>]* autofocus', page)
