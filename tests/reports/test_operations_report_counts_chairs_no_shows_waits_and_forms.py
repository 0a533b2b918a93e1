"""The operations report: chair utilisation by week, no-shows (appointments and treatment sessions), the wait from
registration to the first dosed session, sessions per patient, REMS forms on time, integration sessions. Built
through the apps' own services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from ketaclinic.integration import services as integration
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.patients.services import add_diagnosis
from ketaclinic.reports import operations
from ketaclinic.reports.base import ReportFilters
from ketaclinic.scheduling import services as scheduling
from ketaclinic.treatments import services
from ketaclinic.treatments.models import RemsForm
from tests.factories import ESK, actor, back_at, book_at, dosed_session, make_order, make_rooms
from tests.reports.tables import by_diagnosis_group
from tests.reports.tables import row as _row
from tests.reports.tables import section as _section
from tests.scheduling.conftest import open_every_day, types

QUERIES = 11  # with the days the clinic closed, which chair utilisation does not count as open


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


def _at(days_ago: int, hours: float = 0):
    return (timezone.now() - timedelta(days=days_ago) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def _registered(make_patient, days_ago):
    with back_at(_at(days_ago)):
        return make_patient()


@pytest.fixture
def world(clinic, staff, rooms, make_patient):
    """Test "now" is Wednesday 17 June 2026. Registered -> first dosed: E 1 day, B 4, A 10, C 20. A is dosed twice
    (Wed 10 and Fri 12 June), E (esketamine) Mon 8 June, B Mon 15 June, C (esketamine) Tue 16 June; D misses a
    session on Tue 9 June; one session is cancelled (Thu 11 June)."""
    a, b, c, e = (_registered(make_patient, d) for d in (17, 6, 21, 10))
    d = make_patient()
    add_diagnosis(actor=actor(staff["nurse"]), patient=c, code="F31.4")
    s_a = dosed_session(a, staff, rooms=rooms, start=_at(7), end="discharged")
    s_a2 = dosed_session(a, staff, order=s_a.order, rooms=rooms, start=_at(5), end="discharged")
    s_b = dosed_session(b, staff, rooms=rooms, start=_at(2), end="discharged")
    s_c = dosed_session(c, staff, rooms=rooms, start=_at(1), data=ESK, end="discharged")
    s_e = dosed_session(e, staff, rooms=rooms, start=_at(9), data=ESK, end="discharged")
    day6, day8 = _at(6), _at(8, 1)
    with back_at(day6 - timedelta(hours=1)):
        cancelled = book_at(s_a.order, staff, day6, room=rooms["infusion"])
        services.cancel_session(actor=actor(staff["front_desk"]), session=cancelled, reason="Patient asked")
    with back_at(day8 - timedelta(hours=1)):
        missed = book_at(make_order(d, staff), staff, day8, room=rooms["infusion"])
    with back_at(day8 + timedelta(hours=1)):
        services.cancel_session(actor=actor(staff["front_desk"]), session=missed, reason="Did not come",
                                no_show=True)
    # REMS: C's form submitted the next day (on time); E's never submitted, due 15 June: past due
    with back_at(_at(0, -2)):
        services.mark_rems_submitted(actor=actor(staff["nurse"]), form=RemsForm.objects.get(session=s_c))
    # integration: A's first offer booked and attended, B's declined, the other three still open
    therapist = actor(staff["therapist"])
    offer = IntegrationSession.objects.get(dosing_session=s_a)
    with back_at(_at(6)):
        integration.book(actor=therapist, offer=offer, start=offer.window_start + timedelta(hours=2),
                         therapist=staff["therapist"], room=rooms["therapy"])
    with back_at(offer.window_start + timedelta(hours=3)):
        integration.set_status(actor=therapist, offer=offer, status="completed")
    integration.set_status(actor=therapist, offer=IntegrationSession.objects.get(dosing_session=s_b),
                           status="declined")
    # appointments: three consults that have come, one a no-show, one cancelled; a follow-up attended
    admin = actor(staff["clinic_admin"])
    open_every_day(clinic, admin, [staff["prescriber"]])
    kinds = types(clinic)
    desk = actor(staff["front_desk"])
    booked = []
    for days_ago, kind in ((3, "consult"), (3, "consult"), (4, "consult"), (4, "follow_up")):
        start = _at(days_ago, 1 + len(booked))
        with back_at(start - timedelta(days=1)):
            booked.append(scheduling.book_appointment(
                actor=desk, clinic=clinic, type=kinds[kind], start=start, clinician=staff["prescriber"],
                room=rooms["consult"], patient=d))
    with back_at(booked[0].start + timedelta(hours=1)):
        scheduling.cancel(actor=desk, appointment=booked[0], reason="did_not_attend", no_show=True)
    with back_at(booked[1].start - timedelta(hours=3)):
        scheduling.cancel(actor=desk, appointment=booked[1], reason="patient_request")
    return {"sessions": [s_a, s_a2, s_b, s_c, s_e, missed], "c": s_c}




def test_every_section_counts_exactly(world, django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        r = operations.build(ReportFilters())
    appts = _section(r, "No-shows: appointments")
    assert _row(appts, "All appointments")[1:] == (3, 1, 33.3)  # the cancelled consult is never due
    sessions = _section(r, "No-shows: treatment sessions")
    assert _row(sessions, "Intravenous infusion")[1:] == (4, 1, 25.0)  # A twice, B, D's no-show
    assert _row(sessions, "All treatment sessions")[1:] == (6, 1, 16.7)
    assert _section(r, "Time from referral").table.rows == [(4, 7.0, 20.0)]  # waits 1, 4, 10, 20 days
    assert _section(r, "Dosed sessions per patient").table.rows == [(1, 3, 75.0), (2, 1, 25.0)]
    rems = _section(r, "Spravato REMS")
    assert [row[1] for row in rems.table.rows] == [1, 0, 1, 0, 0, 2]
    assert rems.table.rows[0][2] == 50.0
    integ = _section(r, "Integration sessions")
    assert [row[1] for row in integ.table.rows] == [5, 1, 1, 1, 0, 3]


def test_chair_utilisation_of_one_week(world, django_assert_num_queries):
    week = ReportFilters(start=date(2026, 6, 8), end=date(2026, 6, 14))
    if timezone.localdate() != date(2026, 6, 17):
        pytest.skip("the week is counted against the default test day")
    with django_assert_num_queries(QUERIES):
        r = operations.build(week)
    chairs = _section(r, "Chair utilisation")
    # Mon 8 (E), Tue 9 (D's no-show held its chair), Wed 10 and Fri 12 (A); the cancelled session does not count
    s_a, s_a2, _, _, s_e, missed = world["sessions"]
    booked = s_a.scheduled_minutes + s_a2.scheduled_minutes + s_e.scheduled_minutes + missed.scheduled_minutes
    dosed = booked - missed.scheduled_minutes
    open_minutes = 7 * 1439 * 4  # the world opens every day, 00:00-23:59 (for the appointments); four chairs
    assert chairs.table.rows == [("2026-06-08", 4, booked, dosed, open_minutes,
                                  round(100 * booked / open_minutes, 1), round(100 * dosed / open_minutes, 1))]
    spravato = operations.build(ReportFilters(start=date(2026, 6, 8), end=date(2026, 6, 14),
                                              room_id=world["c"].room_id))
    assert _section(spravato, "Chair utilisation").table.rows[0][1:5] == (
        1, s_e.scheduled_minutes, s_e.scheduled_minutes, 7 * 1439 * 2)


def test_filters_narrow_the_counts(world, django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        esk = operations.build(ReportFilters(route="intranasal"))
    assert _section(esk, "Time from referral").table.rows == [(2, 10.5, 20.0)]  # E 1 day, C 20 days
    assert _section(esk, "Dosed sessions per patient").table.rows == [(1, 2, 100.0)]
    assert [row[1] for row in _section(esk, "Integration sessions").table.rows] == [2, 0, 0, 0, 0, 2]
    assert "route" in " ".join(_section(esk, "No-shows: appointments").notes)
    bipolar = operations.build(ReportFilters(diagnosis="bipolar"))  # only C
    assert [row[1] for row in _section(bipolar, "Spravato REMS").table.rows] == [1, 0, 0, 0, 0, 1]
    assert _row(_section(bipolar, "No-shows: appointments"), "All appointments")[1:] == (0, 0, None)
    recent = operations.build(ReportFilters(start=timezone.localdate() - timedelta(days=3)))
    assert _section(recent, "Dosed sessions per patient").table.rows == [(1, 2, 100.0)]  # B and C
    assert _row(_section(recent, "No-shows: treatment sessions"), "All treatment sessions")[1:] == (2, 0, 0.0)


def test_the_query_count_does_not_grow_with_more_sessions(world, staff, rooms, make_patient,
                                                          django_assert_num_queries):
    for days_ago in (14, 15):
        dosed_session(_registered(make_patient, days_ago + 3), staff, rooms=rooms, start=_at(days_ago),
                      end="discharged")
    with django_assert_num_queries(QUERIES):
        r = operations.build(ReportFilters())
    assert _section(r, "Time from referral").table.rows[0][0] == 6





def test_each_patient_counts_in_one_diagnosis_group(world, staff, django_assert_num_queries):
    """The core's one-group rule (ketaclinic/clinical/diagnosis_groups.py): bipolar before unipolar before PTSD
    before anxiety, "other" for none. C has F31.4 and F33.2: bipolar only; A has F43.10 and F41.1: PTSD only."""
    nurse = actor(staff["nurse"])
    a, b = world["sessions"][0].patient, world["sessions"][2].patient
    add_diagnosis(actor=nurse, patient=world["c"].patient, code="F33.2")
    add_diagnosis(actor=nurse, patient=a, code="F43.10")
    add_diagnosis(actor=nurse, patient=a, code="F41.1")
    add_diagnosis(actor=nurse, patient=b, code="F32.1")
    everyone, by_group = by_diagnosis_group(operations.build, django_assert_num_queries, QUERIES)
    patients = {g: sum(row[1] for row in _section(r, "Dosed sessions per patient").table.rows)
                for g, r in by_group.items()}
    assert patients == {"bipolar": 1, "unipolar": 1, "ptsd": 1, "anxiety": 0, "other": 1}  # C; B; A; E
    assert sum(patients.values()) == sum(row[1] for row in _section(everyone, "Dosed sessions per patient").table.rows)
    waits = {g: _section(r, "Time from referral").table.rows[0][0] for g, r in by_group.items()}
    assert waits == patients
    forms = {g: _section(r, "Spravato REMS").table.rows[-1][1] for g, r in by_group.items()}
    assert forms == {"bipolar": 1, "unipolar": 0, "ptsd": 0, "anxiety": 0, "other": 1}  # C's and E's forms
    offers = {g: _section(r, "Integration sessions").table.rows[0][1] for g, r in by_group.items()}
    assert sum(offers.values()) == _section(everyone, "Integration sessions").table.rows[0][1]
    missed = {g: _row(_section(r, "No-shows: treatment sessions"), "All treatment sessions")[2]
              for g, r in by_group.items()}
    assert missed == {"bipolar": 0, "unipolar": 0, "ptsd": 0, "anxiety": 0, "other": 1}  # D has no diagnosis
    visits = {g: _row(_section(r, "No-shows: appointments"), "All appointments")[1] for g, r in by_group.items()}
    assert visits == {"bipolar": 0, "unipolar": 0, "ptsd": 0, "anxiety": 0, "other": 3}  # D's, none cancelled


def test_a_day_the_clinic_closed_is_not_counted_as_open_chair_time(world, staff, clinic):
    if timezone.localdate() != date(2026, 6, 17):
        pytest.skip("the week is counted against the default test day")
    from ketaclinic.scheduling import closures

    closures.close_days(actor=actor(staff["clinic_admin"]), clinic=clinic, first=date(2026, 6, 9), last=None,
                        reason="Staff retreat")  # the Tuesday of that week: only D's no-show stood on it
    chairs = _section(operations.build(ReportFilters(start=date(2026, 6, 8), end=date(2026, 6, 14))),
                      "Chair utilisation")
    assert chairs.table.rows[0][4] == 6 * 1439 * 4  # six open days of the seven, four chairs
    assert "less the days the clinic closed (1 in the range" in str(chairs.notes)
