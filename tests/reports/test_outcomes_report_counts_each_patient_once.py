"""The Outcomes report over a small clinic with known outcomes: response and remission by group, route and dose,
the Kaplan–Meier of how long response lasts, PHQ-9 item 9 before and after; filters narrow it; a fixed number of
queries whatever the number of patients."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from ketaclinic.clinic.models import Room
from ketaclinic.clinic.services import add_room, update_clinic
from ketaclinic.clinical.outcomes import assess_change
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Timing
from ketaclinic.patients.services import add_diagnosis
from ketaclinic.reports import outcomes
from ketaclinic.reports.base import ReportFilters
from ketaclinic.treatments import services as treatments
from tests.factories import ESK, IV, actor, book_at, dosed_session, make_rooms, open_day
from tests.measures.conftest import phq9_total
from tests.reports.tables import row as _row
from tests.reports.tables import section as _section

pytestmark = pytest.mark.django_db

QUERIES = 3  # the clinic, the ordered doses, one statement for the counts and the responders' (time, event) pairs


def pcl5_total(total: int) -> dict:
    values, rest = [], total
    for _ in range(20):
        v = min(4, rest)
        values.append(v)
        rest -= v
    assert rest == 0
    return {f"q{i}": v for i, v in enumerate(values, 1)}


@pytest.fixture
def clinic_of(clinic, staff, make_patient):
    """``add(name, codes, route, scores)``: a patient with ``codes`` on the chart, an induction of two dosed
    sessions 56 and 54 days ago (``route`` "iv" or "intranasal"), and ``scores``: (days after the end of
    induction, total, item 9) with day -3 the baseline (before the first session); totals are PHQ-9 unless the
    group's scale is PCL-5 (``pcl5=True``). The clinic works every day (set through its service): the curves count
    days, and a booster a given number of days after an induction falls on a day the clinic books, whatever day
    the test clock says."""
    update_clinic(actor=actor(staff["clinic_admin"]), clinic=clinic, data={"working_weekdays": "0,1,2,3,4,5,6"})
    clinic.refresh_from_db()
    rooms = make_rooms(clinic, staff["clinic_admin"])
    rooms["infusion"] = add_room(actor=actor(staff["clinic_admin"]), clinic=clinic, name="Infusion Hall",
                                 kind=Room.Kind.INFUSION, chairs=8)
    more = add_room(actor=actor(staff["clinic_admin"]), clinic=clinic, name="Spravato Hall",
                    kind=Room.Kind.INTRANASAL, chairs=4)
    rooms["spravato"] = more
    nurse = actor(staff["nurse"])
    # at 10:00 in the clinic, whatever the hour now: a score "an hour before" a dose is then on the dose's day
    today, tz = timezone.localdate(), timezone.get_current_timezone()
    first, second = (datetime.combine(today - timedelta(days=ago), time(10), tz) for ago in (56, 54))
    made = {}

    def add(name, codes, route, scores, *, pcl5=False, start=first):
        patient = make_patient(legal_family_name=name)
        for code in codes:
            add_diagnosis(actor=nurse, patient=patient, code=code)
        data = ESK if route == "intranasal" else IV
        s1 = dosed_session(patient, staff, start=start, rooms=rooms, data=data)
        s2 = dosed_session(patient, staff, order=s1.order, start=start + (second - first), rooms=rooms, data=data)
        end = s2.dose_ended_at
        for day, total, item9 in scores:
            at = (start - timedelta(days=3)) if day == "baseline" else end + timedelta(days=day)
            answers = pcl5_total(total) if pcl5 else phq9_total(total, item9)
            measures.record_administration(actor=nurse, patient=patient, scale="pcl5" if pcl5 else "phq9",
                                           answers=answers, administered_at=at,
                                           timing=Timing.BASELINE if day == "baseline" else Timing.AD_HOC)
        made[name] = (patient, s1.order)
        return patient, s1.order

    add.rooms = rooms
    add.made = made
    return add


def _base(add):
    """Two patients: a unipolar responder who loses response at day 15 (IV), a unipolar remitter censored at day
    20 (IV)."""
    add("Responder", ["F33.2"], "iv", [("baseline", 20, 1), (1, 8, 0), (15, 15, 0)])
    add("Remitter", ["F32.1"], "iv", [("baseline", 20, 0), (1, 3, 0), (20, 4, 0)])


def _more(add, staff):
    """Four more: a bipolar non-responder (also F33.2: bipolar wins) with an entered-in-error score, a PTSD
    responder and remitter on PCL-5, an esketamine responder at exactly 50% who loses response at day 10, and a
    patient whose induction is still running (not counted)."""
    p, _ = add("Bipolar", ["F31.4", "F33.2"], "iv", [("baseline", 20, 2), (2, 12, 1)])
    wrong = measures.record_administration(actor=actor(staff["nurse"]), patient=p, scale="phq9",
                                           answers=phq9_total(2), administered_at=timezone.now() - timedelta(days=53))
    measures.mark_entered_in_error(actor=actor(staff["nurse"]), administration=wrong.administration,
                                   reason="Another patient's form")
    add("Ptsd", ["F43.12"], "iv", [("baseline", 50, 0), (1, 30, 0)], pcl5=True)
    add("Spravato", ["F33.1"], "intranasal", [("baseline", 16, 1), (1, 8, 1), (10, 9, 0)])
    p, order = add("Running", ["F33.1"], "iv", [("baseline", 20, 0), (1, 5, 0)])
    book_at(order, staff, open_day(order.patient.clinic, 2), room=add.rooms["infusion"])




def test_response_remission_durability_and_item9_are_counted_exactly(clinic_of, staff):
    _base(clinic_of)
    _more(clinic_of, staff)
    report = outcomes.build(ReportFilters())
    by_group = _section(report, "Response and remission after induction, by diagnosis group")
    # label, n, assessed, responders, response %, remission rule n, remitters, remission %
    assert _row(by_group, "Unipolar depression (F32, F33)") == (
        "Unipolar depression (F32, F33)", 3, 3, 3, 100.0, 3, 1, 33.3)
    assert _row(by_group, "Bipolar depression (F31)") == ("Bipolar depression (F31)", 1, 1, 0, 0.0, 1, 0, 0.0)
    assert _row(by_group, "PTSD (F43.1)") == ("PTSD (F43.1)", 1, 1, 1, 100.0, 1, 1, 100.0)
    assert _row(by_group, "Anxiety (F41)") == ("Anxiety (F41)", 0, 0, 0, None, 0, None, None)
    assert _row(by_group, "All patients") == ("All patients", 5, 5, 4, 80.0, 5, 2, 40.0)

    by_route = _section(report, "Response and remission after induction, by route")
    assert _row(by_route, "Intravenous infusion")[1:5] == (4, 4, 3, 75.0)
    assert _row(by_route, "Intranasal (esketamine)")[1:5] == (1, 1, 1, 100.0)
    by_dose = _section(report, "Response and remission after induction, by ordered dose")
    assert [r[:4] for r in by_dose.table.rows] == [
        ("Intranasal (esketamine), 56 mg", 1, 1, 1), ("Intravenous infusion, 0.5 mg/kg", 4, 4, 3)]

    km = _section(report, "How long response lasts")
    # responders: PTSD censored day 1, Spravato lost day 10, Responder lost day 15, Remitter censored day 20
    assert [r[:5] for r in km.table.rows] == [
        (1, 4, 0, 1, 1.0), (10, 3, 1, 0, 0.667), (15, 2, 1, 0, 0.333), (20, 1, 0, 1, 0.333)]
    assert "median time to loss of response: 15 days" in km.notes[0]
    assert km.chart.kind == "step" and km.chart.series[0].band is not None
    assert any("27.5 days" in n for n in km.notes) and any("two weeks" in n for n in km.notes)

    si = _section(report, "Suicidal thoughts")
    # PHQ-9 before and after: Responder 1->0, Remitter 0->0, Bipolar 2->1, Spravato 1->1 (PTSD has no PHQ-9)
    assert _row(si, "All patients") == ("All patients", 4, 3, 75.0, 2, 50.0, 1, 33.3)
    assert _row(si, "Bipolar depression (F31)") == ("Bipolar depression (F31)", 1, 1, 100.0, 1, 100.0, 0, 0.0)


def test_the_database_rule_agrees_with_the_core_at_the_edges(clinic_of):
    """Exactly 50% is a response, one point less is not (assess_change decides the same)."""
    clinic_of("Edge", ["F33.2"], "iv", [("baseline", 16, 0), (1, 8, 0)])
    clinic_of("Short", ["F33.2"], "iv", [("baseline", 17, 0), (1, 9, 0)])
    report = outcomes.build(ReportFilters())
    row = _row(_section(report, "Response and remission after induction, by diagnosis group"), "All patients")
    assert row[1:4] == (2, 2, 1)
    assert assess_change("phq9", 16, 8).response and not assess_change("phq9", 17, 9).response


def test_no_score_within_the_window_leaves_a_patient_unassessed(clinic_of, clinic):
    clinic_of("Late", ["F33.2"], "iv", [("baseline", 20, 0), (8, 5, 0)])
    row = _row(_section(outcomes.build(ReportFilters()), "Response and remission after induction, by diagnosis "
                         "group"), "All patients")
    assert row[1:4] == (1, 0, 0)
    clinic.clinical_settings = {"outcomes.after_induction_window_days": 8}
    clinic.save()
    row = _row(_section(outcomes.build(ReportFilters()), "Response and remission after induction, by diagnosis "
                         "group"), "All patients")
    assert row[1:4] == (1, 1, 1)


def test_filters_narrow_the_patients_counted(clinic_of, staff, make_user):
    _base(clinic_of)
    _more(clinic_of, staff)

    def everyone(**f):
        report = outcomes.build(ReportFilters(**f))
        return _row(_section(report, "Response and remission after induction, by diagnosis group"),
                    "All patients")[1]

    assert everyone() == 5
    assert everyone(route="intranasal") == 1
    assert everyone(diagnosis="bipolar") == 1 and everyone(diagnosis="unipolar") == 3
    assert everyone(room_id=clinic_of.rooms["spravato"].pk) == 1
    assert everyone(prescriber_id=staff["prescriber"].pk) == 5
    assert everyone(prescriber_id=make_user("prescriber").pk) == 0
    today = timezone.localdate()
    assert everyone(start=today - timedelta(days=56), end=today - timedelta(days=56)) == 5
    assert everyone(start=today - timedelta(days=55)) == 0
    assert everyone(end=today - timedelta(days=57)) == 0


def test_a_cancelled_session_does_not_hold_induction_open(clinic_of, staff):
    p, order = clinic_of("Cancelled", ["F33.2"], "iv", [("baseline", 20, 0), (1, 8, 0)])
    s = book_at(order, staff, open_day(p.clinic, 1), room=clinic_of.rooms["infusion"])
    row = lambda: _row(_section(outcomes.build(ReportFilters()),  # noqa: E731
                                "Response and remission after induction, by diagnosis group"), "All patients")
    assert row()[1] == 0  # a session still to come: induction not over
    treatments.cancel_session(actor=actor(staff["front_desk"]), session=s, reason="Patient asked")
    assert row()[1:4] == (1, 1, 1)


def test_the_query_count_does_not_grow_with_the_patients(clinic_of, staff, django_assert_num_queries):
    _base(clinic_of)
    with django_assert_num_queries(QUERIES):
        outcomes.build(ReportFilters())
    _more(clinic_of, staff)
    with django_assert_num_queries(QUERIES):
        report = outcomes.build(ReportFilters(route="iv", diagnosis="unipolar", start=timezone.localdate()
                                              - timedelta(days=60)))
    assert _row(_section(report, "Response and remission after induction, by diagnosis group"),
                "All patients")[1] == 2
