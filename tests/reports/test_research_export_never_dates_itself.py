"""The research export gives a researcher nothing to pin a patient's date shift to: only sessions that took place
are exported (never a booked, cancelled or future one), every patient's rows end at one common SHIFTED cutoff
(the largest shift before the export day: README.txt names it) so a patient still in treatment ends at the cutoff
whatever their shift, shifts are whole weeks (the weekday tells nothing about the shift), and the file's name
holds no date."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from ketaclinic.reports.research import draw_shift, record_research_consent, shift_range, write_export
from tests.factories import actor, book_at, clinic_open, dosed_session, make_rooms, open_day, template_minutes


def export(clinic):
    buf = io.BytesIO()
    write_export(clinic, buf)
    z = zipfile.ZipFile(buf)
    files = {n: list(csv.DictReader(io.StringIO(z.read(n).decode()))) for n in z.namelist() if n.endswith(".csv")}
    cutoff = re.search(r"shifted date after (\d{4}-\d\d-\d\d)", z.read("README.txt").decode())
    return files, date.fromisoformat(cutoff.group(1)) if cutoff else None


@pytest.mark.django_db
@override_settings(RESEARCH_DATE_SHIFT_MIN_DAYS=7, RESEARCH_DATE_SHIFT_MAX_DAYS=7)
@pytest.mark.parametrize("attempt", range(3))
def test_a_patient_in_treatment_ends_at_the_common_cutoff_and_no_booked_session_leaves(
        clinic, staff, make_patient, attempt):
    rooms = make_rooms(clinic, staff["clinic_admin"])
    p = make_patient()
    # today's session began two hours ago: now is a time the clinic booked it then (on a weekend, a night or a
    # holiday of CI's date matrix the test clock moves on to the clinic's next working day), so the weekly sessions
    # on today's weekday fall on the clinic's working days too
    today_start = clinic_open(clinic, minutes=template_minutes(clinic), minutes_ago=120)
    today = timezone.localdate()
    tz = timezone.get_current_timezone()

    def weeks_ago(weeks: int) -> datetime:  # at noon, that day in the clinic
        return datetime.combine(today - timedelta(days=7 * weeks), time(12), tz)

    first = dosed_session(p, staff, start=weeks_ago(4), rooms=rooms)
    for weeks in (3, 2, 1):
        dosed_session(p, staff, order=first.order, start=weeks_ago(weeks), rooms=rooms)
    dosed_session(p, staff, order=first.order, start=today_start, rooms=rooms)
    book_at(first.order, staff, open_day(clinic, 2), room=rooms["infusion"])  # booked, still to come
    record_research_consent(actor=actor(staff["front_desk"]), patient=p, data={"decision": "given", "how": "paper"})
    files, cutoff = export(clinic)
    rows = files["sessions.csv"]
    assert {r["status"] for r in rows} <= {"discharged", "transferred", "observation", "ready_for_discharge"}
    assert cutoff == timezone.localdate() - timedelta(days=7)
    # the shift is +7 or -7 days: either way the last row is on the cutoff day, and none is after it
    days = sorted(date.fromisoformat(r["shifted_date"]) for r in rows)
    assert days[-1] == cutoff and len(days) in (3, 5)
    # the weekday is the real one: the first session's shifted day is a whole number of weeks from the real day
    assert (days[0] - (timezone.localdate() - timedelta(days=28))).days % 7 == 0


def test_shifts_are_whole_weeks_within_the_set_range():
    import random

    rng = random.Random(7)
    with override_settings(RESEARCH_DATE_SHIFT_MIN_DAYS=10, RESEARCH_DATE_SHIFT_MAX_DAYS=30):
        assert shift_range() == (14, 28)  # rounded inwards to whole weeks
        shifts = {draw_shift(*shift_range(), rng) for _ in range(400)}
    assert shifts == {-28, -21, -14, 14, 21, 28}
    with override_settings(RESEARCH_DATE_SHIFT_MIN_DAYS=8, RESEARCH_DATE_SHIFT_MAX_DAYS=13), \
            pytest.raises(ImproperlyConfigured):
        shift_range()  # no whole week between 8 and 13 days
