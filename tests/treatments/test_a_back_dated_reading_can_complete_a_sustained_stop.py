"""A paper reading typed in late joins the history of the newest reading: when it makes a run of high blood pressure
long enough for the sustained limit, the session goes to STOP and the dose's pause says so (stop the pump), as if
the readings had been typed in order. It never lowers the session's level."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ketaclinic.clinical.vitals import Level, VitalReading, classify_series
from ketaclinic.treatments import services
from tests.factories import IV, actor, book_now, make_order, ready_to_start

NORMAL = {"systolic_mmHg": 126, "diastolic_mmHg": 80, "heart_rate_bpm": 74, "spo2_percent": 98}
HIGH_BP = {"systolic_mmHg": 186, "diastolic_mmHg": 100, "heart_rate_bpm": 80, "spo2_percent": 98}


def test_a_late_paper_reading_that_completes_a_sustained_run_stops_the_dose(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff, minutes_ago=60)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=55))

    def reading(minutes_ago, values):
        return services.add_vitals(actor=actor(staff["nurse"]), session=s, values=values,
                                   taken_at=timezone.now() - timedelta(minutes=minutes_ago))

    reading(20, NORMAL)
    newest = reading(10, HIGH_BP)
    s.refresh_from_db()
    assert newest.level == Level.HOLD and s.alert_level == Level.HOLD and s.pause_level == Level.HOLD
    late = reading(17, HIGH_BP)  # on paper 17 minutes ago: high from then to the newest, longer than the limit's run
    s.refresh_from_db()
    rows = list(s.vitals.exclude(phase="pre_dose").order_by("taken_at", "pk"))
    in_order = classify_series([(r.taken_at, VitalReading(r.systolic_mmHg, r.diastolic_mmHg, r.heart_rate_bpm,
                                                          r.spo2_percent)) for r in rows], phase="during")
    assert in_order.level == Level.STOP  # what typing them in order would have said
    assert s.alert_level == Level.STOP and s.pause_level == Level.STOP and s.pump_pause_confirmed_at is None
    assert late.hold_instruction  # the nurse is told to act on the pump


def test_a_late_normal_reading_does_not_lower_the_session(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff, minutes_ago=60)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=55))
    for minutes_ago in (20, 12, 4):
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=HIGH_BP,
                            taken_at=timezone.now() - timedelta(minutes=minutes_ago))
    s.refresh_from_db()
    assert s.alert_level == Level.STOP and s.pause_level == Level.STOP  # high for 16 minutes
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values=NORMAL,
                        taken_at=timezone.now() - timedelta(minutes=8))  # would cut the run to 4 minutes
    s.refresh_from_db()
    assert s.alert_level == Level.STOP and s.pause_level == Level.STOP


def test_a_late_normal_reading_does_not_pause_a_dose_the_prescriber_resumed(patient, staff, rooms):
    """Re-judging the newest reading with a late one raises the pause only when it raises the level: a normal paper
    reading typed in after a prescriber resumed over a HOLD does not pause the dose again."""
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=60), staff, minutes_ago=60)
    s = services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=55))
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values=NORMAL,
                        taken_at=timezone.now() - timedelta(minutes=20))
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values=HIGH_BP,
                        taken_at=timezone.now() - timedelta(minutes=2))
    s.refresh_from_db()
    assert s.paused_at is not None and s.alert_level == Level.HOLD
    services.dosing_event(actor=actor(staff["prescriber"]), session=s, kind="resume",
                          note="Reviewed: known hypertensive, asymptomatic; continue with 5-minute checks.")
    s.refresh_from_db()
    assert s.paused_at is None
    late = services.add_vitals(actor=actor(staff["nurse"]), session=s, values=NORMAL,
                               taken_at=timezone.now() - timedelta(minutes=10))
    s.refresh_from_db()
    assert s.paused_at is None and not late.hold_instruction and s.alert_level == Level.HOLD
