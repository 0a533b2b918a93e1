"""A vitals save reads its session once, under its lock, whatever the reading leads to: before the dose, during
it (normal, or a HOLD that pauses the dose), typed in late, and in the observation after the dose (where the
reading moves the session towards discharge), on each route. The save reads only some of the session's columns
(ketaclinic.treatments.services.monitoring.VITALS_SESSION_FIELDS); a column it needs and does not read would be
read again on its own, and this test would see that second read. The order's row is not locked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketaclinic.clinical.vitals import Level
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
    """The session as the vitals POST hands it to the service: its patient and the clinic already read."""
    return TreatmentSession.objects.select_related("patient", "patient__clinic").get(pk=s.pk)


def _save(s, staff, values, **kwargs):
    session = _as_the_view_reads_it(s)
    with CaptureQueriesContext(connection) as q:
        row = services.add_vitals(actor=actor(staff["nurse"]), session=session, values=values, **kwargs)
    reads = [x["sql"] for x in q.captured_queries
             if x["sql"].lstrip().upper().startswith("SELECT") and 'FROM "treatments_treatmentsession"' in x["sql"]]
    return row, reads


def _one_locked_read(reads: list[str]) -> None:
    assert len(reads) == 1, reads
    assert "treatments_treatmentorder" not in reads[0]
    if connection.features.has_select_for_update:
        assert reads[0].rstrip().endswith("FOR UPDATE")


def test_before_the_dose(patient, staff, rooms):
    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=10), staff,
                              minutes_ago=10), staff)
    row, reads = _save(s, staff, HOLD)
    _one_locked_read(reads)
    assert row.phase == "pre_dose" and row.level == Level.HOLD
    s.refresh_from_db()
    assert s.alert_level == Level.HOLD


def test_during_the_dose_normal_and_at_hold(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=30), staff, minutes_ago=30)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=20))
    row, reads = _save(s, staff, NORMAL)
    _one_locked_read(reads)
    assert row.phase == "during" and row.level == Level.OK
    row, reads = _save(s, staff, HOLD)
    _one_locked_read(reads)
    s.refresh_from_db()
    assert row.hold_instruction and s.paused_at == row.taken_at and s.pause_level == Level.HOLD


def test_a_reading_typed_in_late(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff, minutes_ago=60)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=55))
    _save(s, staff, HOLD, taken_at=timezone.now() - timedelta(minutes=10))
    row, reads = _save(s, staff, HOLD, taken_at=timezone.now() - timedelta(minutes=17))
    _one_locked_read(reads)
    assert not row.is_newest
    s.refresh_from_db()
    assert s.alert_level == Level.STOP  # the late reading made the run of high readings long enough


@pytest.mark.parametrize("route", [IV, ESK], ids=["iv", "esketamine"])
def test_in_the_observation_after_the_dose(patient, staff, rooms, route):
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
