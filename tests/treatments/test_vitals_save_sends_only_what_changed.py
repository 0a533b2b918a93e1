"""Saving a vitals row at the chair answers with what changed only: the new row, the alerts and the next-due time,
in the same number of queries and the same number of bytes whether the session has 10 readings or 400. The first
reading, a back-dated one, and a save from a screen that had not shown the newest reading (a colleague's) redraw
the whole panel; a reading a prescriber has not seen stays listed for a prescriber. Timing lives in
bench/bench_vitals.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.treatments import services
from tests.factories import IV, actor, book_now, make_order, ready_to_start
from tests.treatments.vitals_posting import NORMAL, add_readings, dosing_since, newest, save_row

pytestmark = pytest.mark.django_db


def test_a_saved_row_answers_with_the_row_alerts_and_due_time_whatever_the_history(
        patient, staff, rooms, client_for, django_assert_num_queries):
    s = dosing_since(patient, staff, rooms, 600)
    add_readings(s, staff, 8, first_minutes_ago=590)
    client = client_for("nurse")
    save_row(client, s, systolic_mmHg="125")  # the nurse's first save of the visit stamps the sign-in session
    # Request 3 (sign-in session, user, roles), the clinic 1, the session 1, the use case 9 (begin, lock, the
    # newest reading with the baseline in one read, insert, update, audit chain 3, commit): nothing to redraw, and
    # not one query that reads the session's history.
    seen = newest(s).pk
    assert s.vitals.count() == 10
    with django_assert_num_queries(14):
        short = save_row(client, s, shown_through=seen)
    body = short.content.decode()
    assert short.status_code == 200 and 'data-saved="yes"' in body
    assert body.count("<tr") == 1 and 'hx-swap-oob="beforeend:#vitals-rows"' in body and "128/82" in body
    assert 'id="vitals-due"' in body and 'id="vitals-alerts"' in body and "HX-Retarget" not in short.headers
    add_readings(s, staff, 388, first_minutes_ago=580)  # a long day at the chair, one reading a minute
    save_row(client, s, systolic_mmHg="126")  # the sign-in session is stamped again if the readings took a while
    seen = newest(s).pk
    assert s.vitals.count() == 400
    with django_assert_num_queries(14) as q:
        long = save_row(client, s, systolic_mmHg="127", shown_through=seen)
    assert not any("LIMIT" not in x["sql"] for x in q.captured_queries if 'FROM "treatments_vitalsreading"' in x["sql"])
    assert abs(len(long.content) - len(short.content)) <= 8  # one row, not 400 (only the row's figures differ)


def test_a_hold_reading_before_the_dose_comes_back_with_its_alert_and_a_prescriber_sees_earlier_ones(
        patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=20), staff,
                       minutes_ago=20)
    nurse = save_row(client_for("nurse"), s, systolic_mmHg="162", diastolic_mmHg="96").content.decode()
    assert "HOLD" in nurse and "Do not start" in nurse and "Acknowledge: steps in hand" in nurse
    assert "no prescriber has seen yet" not in nurse  # that list is the prescriber's
    prescriber = save_row(client_for("prescriber"), s).content.decode()
    assert "Earlier readings at HOLD or STOP no prescriber has seen yet" in prescriber and "162/96" in prescriber


def test_a_back_dated_reading_redraws_the_panel_in_time_order(patient, staff, rooms, client_for, clock):
    if clock.local().hour * 60 + clock.local().minute < 70:  # a typed time is today's: keep the visit after midnight
        clock.shift(timedelta(hours=2))
    s = dosing_since(patient, staff, rooms, 60)
    add_readings(s, staff, 3, first_minutes_ago=30)
    at = timezone.localtime(timezone.now() - timedelta(minutes=45), s.patient.clinic.tz)
    r = save_row(client_for("nurse"), s, taken_at=at.strftime("%H:%M"))
    assert r.headers["HX-Retarget"] == "#vitals" and r.headers["HX-Reswap"] == "outerHTML"
    body = r.content.decode()
    assert body.count("<tr class=\"level-") == s.vitals.count()
    times = [t.strftime("%H:%M") for t in (timezone.localtime(v.taken_at, s.patient.clinic.tz)
                                            for v in s.vitals.order_by("taken_at", "pk"))]
    assert [body.index(f"<td>{t}</td>") for t in times] == sorted(body.index(f"<td>{t}</td>") for t in times)


def test_a_refused_row_comes_back_in_the_form_with_what_was_typed_and_saves_nothing(
        patient, staff, rooms, client_for):
    s = dosing_since(patient, staff, rooms, 60)
    add_readings(s, staff, 2, first_minutes_ago=30)
    r = save_row(client_for("nurse"), s, systolic_mmHg="500")
    body = r.content.decode()
    assert "not a possible reading" in body and 'value="500"' in body and "<tr" not in body
    assert s.vitals.count() == 3  # the pre-dose reading and the two during


def test_after_a_refused_row_the_corrected_one_is_still_added_in_place(patient, staff, rooms, client_for):
    """The refused form comes back still saying which reading the screen shows (nothing changed on it), so the
    corrected row is answered with that row alone, not with the whole panel redrawn."""
    s = dosing_since(patient, staff, rooms, 60)
    add_readings(s, staff, 2, first_minutes_ago=30)
    client, seen = client_for("nurse"), newest(s).pk
    refused = save_row(client, s, systolic_mmHg="500", shown_through=seen).content.decode()
    assert "not a possible reading" in refused
    posted_next = re.search(r'name="shown_through" value="(\d*)"', refused).group(1)  # what htmx posts next
    assert posted_next == str(seen)
    r = save_row(client, s, systolic_mmHg="132", shown_through=posted_next)
    assert "HX-Retarget" not in r.headers and r.content.decode().count("<tr") == 1 and "132/82" in r.content.decode()


def test_a_screen_that_missed_a_colleagues_reading_gets_the_whole_panel(patient, staff, rooms, client_for):
    s = dosing_since(patient, staff, rooms, 60)
    add_readings(s, staff, 2, first_minutes_ago=30)
    seen = newest(s)
    services.add_vitals(actor=actor(staff["prescriber"]), session=s, values={**NORMAL, "systolic_mmHg": 186},
                        taken_at=timezone.now() - timedelta(minutes=1))  # saved on another screen: at HOLD
    r = save_row(client_for("nurse"), s, shown_through=seen.pk)
    assert r.headers["HX-Retarget"] == "#vitals"
    body = r.content.decode()
    assert body.count('<tr class="level-') == s.vitals.count() and "186/80" in body


def test_the_first_reading_replaces_no_readings_yet_with_the_whole_panel(patient, staff, rooms, client_for):
    from tests.factories import checked_in

    s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    assert "No readings yet" in client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])
                                                        ).content.decode()
    r = save_row(client_for("nurse"), s)
    assert r.headers["HX-Retarget"] == "#vitals" and "No readings yet" not in r.content.decode()
    assert r.content.decode().count('<tr class="level-') == 1

