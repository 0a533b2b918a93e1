"""A vitals save classes and records the reading whatever it leads to (before the dose, during it, a HOLD that
pauses the dose and a second one while it is paused, a reading typed in late, the observation that moves the
session towards discharge, on each route), judges a rise against the newest reading before the dose, and reads its
session once, under its lock: the save reads only some of the session's columns
(ketaclinic.treatments.services.monitoring.VITALS_SESSION_FIELDS), so a column it needs and does not read would be
read again on its own, and these tests would see that second read. It reads neither the order (whose row it does
not lock) nor the patient beyond the key and clinic the view hands it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketaclinic.clinical.vitals import Level, VitalReading, classify_reading
from ketaclinic.patients.models import Patient
from ketaclinic.treatments import services
from ketaclinic.treatments.models import TreatmentSession
from tests.factories import (
    ESK,
    IV,
    OBSERVATION_MINUTES,
    actor,
    book_now,
    checked_in,
    dosing_started,
    dosing_stopped,
    let_time_pass,
    make_order,
    prechecked,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

NORMAL = {"systolic_mmHg": 126, "diastolic_mmHg": 80, "heart_rate_bpm": 74, "spo2_percent": 98,
          "respiratory_rate_per_min": 14}
HOLD = {**NORMAL, "systolic_mmHg": 186, "diastolic_mmHg": 100}


def _as_the_view_reads_it(s: TreatmentSession) -> TreatmentSession:
    """The session as the vitals POST hands it to the service (treatments.views._vitals_post_session): its patient
    as a key and the clinic."""
    session = TreatmentSession.objects.only("id", "external_id", "status", "checked_in_at", "dose_started_at",
                                            "patient_id").get(pk=s.pk)
    clinic = s.patient.clinic
    session.patient = Patient.from_db("default", ["id", "clinic_id"], [session.patient_id, clinic.pk])
    session.patient.clinic = clinic
    return session


def _save(s, staff, values, **kwargs):
    session = _as_the_view_reads_it(s)
    with CaptureQueriesContext(connection) as q:
        row = services.add_vitals(actor=actor(staff["nurse"]), session=session, values=values, **kwargs)
    selects = [x["sql"] for x in q.captured_queries if x["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in selects if 'FROM "patients_patient"' in sql or 'FROM "treatments_treatmentorder"' in sql]
    return row, [sql for sql in selects if 'FROM "treatments_treatmentsession"' in sql]


def _one_locked_read(reads: list[str]) -> None:
    assert len(reads) == 1, reads
    assert "treatments_treatmentorder" not in reads[0]
    if connection.features.has_select_for_update:
        assert reads[0].rstrip().endswith("FOR UPDATE")


def test_a_reading_before_the_dose_raises_the_sessions_alert(patient, staff, rooms):
    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=10), staff,
                              minutes_ago=10), staff)
    row, reads = _save(s, staff, HOLD)
    _one_locked_read(reads)
    assert row.phase == "pre_dose" and row.level == Level.HOLD
    s.refresh_from_db()
    assert s.alert_level == Level.HOLD


def test_a_hold_during_the_dose_pauses_it_and_a_second_one_keeps_it_paused(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=30), staff, minutes_ago=30)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=20))
    row, reads = _save(s, staff, NORMAL)
    _one_locked_read(reads)
    assert row.phase == "during" and row.level == Level.OK
    row, reads = _save(s, staff, HOLD)
    _one_locked_read(reads)
    s.refresh_from_db()
    assert row.hold_instruction and s.paused_at == row.taken_at and s.pause_level == Level.HOLD
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="pause")  # the nurse confirms the pump paused
    s.refresh_from_db()
    confirmed = s.pump_pause_confirmed_at
    again, reads = _save(s, staff, HOLD)  # still at HOLD while the pump is paused
    _one_locked_read(reads)
    s.refresh_from_db()
    assert again.level == Level.HOLD and again.hold_instruction
    assert s.paused_at == row.taken_at and s.pause_level == Level.HOLD and s.pump_pause_confirmed_at == confirmed


def test_a_reading_typed_in_late_can_raise_the_session_to_stop(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff, minutes_ago=60)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=55))
    _save(s, staff, HOLD, taken_at=timezone.now() - timedelta(minutes=10))
    row, reads = _save(s, staff, HOLD, taken_at=timezone.now() - timedelta(minutes=17))
    _one_locked_read(reads)
    assert not row.is_newest
    s.refresh_from_db()
    assert s.alert_level == Level.STOP  # the late reading made the run of high readings long enough


@pytest.mark.parametrize("route", [IV, ESK], ids=["iv", "esketamine"])
def test_a_normal_reading_after_the_observation_makes_the_session_ready(patient, staff, rooms, route):
    s = ready_to_start(book_now(make_order(patient, staff, route), staff, rooms, minutes_ago=10), staff,
                       minutes_ago=10)
    s = dosing_stopped(dosing_started(s, staff), staff)
    assert s.status == TreatmentSession.Status.OBSERVATION
    row, reads = _save(s, staff, NORMAL)
    _one_locked_read(reads)
    assert row.phase == "recovery"
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    let_time_pass(OBSERVATION_MINUTES)  # past the route's minimum observation: a normal reading now makes it ready
    row, reads = _save(s, staff, NORMAL)
    _one_locked_read(reads)
    s.refresh_from_db()
    assert s.last_vitals_at == row.taken_at and s.status == TreatmentSession.Status.READY


@pytest.mark.parametrize("same_time", [False, True], ids=["later", "same-minute"])
def test_a_rise_is_judged_against_the_newest_reading_before_the_dose(patient, staff, rooms, same_time):
    """Two readings before the dose, the newer one low: a reading during the dose is judged against the newer one
    (the last one entered when both were taken at the same time), not the older one."""
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=30), staff, minutes_ago=30,
                       bp=("136", "80"))
    older = s.vitals.get()
    newer, _ = _save(s, staff, {**NORMAL, "systolic_mmHg": 96, "diastolic_mmHg": 60},
                     taken_at=older.taken_at if same_time else None)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s)
    during = {**NORMAL, "systolic_mmHg": 138, "diastolic_mmHg": 80}
    settings = services.limits_for(s.patient)

    def judged_against(base) -> Level:
        return classify_reading(VitalReading(**during), phase="during", settings=settings,
                                baseline=VitalReading(**{f: getattr(base, f) for f in services.VITAL_FIELDS})).level

    assert judged_against(newer) != judged_against(older)  # the two baselines tell apart
    row, _ = _save(s, staff, during)
    assert row.level == judged_against(newer)
