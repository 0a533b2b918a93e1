"""The safety report: adverse events per 100 dosed sessions by type, route and ordered dose; HOLD/STOP readings;
pauses, early stops and emergency transfers; discharge overrides; suicidality tasks and how fast they are
acknowledged. Every record is made through the apps' own services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic.clinic.services import update_limits
from ketaclinic.clinical.settings import SETTINGS_BY_KEY
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import SafetyTask
from ketaclinic.patients.services import add_diagnosis, mark_diagnosis_entered_in_error
from ketaclinic.reports import safety
from ketaclinic.reports.base import ReportFilters
from ketaclinic.treatments import services
from tests.factories import (
    ESK,
    actor,
    back_at,
    book_at,
    checked_in,
    dosed_session,
    dosing_stopped,
    make_order,
    make_rooms,
    open_day,
    ready_to_start,
)
from tests.measures.conftest import phq9_total
from tests.reports.tables import by_diagnosis_group
from tests.reports.tables import row as _row
from tests.reports.tables import section as _section

HOLD_BP = {"systolic_mmHg": "185", "diastolic_mmHg": "100", "heart_rate_bpm": "80", "spo2_percent": "98"}
QUERIES = 7


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


def _at(clinic, days_ago: int):
    """10:00 on the ``days_ago``-th day before today that the clinic works (inside its hours, whatever the day)."""
    return open_day(clinic, -days_ago)


def _held_stopped_overridden(patient, staff, rooms, start):
    """An IV infusion paused automatically by a HOLD reading, stopped early at 20 mg, discharged by the
    prescriber against the readiness check."""
    with back_at(start):
        s = ready_to_start(book_at(make_order(patient, staff), staff, start, room=rooms["infusion"]), staff)
        services.start_dose(actor=actor(staff["nurse"]), session=s)
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=HOLD_BP)
        s = dosing_stopped(s, staff, administered_mg="20")
        services.add_adverse_event(actor=actor(staff["nurse"]), session=s,
                                   data={"kind": "hypertension", "severity": "moderate"})
        services.discharge(actor=actor(staff["prescriber"]), session=s,
                           override_reason="Patient well and asked to go; escort waiting outside.")
    return s


@pytest.fixture
def world(clinic, staff, rooms, make_patient, make_user):
    """Four patients: A (unipolar) an uneventful IV session with mild nausea, and a cancelled one; B (unipolar) an
    IV session held, stopped early and discharged on an override; C (bipolar, another prescriber's order) an
    esketamine session transferred to emergency care; D a no-show. Plus four suicidality tasks."""
    a, b, c, d = (make_patient() for _ in range(4))
    nurse = actor(staff["nurse"])
    add_diagnosis(actor=nurse, patient=a, code="F33.2")
    add_diagnosis(actor=nurse, patient=b, code="F33.1")
    add_diagnosis(actor=nurse, patient=c, code="F31.4")
    wrong = add_diagnosis(actor=nurse, patient=c, code="F33.2")
    mark_diagnosis_entered_in_error(actor=nurse, diagnosis=wrong, reason="Recorded on the wrong patient")

    s_a = dosed_session(a, staff, rooms=rooms, start=_at(clinic, 7), end="discharged")
    with back_at(_at(clinic, 7)):
        services.add_adverse_event(actor=nurse, session=s_a, data={"kind": "nausea", "severity": "mild"})
    day6 = _at(clinic, 6)
    with back_at(day6 - timedelta(hours=1)):
        cancelled = book_at(s_a.order, staff, day6, room=rooms["infusion"])
        services.cancel_session(actor=actor(staff["front_desk"]), session=cancelled, reason="Patient asked")
    s_b = _held_stopped_overridden(b, staff, rooms, _at(clinic, 2))
    other = dict(staff, prescriber=make_user("prescriber", username="second_prescriber"))
    s_c = dosed_session(c, other, rooms=rooms, start=_at(clinic, 1), data=ESK, end="transferred")
    day8 = _at(clinic, 8)
    with back_at(day8):
        no_show = book_at(make_order(d, staff), staff, day8 + timedelta(hours=1), room=rooms["infusion"])
    with back_at(day8 + timedelta(hours=2)):
        services.cancel_session(actor=actor(staff["front_desk"]), session=no_show, reason="Did not come",
                                no_show=True)

    # suicidality tasks: acknowledged after 2 h, 6 h and 30 h; one still open after 48 h (raised by a message)
    prescriber = actor(staff["prescriber"])
    for patient, raised, waited in ((a, _at(clinic, 5), 2), (b, _at(clinic, 4), 6), (c, _at(clinic, 3), 30)):
        with back_at(raised):
            measures.record_administration(actor=nurse, patient=patient, scale="phq9", answers=phq9_total(12, 1))
        task = SafetyTask.objects.get(patient=patient)
        with back_at(raised + timedelta(hours=waited)):
            measures.acknowledge_safety_task(actor=prescriber, task=task, action="contacted",
                                             note="Called the patient, safety plan reviewed.")
    with back_at(_at(clinic, 2)):
        measures.raise_safety_task(actor=nurse, patient=d, flag_code="message_self_harm",
                                   message="Words of self-harm in a message", source="test", origin="Secure message")
    return {"a": s_a, "b": s_b, "c": s_c, "other": other["prescriber"]}




def test_every_section_counts_exactly(world, django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        r = safety.build(ReportFilters())
    kinds = _section(r, "Adverse events by type")
    # 3 dosed sessions (A, B, C); the cancelled session and the no-show are never dosed
    assert _row(kinds, "Nausea")[1:] == (1, 33.3, 1, 0, 0)
    assert _row(kinds, "Hypertension")[1:] == (2, 66.7, 0, 1, 1)  # B moderate, C severe (the transfer)
    assert _row(kinds, "All adverse events")[1:3] == (3, 100.0)
    by_route = _section(r, "Adverse events by route")
    assert _row(by_route, "Intravenous infusion")[1:] == (2, 2, 100.0, 0)
    assert _row(by_route, "Intranasal (esketamine)")[1:] == (1, 1, 100.0, 1)
    dose = _section(r, "Adverse events by ordered dose")
    assert [row[1:] for row in dose.table.rows] == [("0.5 mg/kg", 2, 2, 100.0), ("56 mg", 1, 1, 100.0)]
    vitals = _section(r, "Vital-sign excursions")
    assert _row(vitals, "Intravenous infusion")[1:] == (2, 1, 50.0, 0, 0.0, 0, 1)
    assert _row(vitals, "All routes")[1:4] == (3, 1, 33.3)
    paused = _section(r, "Sessions paused")
    assert _row(paused, "Intravenous infusion")[1:] == (2, 1, 1, 50.0, 1, 50.0, 0, 0.0)
    # the transfer ended C's dose after the first device: 28 of the 56 mg prepared, so stopped early too
    assert _row(paused, "Intranasal (esketamine)")[1:] == (1, 0, 0, 0.0, 1, 100.0, 1, 100.0)
    overrides = _section(r, "Discharges against")
    assert _row(overrides, "All routes")[1:] == (2, 1, 50.0)  # A and B discharged home, B on an override


def test_suicidality_tasks_and_time_to_acknowledge(world, clinic, actor_for):
    r = safety.build(ReportFilters())
    tasks = _section(r, "Suicidality tasks")
    assert _row(tasks, "All")[2:5] == (4, 3, 1)
    assert _row(tasks, "Secure message")[1:5] == ("message_self_harm", 1, 0, 1)
    assert _row(tasks, "Questionnaire answer")[2:5] == (3, 3, 0)
    # the default expected time is 1 hour: all three acknowledgements (2, 6 and 30 h) are late, and the open task
    assert SETTINGS_BY_KEY["safety.task_acknowledge_hours"].default == 1
    assert _row(tasks, "All")[5:] == (3, 1)
    # a clinic that expects 24 hours: only the 30 h acknowledgement is late, and the task open for 48 h
    update_limits(actor=actor_for("clinic_admin"), clinic=clinic, values={"safety.task_acknowledge_hours": 24})
    assert _row(_section(safety.build(ReportFilters()), "Suicidality tasks"), "All")[5:] == (1, 1)
    n, median, p90, _ = _section(r, "Time to acknowledge").table.rows[0]
    assert (n, median, p90) == (3, 6.0, 30.0)


def test_filters_narrow_every_count(world, django_assert_num_queries):
    tz = timezone.get_current_timezone()
    with django_assert_num_queries(QUERIES):
        esk = safety.build(ReportFilters(route="intranasal"))
    assert _row(_section(esk, "Adverse events by type"), "All adverse events")[1:3] == (1, 100.0)
    assert [row[0] for row in _section(esk, "Adverse events by route").table.rows] == ["Intranasal (esketamine)"]

    unipolar = safety.build(ReportFilters(diagnosis="unipolar"))  # A and B; C's F33.2 was entered in error
    assert _row(_section(unipolar, "Adverse events by type"), "All adverse events")[1:3] == (2, 100.0)
    assert _row(_section(unipolar, "Suicidality tasks"), "All")[2] == 2
    bipolar = safety.build(ReportFilters(diagnosis="bipolar"))
    assert _row(_section(bipolar, "Sessions paused"), "All routes")[1] == 1

    second = safety.build(ReportFilters(prescriber_id=world["other"].pk))
    assert _row(_section(second, "Sessions paused"), "All routes")[1] == 1  # C's order only
    assert "prescriber" in " ".join(_section(second, "Suicidality tasks").notes)

    last_days = safety.build(ReportFilters(start=timezone.localtime(world["b"].scheduled_start, tz).date()))
    assert _row(_section(last_days, "Sessions paused"), "All routes")[1] == 2  # B and C
    assert _row(_section(last_days, "Suicidality tasks"), "All")[2] == 1  # only the message raised on B's day

    room = safety.build(ReportFilters(room_id=world["a"].room_id))
    assert _row(_section(room, "Sessions paused"), "All routes")[1] == 2  # the infusion room: A and B


def test_the_query_count_does_not_grow_with_more_sessions(world, staff, rooms, make_patient, django_assert_num_queries,
                                                         clinic):
    more = make_patient()
    dosed_session(more, staff, rooms=rooms, start=_at(clinic, 9), end="discharged")
    dosed_session(make_patient(), staff, rooms=rooms, start=_at(clinic, 14), end="discharged")
    with django_assert_num_queries(QUERIES):
        r = safety.build(ReportFilters())
    assert _row(_section(r, "Sessions paused"), "All routes")[1] == 5


def test_each_patient_counts_in_one_diagnosis_group(world, staff, django_assert_num_queries):
    """The core's one-group rule (ketaclinic/clinical/diagnosis_groups.py): bipolar before unipolar before PTSD
    before anxiety, "other" for none; a patient with several diagnoses is counted in one group only."""
    nurse = actor(staff["nurse"])
    add_diagnosis(actor=nurse, patient=world["a"].patient, code="F31.4")  # A: F33.2 and F31.4 -> bipolar only
    add_diagnosis(actor=nurse, patient=world["b"].patient, code="F41.1")  # B: F33.1 and F41.1 -> unipolar only
    everyone, by_group = by_diagnosis_group(safety.build, django_assert_num_queries, QUERIES)
    dosed = {g: _row(_section(r, "Sessions paused"), "All routes")[1] for g, r in by_group.items()}
    assert dosed == {"bipolar": 2, "unipolar": 1, "ptsd": 0, "anxiety": 0, "other": 0}  # A and C; B
    assert sum(dosed.values()) == _row(_section(everyone, "Sessions paused"), "All routes")[1]
    events = {g: _row(_section(r, "Adverse events by type"), "All adverse events")[1] for g, r in by_group.items()}
    assert events == {"bipolar": 2, "unipolar": 1, "ptsd": 0, "anxiety": 0, "other": 0}
    tasks = {g: _row(_section(r, "Suicidality tasks"), "All")[2] for g, r in by_group.items()}
    assert tasks == {"bipolar": 2, "unipolar": 1, "ptsd": 0, "anxiety": 0, "other": 1}  # D has no diagnosis
    assert sum(tasks.values()) == _row(_section(everyone, "Suicidality tasks"), "All")[2]
    assert "ONE group" in " ".join(everyone.notes)


def test_adverse_events_of_sessions_never_dosed_are_shown_apart_from_the_rates(world, staff, rooms, clinic):
    """A vasovagal faint at check-in, then the session is called off: the event is not in the per-100-dosed-sessions
    rates (the session is not in their denominator); it is listed on its own row."""
    day3 = _at(clinic, 3)
    with back_at(day3 - timedelta(hours=1)):
        s = checked_in(book_at(world["a"].order, staff, day3, room=rooms["infusion"]), staff)
        services.add_adverse_event(actor=actor(staff["nurse"]), session=s,
                                   data={"kind": "dizziness", "severity": "mild"})
        services.cancel_session(actor=actor(staff["front_desk"]), session=s, reason="Felt faint, rebooked")
    r = safety.build(ReportFilters())
    kinds = _section(r, "Adverse events by type")
    assert _row(kinds, "All adverse events")[1:3] == (3, 100.0)  # A's nausea, B's and C's hypertension
    assert "Dizziness" not in [row[0] for row in kinds.table.rows[:-2]]
    assert _row(kinds, "On sessions never dosed (not in the rates)")[1:] == (1, None, 1, 0, 0)
    assert "never dosed" in " ".join(kinds.notes)
    assert [p[0] for p in kinds.chart.series[0].points] == ["Nausea", "Hypertension"]
    assert _row(_section(r, "Adverse events by route"), "Intravenous infusion")[1:] == (2, 2, 100.0, 0)
    dose = _section(r, "Adverse events by ordered dose")
    assert [row[1:] for row in dose.table.rows] == [("0.5 mg/kg", 2, 2, 100.0), ("56 mg", 1, 1, 100.0)]
