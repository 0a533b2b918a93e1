"""The calendar's pages: booking from a clicked slot or from the chart, refusals next to the field, the Today panel,
who may open what (against the one access table), no link a viewer would be refused, and an exact query budget."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.http import urlencode

from ketaclinic.access import can_open
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import services
from ketaclinic.scheduling.models import Appointment
from tests.foundation.access_table import ALLOWED, METHOD
from tests.foundation.test_links_follow_the_policy import internal_paths
from tests.scheduling.conftest import next_week_at, slot_today, types

pytestmark = pytest.mark.calendar


def _new_patient_post(clinic, staff, rooms, start, **extra):
    data = {"type": types(clinic)["consult"].pk, "start": timezone.localtime(start, clinic.tz).strftime("%Y-%m-%dT%H:%M"),
            "clinician": staff["prescriber"].pk, "place": f"r{rooms['consult'].pk}",
            "legal_given_name": "Quinn", "legal_family_name": "Newcall", "date_of_birth": "1991-02-03",
            "sex_at_birth": "male"}
    data.update(extra)
    return data


def test_a_clicked_free_slot_opens_the_form_filled_in_and_books_a_new_patient(open_clinic, staff, rooms, clinic,
                                                                               client_for):
    start = next_week_at(clinic, 10)
    c = client_for("front_desk")
    page = c.get(reverse("scheduling:calendar"), {"date": timezone.localtime(start, clinic.tz).date().isoformat()})
    slot = f"{reverse('scheduling:book')}?{urlencode({'start': timezone.localtime(start, clinic.tz).strftime('%Y-%m-%dT%H:%M'), 'room': rooms['consult'].pk})}"
    assert slot.replace("&", "&amp;") in page.content.decode()
    form = c.get(slot).content.decode()
    assert f'value="{timezone.localtime(start, clinic.tz):%Y-%m-%dT%H:%M}"' in form
    assert f'<option value="r{rooms["consult"].pk}" selected>' in form
    assert f'<option value="{types(clinic)["consult"].pk}" selected>' in form  # a consult room suggests a consult
    response = c.post(slot, _new_patient_post(clinic, staff, rooms, start, minutes="45"), follow=True)
    a = Appointment.objects.get()
    assert (a.patient.legal_family_name, a.minutes, a.clinician) == ("Newcall", 45, staff["prescriber"])
    body = response.content.decode()
    assert "Booked consult / psychiatric evaluation for Quinn Newcall" in body and "Quinn Newcall" in body


def test_a_refused_booking_shows_the_reason_next_to_the_field_and_registers_nobody(open_clinic, staff, rooms, clinic,
                                                                                   client_for):
    before = Patient.objects.count()
    past = timezone.now() - timedelta(hours=1)
    response = client_for("front_desk").post(reverse("scheduling:book"),
                                             _new_patient_post(clinic, staff, rooms, past))
    body = response.content.decode()
    next_to_start = re.search(r'has-error">\s*<label for="id_start">.*?class="field-error"[^>]*>([^<]*)<', body, re.S)
    assert response.status_code == 200 and "has passed" in next_to_start.group(1)
    assert Patient.objects.count() == before and not Appointment.objects.exists()


def test_a_missing_new_patient_detail_is_asked_for_by_name(open_clinic, staff, rooms, clinic, client_for):
    data = _new_patient_post(clinic, staff, rooms, next_week_at(clinic, 10), date_of_birth="", sex_at_birth="")
    body = client_for("front_desk").post(reverse("scheduling:book"), data).content.decode()
    assert "Give the new patient&#x27;s date of birth." in body and "Choose the new patient&#x27;s sex at birth." in body
    assert not Appointment.objects.exists()


def test_a_spring_forward_gap_time_is_refused_naming_the_gap(open_clinic, staff, rooms, clinic, client_for):
    today = timezone.localdate()
    gap = next(date(y, 3, 8) + timedelta(days=(6 - date(y, 3, 8).weekday()) % 7)
               for y in (today.year, today.year + 1) if date(y, 3, 8) + timedelta(days=(6 - date(y, 3, 8).weekday()) % 7) > today)
    data = {**_new_patient_post(clinic, staff, rooms, next_week_at(clinic, 10)), "start": f"{gap:%Y-%m-%d}T02:30"}
    body = client_for("front_desk").post(reverse("scheduling:book"), data).content.decode()
    assert "02:30 does not exist" in body and not Appointment.objects.exists()


def test_the_chart_offers_book_appointment_to_those_who_may_book(open_clinic, client_for, patient):
    chart = reverse("patients:chart", args=[patient.external_id])
    body = client_for("front_desk").get(chart).content.decode()
    assert f'href="{reverse("scheduling:book")}?patient={patient.external_id}">Book appointment</a>' in body
    assert "Book appointment" not in client_for("billing").get(chart).content.decode()
    form = client_for("front_desk").get(reverse("scheduling:book"), {"patient": patient.external_id}).content.decode()
    assert "Book an appointment for" in form and patient.mrn in form and 'name="legal_given_name"' not in form


def test_today_panel_lists_todays_appointments(open_clinic, desk, staff, rooms, clinic, client_for, patient, clock):
    start = slot_today(clinic, clock, minutes=15)
    services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["follow_up"], start=start, minutes=15,
                              clinician=staff["nurse"], room=rooms["consult"], patient=patient)
    body = client_for("front_desk").get(reverse("clinic:today")).content.decode()
    assert "Appointments today" in body and patient.display_name in body
    assert "Appointments today" not in client_for("billing").get(reverse("clinic:today")).content.decode()


def test_the_calendar_shows_treatment_and_integration_sessions_read_only(open_clinic, desk, staff, rooms, clinic,
                                                                         client_for, patient):
    from ketaclinic.treatments import services as treatments
    from tests.factories import make_order

    start = next_week_at(clinic, 9)
    s = treatments.book_session(actor=desk, order=make_order(patient, staff), start=start, room=rooms["infusion"],
                                chair=rooms["a1"])
    day = timezone.localtime(start, clinic.tz).date().isoformat()
    nurse = client_for("nurse").get(reverse("scheduling:calendar"), {"date": day}).content.decode()
    assert reverse("treatments:cockpit", args=[s.external_id]) in nurse
    desk_page = client_for("front_desk").get(reverse("scheduling:calendar"), {"date": day}).content.decode()
    assert reverse("treatments:cockpit", args=[s.external_id]) not in desk_page
    assert reverse("treatments:order", args=[s.order.external_id]) in desk_page


SCHEDULING = sorted(n for n in ALLOWED if n.startswith("scheduling:"))


def test_every_calendar_url_lets_in_exactly_the_roles_of_the_access_table(open_clinic, desk, staff, rooms, clinic,
                                                                         client_for, patient):
    a = services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"],
                                  start=next_week_at(clinic, 10), clinician=staff["prescriber"],
                                  room=rooms["consult"], patient=patient)
    entry = services.add_to_waitlist(actor=desk, clinic=clinic, patient=patient, type=types(clinic)["follow_up"])
    args = {"scheduling:appointment": [a.external_id], "scheduling:reschedule": [a.external_id],
            "scheduling:cancel": [a.external_id], "scheduling:availability": [staff["nurse"].pk],
            "scheduling:type": [types(clinic)["consult"].pk], "scheduling:waitlist_remove": [entry.external_id],
            "scheduling:my_reschedule": [a.external_id], "scheduling:my_cancel": [a.external_id]}
    wrong = []
    for name in SCHEDULING:
        url = reverse(name, args=args.get(name, []))
        for role in ("prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin"):
            c = client_for(role)
            response = c.get(url) if METHOD[name] == "GET" else c.post(url, {})
            allowed = role in ALLOWED[name]
            if (response.status_code == 403) == allowed or response.status_code >= 500:
                wrong.append(f"{name} {role}: {response.status_code}")
            if can_open(staff[role], name) != allowed:
                wrong.append(f"{name} {role}: policy disagrees with the table")
    assert wrong == []


@pytest.mark.parametrize("page", ["calendar-day", "calendar-week", "calendar-clinician", "book", "appointment",
                                  "waitlist", "hours", "chart", "today"])
def test_no_calendar_page_shows_a_link_its_viewer_is_refused(page, open_clinic, desk, staff, rooms, clinic,
                                                              client_for, patient):
    a = services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"],
                                  start=next_week_at(clinic, 10), clinician=staff["prescriber"],
                                  room=rooms["consult"], patient=patient)
    day = timezone.localtime(a.start, clinic.tz).date().isoformat()
    url, name = {
        "calendar-day": (f"{reverse('scheduling:calendar')}?date={day}", "scheduling:calendar"),
        "calendar-week": (f"{reverse('scheduling:calendar')}?date={day}&view=week", "scheduling:calendar"),
        "calendar-clinician": (f"{reverse('scheduling:calendar')}?date={day}&by=clinician", "scheduling:calendar"),
        "book": (reverse("scheduling:book"), "scheduling:book"),
        "appointment": (reverse("scheduling:appointment", args=[a.external_id]), "scheduling:appointment"),
        "waitlist": (reverse("scheduling:waitlist"), "scheduling:waitlist"),
        "hours": (reverse("scheduling:hours"), "scheduling:hours"),
        "chart": (reverse("patients:chart", args=[patient.external_id]), "patients:chart"),
        "today": (reverse("clinic:today"), "clinic:today"),
    }[page]
    wrong = []
    for role in sorted(ALLOWED[name] & set(staff)):
        response = client_for(role).get(url)
        assert response.status_code == 200, (role, response.status_code)
        for how, path in internal_paths(response.content.decode()):
            target = resolve(path).view_name
            if not can_open(staff[role], target):
                wrong.append(f"{role}: {how} {path} ({target})")
    assert wrong == []


def _fill_week(clinic, desk, staff, rooms, patients, per_day: int):
    """``per_day`` follow-ups a day in the consult room for the 7 days from next week's day."""
    t = types(clinic)["follow_up"]
    for d in range(7):
        for k in range(per_day):
            start = next_week_at(clinic, 8 + k) + timedelta(days=d)
            services.book_appointment(actor=desk, clinic=clinic, type=t, start=start, clinician=staff["nurse"],
                                      room=rooms["consult"], patient=patients[(d * per_day + k) % len(patients)])


#: The calendar's queries, whatever it holds: session and user (2), the user's roles (1), the clinic (1), its
#: booking hours (1), rooms and their chairs (2), clinicians and their roles (2), availability (1), appointments
#: (1), treatment sessions (1), integration sessions (1), the waitlist (1), the days the clinic closed (1).
CALENDAR_QUERIES = 15


@pytest.mark.parametrize("view", ["day", "week", "clinician"])
def test_the_calendar_runs_a_fixed_number_of_queries(view, open_clinic, desk, staff, rooms, clinic, client_for,
                                                     make_patient, django_assert_num_queries):
    patients = [make_patient() for _ in range(4)]
    day = timezone.localtime(next_week_at(clinic, 8), clinic.tz).date()
    params = {"date": day.isoformat(), "view": "week" if view == "week" else "day",
              "by": "clinician" if view == "clinician" else "place"}
    c = client_for("front_desk")
    c.get(reverse("scheduling:calendar"), params)  # warm the session
    _fill_week(clinic, desk, staff, rooms, patients, 1)
    with django_assert_num_queries(CALENDAR_QUERIES):
        few = c.get(reverse("scheduling:calendar"), params)
    _fill_week(clinic, desk, staff, rooms, patients[1:], 0)
    services.cancel(actor=desk, appointment=Appointment.objects.first(), reason="patient_request")
    for k in range(1, 8):
        services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["follow_up"],
                                  start=next_week_at(clinic, 8 + k), clinician=staff["prescriber"],
                                  room=rooms["consult"], patient=patients[k % 4])
    with django_assert_num_queries(CALENDAR_QUERIES):
        many = c.get(reverse("scheduling:calendar"), params)
    assert few.status_code == many.status_code == 200
    assert many.content.decode().count("kind-appointment") > few.content.decode().count("kind-appointment")


def test_the_clinic_admin_sets_hours_from_the_page_and_a_bad_entry_is_named(clinic, staff, client_for):
    c = client_for("clinic_admin")
    nurse = staff["nurse"]
    day = sorted(clinic.weekdays())[0]
    response = c.post(reverse("scheduling:availability", args=[nurse.pk]),
                      {f"u{nurse.pk}-clinician": nurse.pk, f"u{nurse.pk}-d{day}_start": "09:00"})
    assert response.status_code == 400 and "Give both times" in response.content.decode()
    c.post(reverse("scheduling:availability", args=[nurse.pk]),
           {f"u{nurse.pk}-clinician": nurse.pk, f"u{nurse.pk}-d{day}_start": "09:00",
            f"u{nurse.pk}-d{day}_end": "12:00"})
    assert [(a.weekday, a.start, a.end) for a in nurse.availability.all()] == [(day, time(9), time(12))]


def test_reschedule_and_cancel_from_the_appointment_page(open_clinic, desk, staff, rooms, clinic, client_for, patient,
                                                         make_patient):
    a = services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"],
                                  start=next_week_at(clinic, 10), clinician=staff["prescriber"],
                                  room=rooms["consult"], patient=patient)
    services.add_to_waitlist(actor=desk, clinic=clinic, patient=make_patient(legal_given_name="Wren"),
                             type=types(clinic)["consult"])
    c = client_for("front_desk")
    page = c.get(reverse("scheduling:appointment", args=[a.external_id])).content.decode()
    assert "Reschedule" in page and "History" in page
    refused = c.post(reverse("scheduling:reschedule", args=[a.external_id]),
                     {"start": "2000-01-03T10:00", "reason": "patient_request"})
    assert refused.status_code == 400 and "has passed" in refused.content.decode()
    a.refresh_from_db()
    assert a.start == next_week_at(clinic, 10)
    moved = next_week_at(clinic, 13)
    c.post(reverse("scheduling:reschedule", args=[a.external_id]),
           {"start": timezone.localtime(moved, clinic.tz).strftime("%Y-%m-%dT%H:%M"), "reason": "patient_request"})
    a.refresh_from_db()
    assert a.start == moved
    no_reason = c.post(reverse("scheduling:cancel", args=[a.external_id]), {"reason": ""})
    assert no_reason.status_code == 400 and "Choose the reason." in no_reason.content.decode()
    response = c.post(reverse("scheduling:cancel", args=[a.external_id]), {"reason": "patient_ill"}, follow=True)
    body = response.content.decode()
    a.refresh_from_db()
    assert a.status == "cancelled" and "1 waitlist entry matches the freed slot" in body
    assert "Freed slots that suit the waitlist" in body and "Offer this slot to Wren" in body
    history = c.get(reverse("scheduling:appointment", args=[a.external_id])).content.decode()
    assert "; Patient asked" in history and "<td>Patient unwell</td>" in history and "<td>Rescheduled</td>" in history
