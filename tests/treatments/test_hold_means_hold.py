"""Issue 10: hold means hold, deep sedation is urgent, discharge against the patient's own baseline and from
the last esketamine device, and the session's own records are append-only in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ketaclinic.audit.append_only import SET_ONCE
from ketaclinic.treatments import services, today
from ketaclinic.treatments.models import (
    AdverseEvent,
    Observation,
    SessionEvent,
    SessionRating,
    VitalsReading,
)
from ketaclinic.treatments.services import TreatmentError
from tests.factories import actor, book_now, let_time_pass, make_order, normal_vitals, ready_to_start
from tests.treatments.factories import ESK, IV

HOLD_BP = {"systolic_mmHg": "185", "diastolic_mmHg": "100", "heart_rate_bpm": "80", "spo2_percent": "98"}


def _running(patient, staff, rooms, data=IV):
    s = ready_to_start(book_now(make_order(patient, staff, data), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    s.refresh_from_db()
    return s


def _vitals(s, staff, values):
    return services.add_vitals(actor=actor(staff["nurse"]), session=s, values=values)


def test_a_hold_reading_pauses_the_infusion_and_asks_to_confirm_the_pump(patient, staff, rooms):
    s = _running(patient, staff, rooms)
    let_time_pass(10)
    row = _vitals(s, staff, HOLD_BP)
    assert row.level == 2 and "pause the infusion now" in row.hold_instruction
    s.refresh_from_db()
    assert s.paused_at == row.taken_at and s.pause_level == 2 and s.pump_pause_confirmed_at is None
    pause = s.events.get(kind=SessionEvent.Kind.PAUSE)
    assert pause.reading == row and "automatic" in pause.note
    # the nurse confirms the pump is paused (the cockpit's button posts a pause)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="pause")
    s.refresh_from_db()
    assert s.pump_pause_confirmed_by == staff["nurse"]
    # no repeat reading yet: resume refused; a repeat still at HOLD: refused; below HOLD: allowed
    with pytest.raises(TreatmentError, match="repeat set of vital signs"):
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="resume")
    let_time_pass(3)
    _vitals(s, staff, HOLD_BP)
    with pytest.raises(TreatmentError, match="still at HOLD"):
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="resume")
    let_time_pass(3)
    normal_vitals(s, staff)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="resume")
    s.refresh_from_db()
    assert s.paused_at is None and s.pause_level == 0


def test_a_hold_reading_saved_from_the_tablet_redraws_the_cockpit_with_the_pump_button(patient, staff, rooms,
                                                                                      client_for):
    """The vitals row is posted with htmx, which normally redraws only the table: a reading that pauses the dose
    makes the whole cockpit reload, so the HOLD banner and the pump button are in front of the nurse at once."""
    from django.urls import reverse

    s = _running(patient, staff, rooms)
    let_time_pass(10)
    nurse = client_for("nurse")
    url = reverse("treatments:vitals", args=[s.external_id])
    normal = nurse.post(url, {"systolic_mmHg": "124", "diastolic_mmHg": "78", "heart_rate_bpm": "72",
                              "spo2_percent": "98"}, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in normal.headers  # an ordinary reading redraws the table only
    held = nurse.post(url, HOLD_BP, HTTP_HX_REQUEST="true")
    assert held.headers.get("HX-Refresh") == "true"
    page = nurse.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Vital signs at HOLD: the dose is paused" in page and "I have paused the pump" in page
    assert "pause the infusion now" in page  # the reading's instruction, as a message


def test_a_stop_reading_needs_the_prescriber_to_resume(patient, staff, rooms):
    s = _running(patient, staff, rooms)
    let_time_pass(10)
    row = _vitals(s, staff, {"systolic_mmHg": "200", "diastolic_mmHg": "125", "heart_rate_bpm": "80",
                             "spo2_percent": "98"})
    assert row.level == 3 and "stop the infusion now" in row.hold_instruction
    let_time_pass(5)
    normal_vitals(s, staff)
    with pytest.raises(TreatmentError, match="only a prescriber"):
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="resume")
    services.dosing_event(actor=actor(staff["prescriber"]), session=s, kind="resume",
                          note="Reviewed: BP settled after repositioning")
    s.refresh_from_db()
    assert s.paused_at is None


def test_a_manual_pause_still_resumes_freely(patient, staff, rooms):
    s = _running(patient, staff, rooms)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="pause", note="bathroom")
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="resume")


def test_deep_sedation_is_urgent_on_the_board_and_sedation_counts_for_rems(patient, staff, rooms, client_for):
    s = _running(patient, staff, rooms, ESK)
    nurse = actor(staff["nurse"])
    services.add_rating(actor=nurse, session=s, scale="moaas", timepoint="other", answers={"level": 2})
    board = today.board(s.patient.clinic)
    alerts = [a for p in board["places"] for r in p["rows"] for a in r["alerts"]]
    assert "Deep sedation (MOAA/S 2)" in alerts
    from django.urls import reverse

    cockpit = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Deep sedation: MOAA/S 2" in cockpit and "The airway is at risk" in cockpit
    from ketaclinic.treatments.services.rems import sedation_from_ratings

    pre = SessionRating(scale="moaas", timepoint="pre", total=5)
    assert sedation_from_ratings([pre, SessionRating(scale="moaas", timepoint="peak", total=4)])
    assert not sedation_from_ratings([SessionRating(scale="moaas", timepoint="pre", total=4),
                                      SessionRating(scale="moaas", timepoint="peak", total=4)])


def test_a_150_95_baseline_back_near_baseline_is_ready_without_override(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff, bp=("150", "95"))
    services.override_predose_hold(actor=actor(staff["prescriber"]), session=s,
                                   reason="Known hypertensive, usual 150/95, reviewed")
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    let_time_pass(40)  # the infusion runs its 40 minutes
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    let_time_pass(95)
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values={
        "systolic_mmHg": "152", "diastolic_mmHg": "94", "heart_rate_bpm": "74", "spo2_percent": "98"})
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    s.refresh_from_db()
    d = services.discharge_decision(s)
    assert d.ready, d.missing
    services.discharge(actor=actor(staff["nurse"]), session=s)
    s.refresh_from_db()
    assert s.status == "discharged" and s.discharge_override_reason == ""


def test_esketamine_needs_two_hours_from_the_last_device(patient, staff, rooms):
    s = _running(patient, staff, rooms, ESK)
    let_time_pass(5)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    let_time_pass(117)  # 122 min after the first device, 117 after the last
    normal_vitals(s, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    s.refresh_from_db()
    d = services.discharge_decision(s)
    assert not d.ready and "last device" in d.missing[0]
    with pytest.raises(TreatmentError, match="since the last device"):
        services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Patient wants to go home")
    let_time_pass(4)
    services.discharge(actor=actor(staff["nurse"]), session=s)
    s.refresh_from_db()
    assert s.rems.minutes_monitored == 126  # the REMS form counts from the first device


@pytest.mark.parametrize("model", [VitalsReading, SessionEvent, SessionRating, Observation])
def test_session_records_refuse_update_and_delete_in_the_database(patient, staff, rooms, model):
    s = _running(patient, staff, rooms)
    services.add_rating(actor=actor(staff["nurse"]), session=s, scale="moaas", timepoint="peak",
                        answers={"level": 5})
    services.add_observation(actor=actor(staff["nurse"]), session=s, text="Calm")
    row = model.objects.filter(session=s).first()
    table = model._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=row.pk).update(session=s)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])
    assert model.objects.filter(pk=row.pk).exists()


def test_an_adverse_event_may_only_be_resolved_once(patient, staff, rooms):
    s = _running(patient, staff, rooms)
    ae = services.add_adverse_event(actor=actor(staff["nurse"]), session=s, data={"kind": "nausea"})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AdverseEvent.objects.filter(pk=ae.pk).update(severity="severe")
    services.resolve_adverse_event(actor=actor(staff["nurse"]), session=s, event_id=ae.pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AdverseEvent.objects.filter(pk=ae.pk).update(resolved_at=timezone.now() + timedelta(minutes=1))
    columns = {f.column for f in AdverseEvent._meta.concrete_fields}
    column, others = SET_ONCE["treatments_adverseevent"]
    assert columns == {column, *others}




def test_the_resume_override_is_offered_to_the_prescriber_only(patient, staff, rooms, client_for):
    from django.urls import reverse

    s = _running(patient, staff, rooms)
    let_time_pass(10)
    _vitals(s, staff, HOLD_BP)
    url = reverse("treatments:cockpit", args=[s.external_id])
    assert "prescriber's reason to resume" in client_for("prescriber").get(url).content.decode()
    assert "prescriber's reason to resume" not in client_for("nurse").get(url).content.decode()
