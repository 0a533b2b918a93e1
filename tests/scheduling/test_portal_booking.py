"""Self-scheduling in the portal (issue 18 point 2): a patient books, moves and cancels a follow-up among the times
the clinic opens (its working days and hours, the clinicians' weekly hours, what is free), within the booking
horizon, the minimum notice and the cancellation window; dosing sessions are never offered; every change is the
patient's own, audited as theirs; one patient cannot see or touch another's booking.

The clinic here works Monday to Friday 09:00-17:00 on 30-minute rows, so the tests run under the calendar date
matrix (a Saturday, holidays, daylight-saving nights, New Year's Eve): the expected times are worked out from the
clinic's hours and the moment the clock says, never from "today is a weekday"."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.services import update_clinic
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.scheduling import selfbooking, services
from ketaclinic.scheduling.models import Appointment, AppointmentChange
from tests.scheduling.conftest import types

pytestmark = [pytest.mark.calendar, pytest.mark.django_db]

OPENS, CLOSES, ROW = time(9, 0), time(17, 0), 30
WEEKDAYS = (0, 1, 2, 3, 4)
PHONE = "(303) 555-0100"


@pytest.fixture
def portal_clinic(clinic, admin, staff, rooms):
    """Mon-Fri 09:00-17:00, 30-minute rows; prescriber, nurse and therapist in all those hours; follow-ups and
    integration visits self-bookable; 14 days ahead at most, 24 h ahead at least, no changes inside 24 h."""
    update_clinic(actor=admin, clinic=clinic, data={"working_weekdays": ",".join(map(str, WEEKDAYS)), "phone": PHONE})
    clinic.refresh_from_db()
    services.set_clinic_hours(actor=admin, clinic=clinic, opens=OPENS, closes=CLOSES, slot_minutes=ROW)
    for who in ("prescriber", "nurse", "therapist"):
        services.set_availability(actor=admin, clinic=clinic, clinician=staff[who],
                                  rows=[(d, OPENS, CLOSES) for d in WEEKDAYS])
    ts = types(clinic)
    for code in ("follow_up", "integration"):
        services.update_type(actor=admin, type=ts[code], minutes=ts[code].minutes, active=True, self_bookable=True)
    selfbooking.set_portal_rules(actor=admin, clinic=clinic, portal_horizon_days=14, portal_notice_hours=24,
                                 portal_cancel_hours=24)
    clinic.refresh_from_db()
    return clinic


def follow_up(clinic):
    return types(clinic)["follow_up"]


def expected_days(clinic) -> list:
    now = timezone.now()
    first = timezone.localtime(now + timedelta(hours=24), clinic.tz).date()
    last = timezone.localtime(now + timedelta(days=14), clinic.tz).date()
    return [first + timedelta(days=k) for k in range((last - first).days + 1)
            if (first + timedelta(days=k)).weekday() in WEEKDAYS]


def expected_starts(clinic, day, minutes: int) -> list[datetime]:
    """The clinic's 30-minute rows from 09:00 whose appointment ends by 17:00, at least 24 h and at most 14 days on."""
    now = timezone.now()
    out = []
    at = datetime.combine(day, OPENS)
    while at + timedelta(minutes=minutes) <= datetime.combine(day, CLOSES):
        m = wall_clock_moment(day, at.time(), clinic.tz)
        if m is not None and now + timedelta(hours=24) <= m <= now + timedelta(days=14):
            out.append(m)
        at += timedelta(minutes=ROW)
    return out


def first_offered(clinic, patient, type=None):
    type = type or follow_up(clinic)
    for day in selfbooking.bookable_days(clinic):
        slots = selfbooking.open_slots(clinic, type, day, patient)
        if slots:
            return slots[0]
    raise AssertionError("no time offered in the whole horizon")


def as_field(clinic, moment) -> str:
    return f"{timezone.localtime(moment, clinic.tz):%Y-%m-%dT%H:%M}"


def pactor(patient):
    from ketaclinic.audit.services import Actor

    return Actor(user=patient.portal_account.user, roles=frozenset(), client_ip=None)


def signed_in_again(patient):
    from django.test import Client

    from ketaclinic.portal.services import SESSION_VERIFIED

    client = Client()
    client.force_login(patient.portal_account.user)
    session = client.session
    session[SESSION_VERIFIED] = patient.portal_account.pk
    session.save()
    return client


# ------------------------------------------------------------------------------------------------ offered times
def test_the_times_offered_are_the_clinics_rows_inside_the_notice_and_the_horizon(portal_clinic, make_portal_patient):
    patient, _ = make_portal_patient()
    days = selfbooking.bookable_days(portal_clinic)
    assert days == expected_days(portal_clinic)
    assert days and all(d.weekday() in WEEKDAYS for d in days)
    fu = follow_up(portal_clinic)
    for day in (days[0], days[-1]):
        assert selfbooking.open_slots(portal_clinic, fu, day, patient) == expected_starts(portal_clinic, day, fu.minutes)
    closed = next(d for d in (days[0] + timedelta(days=k) for k in range(7)) if d.weekday() not in WEEKDAYS)
    assert selfbooking.open_slots(portal_clinic, fu, closed, patient) == []


def test_a_time_taken_at_the_front_desk_is_no_longer_offered(portal_clinic, make_portal_patient, desk, staff, rooms,
                                                            make_patient):
    patient, _ = make_portal_patient()
    fu = follow_up(portal_clinic)
    start = first_offered(portal_clinic, patient)
    day = timezone.localtime(start, portal_clinic.tz).date()
    services.book_appointment(actor=desk, clinic=portal_clinic, type=fu, start=start, clinician=staff["prescriber"],
                              room=rooms["consult"], patient=make_patient(legal_given_name="Other"))
    # one consult room: taken at that time, whichever clinician is free
    assert start not in selfbooking.open_slots(portal_clinic, fu, day, patient)
    with pytest.raises(services.SchedulingError) as e:
        selfbooking.book(actor=pactor(patient), patient=patient, type=fu, start=start)
    assert "no longer free" in e.value.errors["start"]


# ------------------------------------------------------------------------------------------------ booking
def test_a_patient_books_a_follow_up_in_the_portal_audited_as_the_patient(portal_clinic, make_portal_patient):
    patient, client = make_portal_patient()
    start = first_offered(portal_clinic, patient)
    fu = follow_up(portal_clinic)
    page = client.get(reverse("scheduling:my_book") + f"?type={fu.pk}&day={timezone.localtime(start, portal_clinic.tz).date()}")
    assert page.status_code == 200 and f'value="{as_field(portal_clinic, start)}"' in page.text
    r = client.post(reverse("scheduling:my_book"), {"type": fu.pk, "start": as_field(portal_clinic, start)})
    assert r.status_code == 302 and r["Location"] == reverse("scheduling:my_appointments")
    a = Appointment.objects.get(patient=patient)
    user = patient.portal_account.user
    assert a.start == start and a.type == fu and a.booked_by == user and a.room.kind == "consult"
    assert a.clinician.has_role("prescriber", "nurse")
    entry = AuditEntry.objects.get(action="appointment.booked", patient=patient)
    assert entry.actor_id == user.pk and entry.details["via"] == "portal"
    assert [c.by_id for c in a.changes.all()] == [user.pk]
    listing = client.get(reverse("scheduling:my_appointments"))
    assert f"{timezone.localtime(start, portal_clinic.tz):%Y-%m-%d %H:%M}" in listing.text


@pytest.mark.parametrize("case", ["too_soon", "too_far", "off_the_rows", "consult", "dosing"])
def test_a_booking_outside_the_clinics_rules_is_refused_and_writes_nothing(case, portal_clinic, make_portal_patient):
    patient, client = make_portal_patient()
    ts = types(portal_clinic)
    fu = ts["follow_up"]
    good = first_offered(portal_clinic, patient)
    type, start, field = fu, good, "start"
    if case == "too_soon":
        day = timezone.localtime(timezone.now(), portal_clinic.tz).date()
        start = wall_clock_moment(day + timedelta(days=1), OPENS, portal_clinic.tz)
        start = min(start, timezone.now() + timedelta(hours=23))
    elif case == "too_far":
        start = good + timedelta(days=15)
    elif case == "off_the_rows":
        start = good + timedelta(minutes=7)
    elif case == "consult":
        type, field = ts["consult"], "type"
    elif case == "dosing":
        type, field = ts["treatment"], "type"
    before = AuditEntry.objects.count()
    with pytest.raises(services.SchedulingError) as e:
        selfbooking.book(actor=pactor(patient), patient=patient, type=type, start=start)
    assert field in e.value.errors
    if case == "dosing":
        assert "prescriber's signed treatment order" in e.value.errors["type"]
    assert not Appointment.objects.exists() and AuditEntry.objects.count() == before


def test_dosing_sessions_are_never_offered_and_cannot_be_made_self_bookable(portal_clinic, make_portal_patient,
                                                                            admin):
    patient, client = make_portal_patient()
    ts = types(portal_clinic)
    for code in ("treatment", "esketamine"):
        with pytest.raises(services.SchedulingError) as e:
            services.update_type(actor=admin, type=ts[code], minutes=ts[code].minutes, active=True,
                                 self_bookable=True)
        assert "signed treatment order" in e.value.errors["self_bookable"]
    assert {t.code for t in selfbooking.self_bookable_types(portal_clinic)} == {"follow_up", "integration"}
    page = client.get(reverse("scheduling:my_book"))
    assert "not booked here" in page.text and "Treatment session" not in page.text


def test_a_second_follow_up_is_refused_move_the_first_instead(portal_clinic, make_portal_patient):
    patient, _ = make_portal_patient()
    fu = follow_up(portal_clinic)
    start = first_offered(portal_clinic, patient)
    selfbooking.book(actor=pactor(patient), patient=patient, type=fu, start=start)
    later = first_offered(portal_clinic, patient)
    with pytest.raises(services.SchedulingError) as e:
        selfbooking.book(actor=pactor(patient), patient=patient, type=fu, start=later)
    assert "move that one instead" in e.value.errors["type"]


def test_only_the_patient_books_for_themselves(portal_clinic, make_portal_patient):
    a, _ = make_portal_patient()
    b, _ = make_portal_patient()
    with pytest.raises(services.SchedulingError):
        selfbooking.book(actor=pactor(b), patient=a, type=follow_up(portal_clinic), start=first_offered(portal_clinic, a))
    assert not Appointment.objects.exists()


# ------------------------------------------------------------------------------------------------ changes
def test_the_patient_moves_and_cancels_outside_the_window_and_the_history_keeps_the_old_time(portal_clinic,
                                                                                            make_portal_patient):
    patient, client = make_portal_patient()
    fu = follow_up(portal_clinic)
    first = first_offered(portal_clinic, patient)
    a = selfbooking.book(actor=pactor(patient), patient=patient, type=fu, start=first)
    later = next(s for d in selfbooking.bookable_days(portal_clinic)
                 for s in selfbooking.open_slots(portal_clinic, fu, d, patient, exclude=a) if s > first)
    r = client.post(reverse("scheduling:my_reschedule", args=[a.external_id]), {"start": as_field(portal_clinic, later)})
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.start == later and a.status == "booked"
    moved = a.changes.get(kind=AppointmentChange.Kind.RESCHEDULED)
    assert moved.from_start == first and moved.to_start == later and moved.by == patient.portal_account.user
    r = client.post(reverse("scheduling:my_cancel", args=[a.external_id]))
    a.refresh_from_db()
    assert a.status == "cancelled"
    entry = AuditEntry.objects.get(action="appointment.cancelled", patient=patient)
    assert entry.actor_id == patient.portal_account.user.pk and entry.details["via"] == "portal"


def test_inside_the_cancellation_window_the_portal_refuses_and_gives_the_clinics_phone(portal_clinic,
                                                                                      make_portal_patient, clock):
    patient, client = make_portal_patient()
    a = selfbooking.book(actor=pactor(patient), patient=patient, type=follow_up(portal_clinic),
                         start=first_offered(portal_clinic, patient))
    clock.move_to(a.start - timedelta(hours=23))
    client = signed_in_again(patient)  # days may pass: the idle sign-out ended the old session
    r = client.post(reverse("scheduling:my_cancel", args=[a.external_id]), follow=True)
    a.refresh_from_db()
    assert a.status == "booked"
    assert PHONE in r.text and "cannot be changed here" in r.text
    page = client.get(reverse("scheduling:my_appointments"))
    assert PHONE in page.text and reverse("scheduling:my_cancel", args=[a.external_id]) not in page.text
    with pytest.raises(services.SchedulingError) as e:
        selfbooking.reschedule(actor=pactor(patient), patient=patient, appointment=a,
                               start=a.start + timedelta(days=2))
    assert PHONE in e.value.errors["__all__"]


def test_an_appointment_the_clinic_booked_is_changed_by_calling_the_clinic(portal_clinic, make_portal_patient, desk,
                                                                          staff, rooms):
    patient, client = make_portal_patient()
    consult = types(portal_clinic)["consult"]
    start = first_offered(portal_clinic, patient) + timedelta(days=1)
    start = next(s for d in selfbooking.bookable_days(portal_clinic)
                 for s in selfbooking.candidate_starts(portal_clinic, d, consult.minutes) if s >= start)
    a = services.book_appointment(actor=desk, clinic=portal_clinic, type=consult, start=start,
                                  clinician=staff["prescriber"], room=rooms["consult"], patient=patient)
    client.post(reverse("scheduling:my_cancel", args=[a.external_id]))
    a.refresh_from_db()
    assert a.status == "booked"
    assert PHONE in client.get(reverse("scheduling:my_appointments")).text


# ------------------------------------------------------------------------------------------------ isolation
def test_one_patient_cannot_see_move_or_cancel_anothers_booking(portal_clinic, make_portal_patient):
    a_patient, a_client = make_portal_patient()
    b_patient, b_client = make_portal_patient()
    a = selfbooking.book(actor=pactor(a_patient), patient=a_patient, type=follow_up(portal_clinic),
                         start=first_offered(portal_clinic, a_patient))
    other = first_offered(portal_clinic, b_patient)
    urls = [("get", reverse("scheduling:my_reschedule", args=[a.external_id]), {}),
            ("post", reverse("scheduling:my_reschedule", args=[a.external_id]), {"start": as_field(portal_clinic, other)}),
            ("post", reverse("scheduling:my_cancel", args=[a.external_id]), {})]
    for method, url, data in urls:
        assert getattr(b_client, method)(url, data).status_code == 404, url
    a.refresh_from_db()
    assert a.status == "booked" and a.start != other and a.changes.count() == 1
    listing = b_client.get(reverse("scheduling:my_appointments")).text
    assert str(a.external_id) not in listing
    assert AuditEntry.objects.filter(action="portal.not_found", patient=b_patient).count() == 3


def test_the_portal_navigation_finds_my_appointments(portal_clinic, make_portal_patient):
    _, client = make_portal_patient()
    page = client.get(reverse("portal:home"))
    assert f'href="{reverse("scheduling:my_appointments")}"' in page.text


def test_staff_set_the_portal_rules_and_a_bad_value_changes_nothing(portal_clinic, client_for):
    admin = client_for("clinic_admin")
    r = admin.post(reverse("scheduling:portal_rules"), {"portal_horizon_days": "30", "portal_notice_hours": "48",
                                                        "portal_cancel_hours": "12"})
    assert r.status_code == 302
    hours = services.hours_for(portal_clinic)
    assert (hours.portal_horizon_days, hours.portal_notice_hours, hours.portal_cancel_hours) == (30, 48, 12)
    r = admin.post(reverse("scheduling:portal_rules"), {"portal_horizon_days": "1", "portal_notice_hours": "48",
                                                        "portal_cancel_hours": "x"})
    assert r.status_code == 400
    hours.refresh_from_db()
    assert (hours.portal_horizon_days, hours.portal_notice_hours, hours.portal_cancel_hours) == (30, 48, 12)


def test_the_demo_makes_follow_ups_self_bookable_and_a_portal_patient_books_one(clinic, make_user, make_patient,
                                                                                make_portal_patient):
    import random

    from ketaclinic.audit.services import Actor
    from ketaclinic.crossapp.management.commands.seed_demo import DemoContext
    from ketaclinic.scheduling import demo
    from tests.factories import make_rooms

    make_rooms(clinic)
    users = {"prescriber": make_user("prescriber"), "nurse": make_user("nurse"), "nurse2": make_user("nurse"),
             "therapist": make_user("therapist"), "frontdesk": make_user("front_desk"),
             "admin": make_user("clinic_admin")}
    portal_patient, client = make_portal_patient()
    ctx = DemoContext(clinic=clinic, actor=Actor.system("demo loader"), users=users,
                      patients=[make_patient() for _ in range(4)], rng=random.Random(1), now=timezone.now())
    demo.seed(ctx)
    assert {t.code for t in selfbooking.self_bookable_types(clinic)} == {"follow_up", "integration"}
    mine = Appointment.objects.get(patient=portal_patient)
    assert mine.type.code == "follow_up" and mine.booked_by == portal_patient.portal_account.user
    assert AuditEntry.objects.get(action="appointment.booked", patient=portal_patient).details["via"] == "portal"


def test_a_closed_day_is_not_offered_and_an_appointment_is_not_moved_onto_it(portal_clinic, make_portal_patient,
                                                                            admin):
    from ketaclinic.scheduling import closures

    patient, client = make_portal_patient()
    fu = follow_up(portal_clinic)
    first = first_offered(portal_clinic, patient)
    a = selfbooking.book(actor=pactor(patient), patient=patient, type=fu, start=first)
    booked_day = timezone.localtime(first, portal_clinic.tz).date()
    later = next(s for d in selfbooking.bookable_days(portal_clinic) if d > booked_day
                 for s in selfbooking.open_slots(portal_clinic, fu, d, patient, exclude=a))
    day = timezone.localtime(later, portal_clinic.tz).date()
    closures.close_days(actor=admin, clinic=portal_clinic, first=day, last=None, reason="Staff training")
    assert day not in selfbooking.bookable_days(portal_clinic)
    assert selfbooking.open_slots(portal_clinic, fu, day, patient, exclude=a) == []
    r = client.post(reverse("scheduling:my_reschedule", args=[a.external_id]), {"start": as_field(portal_clinic, later)})
    assert r.status_code == 400 and "Choose one of the times offered." in r.text
    a.refresh_from_db()
    assert a.start == first and not a.changes.filter(kind=AppointmentChange.Kind.RESCHEDULED).exists()
