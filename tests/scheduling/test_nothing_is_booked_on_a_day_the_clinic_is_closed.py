"""The clinic admin closes working weekdays (a holiday, a training day), one, a run, or a year's US federal
holidays at once: nothing is booked on a closed day (the calendar, the portal, a treatment series), the calendar
says why, a day that holds a booking is not closed (the bookings are named), and a closed day can be opened again.
Each change is audited."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.models import ClosedDay
from ketaclinic.clinic.services import update_clinic
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.scheduling import closures, selfbooking, services
from ketaclinic.scheduling.models import Appointment
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.services import booking
from tests.factories import actor, make_order
from tests.scheduling.conftest import next_week_at, types

pytestmark = pytest.mark.calendar


def _consult(clinic, desk, staff, rooms, start, patient):
    return services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start,
                                     clinician=staff["prescriber"], room=rooms["consult"], patient=patient)


def test_a_closed_day_refuses_every_booking_and_the_calendar_says_why(open_clinic, admin, desk, staff, rooms, clinic,
                                                                      patient, client_for):
    start = next_week_at(clinic, 10)
    day = timezone.localtime(start, clinic.tz).date()
    (row,) = closures.close_days(actor=admin, clinic=clinic, first=day, last=None, reason="Staff training")
    assert row.day == day and row.added_by == admin.user
    entry = AuditEntry.objects.get(action="scheduling.day.closed")
    assert entry.details == {"day": day.isoformat(), "reason": "Staff training"}

    with pytest.raises(services.SchedulingError) as refused:
        _consult(clinic, desk, staff, rooms, start, patient)
    assert f"The clinic is closed on {day:%a %Y-%m-%d} (Staff training)." in refused.value.errors["start"]
    assert not Appointment.objects.exists()

    page = client_for("front_desk").get(reverse("scheduling:calendar"),
                                        {"date": day.isoformat(), "view": "day"}).content.decode()
    assert f"The clinic is closed on {day:%A %Y-%m-%d} (Staff training): nothing can be booked." in page
    assert f"start={day:%Y-%m-%d}T" not in page  # no free slot of that day offers a booking link
    week = client_for("front_desk").get(reverse("scheduling:calendar"),
                                        {"date": day.isoformat(), "view": "week"}).content.decode()
    assert "closed: Staff training" in week and f"start={day:%Y-%m-%d}T" not in week

    assert day not in selfbooking.bookable_days(clinic)  # the portal offers no time on it
    assert selfbooking.candidate_starts(clinic, day, 30) == []


def test_a_treatment_series_moves_off_a_closed_day_and_says_why(open_clinic, admin, patient, staff, rooms, clinic):
    order = make_order(patient, staff)
    first = next_week_at(clinic, 10).date()
    plain = treatments.propose_series(order, first, clinic)
    aimed = plain[0][0]
    closures.close_days(actor=admin, clinic=clinic, first=aimed, last=None, reason="Thanksgiving")
    proposal = treatments.propose_series(order, first, clinic)
    assert aimed not in [d for d, _ in proposal] and proposal[0][0] > aimed
    assert f"The clinic is closed on {aimed:%A %-d %B} (Thanksgiving): moved to {proposal[0][0]:%A %-d %B}." in (
        booking.explain_moves(order, first, proposal, clinic))
    at = wall_clock_moment(aimed, time(10, 0), clinic.tz)
    assert f"The clinic is closed on {aimed:%a %Y-%m-%d} (Thanksgiving)." in booking.booking_conflicts(
        order=order, start=at, minutes=60, room=rooms["infusion"], chair=rooms["infusion"].chairs.first())


def test_a_day_with_a_booking_is_not_closed_and_the_booking_is_named(open_clinic, admin, desk, staff, rooms, clinic,
                                                                     patient):
    start = next_week_at(clinic, 10)
    day = timezone.localtime(start, clinic.tz).date()
    _consult(clinic, desk, staff, rooms, start, patient)
    with pytest.raises(services.SchedulingError) as refused:
        closures.close_days(actor=admin, clinic=clinic, first=day - timedelta(days=1), last=day + timedelta(days=1),
                            reason="Moving to the new building")
    assert f"Bookings stand on {day:%a %Y-%m-%d} (1): move or cancel them first" in refused.value.errors["first"]
    assert not ClosedDay.objects.exists() and not AuditEntry.objects.filter(action="scheduling.day.closed").exists()


@pytest.mark.parametrize(("first", "last", "reason", "field", "says"), [
    (1, 0, "Training", "last", "The last day comes on or after the first."),
    (1, 40, "Training", "last", "Close at most 31 days at once."),
    (1, None, "", "reason", "Say why the clinic is closed"),
    (1, None, "x" * 121, "reason", "Keep the reason to 120 characters."),
    (365 * 4, None, "Training", "first", "Choose days from"),
])
def test_bad_closures_are_refused_and_close_nothing(clinic, admin, first, last, reason, field, says):
    today = timezone.localdate()
    with pytest.raises(services.SchedulingError) as refused:
        closures.close_days(actor=admin, clinic=clinic, first=today + timedelta(days=first),
                            last=None if last is None else today + timedelta(days=last), reason=reason)
    assert says in refused.value.errors[field]
    assert not ClosedDay.objects.exists()


def test_only_the_clinic_admin_closes_days(clinic, staff):
    with pytest.raises(services.SchedulingError):
        closures.close_days(actor=actor(staff["front_desk"]), clinic=clinic, first=timezone.localdate(), last=None,
                            reason="Snow")
    assert not ClosedDay.objects.exists()


def test_the_federal_holidays_of_2026_close_on_their_observed_days(open_clinic, admin, desk, staff, rooms, clinic,
                                                                   patient, clock):
    """OPM's federal holidays of 2026 (5 U.S.C. 6103): Independence Day falls on a Saturday and is observed on
    Friday 3 July. A holiday a consult is booked on is left open, and said so."""
    clock.move_to(datetime(2026, 1, 5, 9, 0, tzinfo=clinic.tz))  # a Monday early in that year
    update_clinic(actor=admin, clinic=clinic, data={"working_weekdays": "0,1,2,3,4"})
    clinic.refresh_from_db()
    thanksgiving = wall_clock_moment(date(2026, 11, 26), time(10, 0), clinic.tz)
    _consult(clinic, desk, staff, rooms, thanksgiving, patient)
    expected = {date(2026, 1, 19), date(2026, 2, 16), date(2026, 5, 25), date(2026, 6, 19), date(2026, 7, 3),
                date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 11), date(2026, 12, 25), date(2026, 1, 1)}
    assert {d for d, _, _ in closures.federal_holidays_open(clinic, 2026)} == expected | {date(2026, 11, 26)}
    closed, left = closures.close_federal_holidays(actor=admin, clinic=clinic, year=2026)
    assert {r.day for r in closed} == expected and left == [date(2026, 11, 26)]
    assert ClosedDay.objects.get(day=date(2026, 7, 3)).reason.startswith("Independence Day")
    assert not ClosedDay.objects.filter(day=date(2026, 7, 4)).exists()  # a Saturday: not a working day
    assert AuditEntry.objects.filter(action="scheduling.day.closed").count() == len(expected)


def test_the_admins_page_closes_refuses_and_opens_again(clinic, client_for):
    admin = client_for("clinic_admin")
    url = reverse("scheduling:closed_days")
    page = admin.get(url)
    assert page.status_code == 200 and "US federal holidays of" in page.content.decode()
    day = timezone.localdate() + timedelta(days=10)
    bad = admin.post(url, {"close-first": day.isoformat(), "close-last": (day - timedelta(days=1)).isoformat(),
                           "close-reason": "Training"})
    assert bad.status_code == 400 and "The last day comes on or after the first." in bad.content.decode()
    # a screen reader hears the refusal and the help with the field they belong to
    assert 'aria-describedby="id_close-last_helptext id_close-last_error"' in bad.content.decode()
    assert 'id="id_close-last_helptext"' in bad.content.decode() and 'id="id_close-last_error"' in bad.content.decode()
    assert not ClosedDay.objects.exists()
    done = admin.post(url, {"close-first": day.isoformat(), "close-last": (day + timedelta(days=6)).isoformat(),
                            "close-reason": "Winter break"}, follow=True)
    working = {d for d in (day + timedelta(days=k) for k in range(7)) if d.weekday() in clinic.weekdays()}
    assert set(ClosedDay.objects.values_list("day", flat=True)) == working
    assert "Winter break" in done.content.decode()
    first = min(working)
    admin.post(reverse("scheduling:reopen_day"), {"day": first.isoformat()})
    assert first not in set(ClosedDay.objects.values_list("day", flat=True))
    reopened = AuditEntry.objects.get(action="scheduling.day.reopened")
    assert reopened.details == {"day": first.isoformat(), "reason": "Winter break"}
    again = admin.post(reverse("scheduling:reopen_day"), {"day": first.isoformat()})
    assert again.status_code == 400 and "is not closed" in again.content.decode()


def test_an_integration_session_is_not_booked_on_a_closed_day(open_clinic, admin, patient, staff, rooms, clinic):
    from ketaclinic.integration import services as integration
    from ketaclinic.integration.models import IntegrationSession
    from tests.factories import dosed_session

    session = dosed_session(patient, staff, rooms=rooms, end="discharged")
    offer = IntegrationSession.objects.get(dosing_session=session)
    start = offer.window_start + timedelta(hours=2)
    day = timezone.localtime(start, clinic.tz).date()
    closures.close_days(actor=admin, clinic=clinic, first=day, last=None, reason="Inservice day")
    with pytest.raises(integration.IntegrationError) as refused:
        integration.book(actor=actor(staff["therapist"]), offer=offer, start=start, therapist=staff["therapist"],
                         room=rooms["therapy"])
    assert f"The clinic is closed on {day:%a %Y-%m-%d} (Inservice day)." in refused.value.errors["start"]
    offer.refresh_from_db()
    assert offer.status == IntegrationSession.Status.OFFERED


def test_a_closed_week_beyond_an_esketamine_series_does_not_refuse_its_proposal(open_clinic, admin, patient, staff,
                                                                                clinic):
    from tests.factories import ESK

    order = make_order(patient, staff, data=ESK)  # 8 sessions: twice a week for four weeks
    first = next_week_at(clinic, 10).date()
    closures.close_days(actor=admin, clinic=clinic, first=first + timedelta(weeks=6),
                        last=first + timedelta(weeks=6, days=6), reason="Winter break")
    proposal = treatments.propose_series(order, first, clinic)
    assert len(proposal) == 8 and proposal[-1][0] < first + timedelta(weeks=4)
    closures.close_days(actor=admin, clinic=clinic, first=first + timedelta(weeks=1),
                        last=first + timedelta(weeks=1, days=6), reason="Staff away")
    with pytest.raises(treatments.TreatmentError):  # a week the series needs has no open day: said, not skipped
        treatments.propose_series(order, first, clinic)


def test_the_admin_closes_the_holidays_of_the_year_the_page_shows(clinic, client_for):
    admin = client_for("clinic_admin")
    year = timezone.localdate().year + 1
    page = admin.get(reverse("scheduling:closed_days"), {"year": year}).content.decode()
    assert f"US federal holidays of {year} still open" in page and f'name="year" value="{year}"' in page
    admin.post(reverse("scheduling:close_holidays"), {"year": year})
    closed = set(ClosedDay.objects.values_list("day", flat=True))
    assert closed and {d for d, _, _ in closures.federal_holidays_open(clinic, year)} == set()
    assert all(d.weekday() in clinic.weekdays() for d in closed)
    assert f"Every federal holiday of {year} on a working weekday is closed already." in admin.get(
        reverse("scheduling:closed_days"), {"year": year}).content.decode()


def test_an_appointment_is_not_moved_onto_a_closed_day(open_clinic, admin, desk, staff, rooms, clinic, patient):
    start = next_week_at(clinic, 10)
    a = _consult(clinic, desk, staff, rooms, start, patient)
    target = start + timedelta(days=1)
    day = timezone.localtime(target, clinic.tz).date()
    closures.close_days(actor=admin, clinic=clinic, first=day, last=None, reason="Roof repair")
    with pytest.raises(services.SchedulingError) as refused:
        services.reschedule(actor=desk, appointment=a, start=target, reason="patient_request")
    assert f"The clinic is closed on {day:%a %Y-%m-%d} (Roof repair)." in refused.value.errors["start"]
    a.refresh_from_db()
    assert a.start == start  # still where it was


def test_only_the_clinic_admin_closes_holidays_or_opens_a_day(clinic, staff, admin):
    year = timezone.localdate().year + 1
    for role in ("front_desk", "prescriber", "nurse"):
        with pytest.raises(services.SchedulingError):
            closures.close_federal_holidays(actor=actor(staff[role]), clinic=clinic, year=year)
    assert not ClosedDay.objects.exists()
    closed, _ = closures.close_federal_holidays(actor=admin, clinic=clinic, year=year)
    with pytest.raises(services.SchedulingError):
        closures.reopen_day(actor=actor(staff["front_desk"]), clinic=clinic, day=closed[0].day)
    assert ClosedDay.objects.filter(day=closed[0].day).exists()


def test_a_treatment_series_is_not_booked_across_a_closed_day(open_clinic, admin, patient, staff, rooms, clinic):
    from ketaclinic.treatments.models import TreatmentSession

    order = make_order(patient, staff)
    days = [d for d, _ in treatments.propose_series(order, next_week_at(clinic, 10).date(), clinic)]
    closures.close_days(actor=admin, clinic=clinic, first=days[1], last=None, reason="Staff training")
    with pytest.raises(treatments.TreatmentError) as refused:
        booking.book_series(actor=actor(staff["front_desk"]), order=order, days=days, at=time(10, 0),
                            chair=rooms["infusion"].chairs.first())
    assert (f"{days[1]:%a %d %b}: The clinic is closed on {days[1]:%a %Y-%m-%d} (Staff training)."
            in refused.value.errors.values())
    assert not TreatmentSession.objects.filter(order=order).exists()  # all or nothing: the days before are not kept


def test_the_holidays_offered_are_counted_from_their_own_days_bookings(open_clinic, admin, desk, staff, rooms, clinic,
                                                                       patient, clock, django_assert_num_queries):
    """A booking on the eve of a holiday does not count against it; one on the holiday does; four queries (the
    closed days, then appointments, treatment sessions and integration sessions on the holidays' own dates)."""
    clock.move_to(datetime(2026, 1, 5, 9, 0, tzinfo=clinic.tz))
    update_clinic(actor=admin, clinic=clinic, data={"working_weekdays": "0,1,2,3,4"})
    clinic.refresh_from_db()
    _consult(clinic, desk, staff, rooms, wall_clock_moment(date(2026, 11, 26), time(10, 0), clinic.tz), patient)
    _consult(clinic, desk, staff, rooms, wall_clock_moment(date(2026, 11, 25), time(10, 0), clinic.tz), patient)
    with django_assert_num_queries(4):
        offered = closures.federal_holidays_open(clinic, 2026)
    assert [(d, n) for d, _, n in offered if n] == [(date(2026, 11, 26), 1)]


def test_the_page_shows_the_year_asked_for_and_a_refused_year_keeps_its_own_list(clinic, client_for):
    admin = client_for("clinic_admin")
    url = reverse("scheduling:closed_days")
    this_year = timezone.localdate().year
    for asked in ("abc", "", "12345", "-1"):
        assert f"US federal holidays of {this_year} still open" in admin.get(url, {"year": asked}).content.decode()
    later = admin.get(url, {"year": this_year + 9}).content.decode()  # beyond the years offered: the last of them
    assert f"US federal holidays of {this_year + closures.YEARS_AHEAD} still open" in later
    refused = admin.post(reverse("scheduling:close_holidays"), {"year": this_year - 5})
    page = refused.content.decode()
    assert refused.status_code == 400 and "Choose a year from" in page
    assert f"US federal holidays of {this_year - closures.YEARS_BACK} still open" in page
    assert not ClosedDay.objects.exists()
