"""Service tests for every rule of the treatment journey."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketaclinic.treatments import services
from ketaclinic.treatments.models import RemsForm, TreatmentSession
from ketaclinic.treatments.services import TreatmentError
from tests.factories import (
    ESK,
    IM,
    IV,
    actor,
    book_at,
    book_now,
    bookable,
    checked_in,
    drug_accounted,
    let_time_pass,
    local,
    make_eligible,
    make_order,
    normal_vitals,
    open_day,
    prechecked,
    ready_to_start,
)

pytestmark = pytest.mark.django_db
S = TreatmentSession.Status


# ------------------------------------------------------------------------------------------ orders
def test_order_needs_a_signed_eligibility_assessment(patient, staff):
    make_eligible(patient, staff, sign=False)
    with pytest.raises(TreatmentError, match="No signed eligibility assessment"):
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV)


def test_absolute_contraindication_blocks_any_order(patient, staff):
    make_eligible(patient, staff, flags=["arteriovenous_malformation"])
    with pytest.raises(TreatmentError, match="absolute contraindication"):
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV)


def test_only_a_prescriber_writes_orders(patient, staff):
    make_eligible(patient, staff)
    with pytest.raises(TreatmentError, match="prescriber"):
        services.write_order(actor=actor(staff["nurse"]), patient=patient, data=IV)


def test_route_must_fit_the_drug(patient, staff):
    make_eligible(patient, staff)
    with pytest.raises(TreatmentError) as e:
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data={**IV, "route": "intranasal"})
    assert "route" in e.value.errors


def test_dose_outside_range_needs_an_override_reason(patient, staff):
    make_eligible(patient, staff)
    data = {**IV, "dose_mg_per_kg": "0.9"}
    with pytest.raises(TreatmentError) as e:
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=data)
    assert "override" in e.value.errors["dose_override_reason"]
    order = services.write_order(actor=actor(staff["prescriber"]), patient=patient,
                                 data={**data, "dose_override_reason": "Partial response at 0.75 mg/kg."})
    assert order.status == "active" and order.signed_by == staff["prescriber"]


def test_ceiling_cannot_be_overridden(patient, staff):
    make_eligible(patient, staff)
    with pytest.raises(TreatmentError, match="hard ceiling"):
        services.write_order(actor=actor(staff["prescriber"]), patient=patient,
                             data={**IV, "dose_mg_per_kg": "1.2", "dose_override_reason": "anything at all"})


def test_esketamine_dose_must_be_whole_devices(patient, staff):
    make_eligible(patient, staff, drug="esketamine")
    with pytest.raises(TreatmentError, match="28 mg devices"):
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data={**ESK, "fixed_dose_mg": "60"})


# ------------------------------------------------------------------------------------------ series and booking
def test_series_proposed_from_the_clinical_core(patient, staff, clinic):
    order = make_order(patient, staff, IV)
    start = timezone.localdate() + timedelta(days=7)
    dates = [d for d, _ in services.propose_series(order, start, clinic)]
    assert len(dates) == 6
    assert all(d.weekday() < 5 for d in dates)
    assert all((b - a).days >= 1 for a, b in zip(dates, dates[1:], strict=False))


def test_double_booked_chair_is_refused(patient, make_patient, staff, rooms):
    order = make_order(patient, staff, IV)
    other = make_order(make_patient(), staff, IV)
    book_now(order, staff, rooms)
    with pytest.raises(TreatmentError, match="Chair 1 is already booked"):
        book_now(other, staff, rooms)
    assert book_now(other, staff, rooms, chair=rooms["a2"]).chair == rooms["a2"]


def test_patient_booked_twice_a_day_is_refused(patient, staff, rooms, clinic):
    order = make_order(patient, staff, IV)
    day = open_day(clinic, 2).astimezone(clinic.tz).date()  # one future clinic day, whatever today is
    book_at(order, staff, local(day, time(9, 0), clinic.tz), chair=rooms["a1"])
    with pytest.raises(TreatmentError, match=f"already has a session on {day:%Y-%m-%d}"):
        book_at(order, staff, local(day, time(15, 0), clinic.tz), chair=rooms["a2"])


def _clinic_days_apart(clinic, *gaps: int):
    """10:00 on a future day the clinic works and has not closed, such that the days ``gaps`` after it are too."""
    for k in range(3, 40):
        day = open_day(clinic, k)
        if all(bookable(clinic, day + timedelta(days=g), 240) for g in gaps):
            return day
    raise AssertionError(f"No clinic days {gaps} apart in the next weeks.")


def test_spacing_shorter_than_the_order_allows_is_refused(patient, staff, rooms, clinic):
    order = make_order(patient, staff, IM)  # at least 2 days apart
    day = _clinic_days_apart(clinic, 1)  # on the next day too: refused for the spacing alone
    services.book_session(actor=actor(staff["front_desk"]), order=order, start=day, room=rooms["infusion"],
                          chair=rooms["a1"])
    with pytest.raises(TreatmentError, match="less than the minimum 2"):
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=day + timedelta(days=1),
                              room=rooms["infusion"], chair=rooms["a1"])


def test_more_sessions_per_week_than_ordered_is_refused(patient, staff, rooms, clinic):
    order = make_order(patient, staff, {**IV, "sessions_per_week": "2"})
    day = _clinic_days_apart(clinic, 2, 4)  # three clinic days in one week: refused for the frequency alone
    for k in (0, 2):
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=day + timedelta(days=k),
                              room=rooms["infusion"], chair=rooms["a1"])
    with pytest.raises(TreatmentError, match="More than 2 sessions"):
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=day + timedelta(days=4),
                              room=rooms["infusion"], chair=rooms["a1"])


def test_consult_room_is_not_a_dosing_room(patient, staff, rooms):
    order = make_order(patient, staff, IV)
    with pytest.raises(TreatmentError, match="not a dosing room"):
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=timezone.now(),
                              room=rooms["consult"])


# ------------------------------------------------------------------------------------------ vitals
@pytest.mark.parametrize("field,value,message", [
    ("systolic_mmHg", "500", "not a possible reading"),
    ("spo2_percent", "120", "not a possible reading"),
    ("heart_rate_bpm", "0", "not a possible reading"),
    ("systolic_mmHg", "abc", "whole number"),
])
def test_impossible_vitals_are_refused(patient, staff, rooms, field, value, message):
    s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    values = {"systolic_mmHg": "120", "diastolic_mmHg": "80", "heart_rate_bpm": "70", "spo2_percent": "98", field: value}
    with pytest.raises(TreatmentError) as e:
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=values)
    assert message in e.value.errors[field]
    assert s.vitals.count() == 0


def test_readings_in_the_future_or_before_the_session_are_refused(patient, staff, rooms):
    s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    v = {"systolic_mmHg": "120", "diastolic_mmHg": "80"}
    with pytest.raises(TreatmentError, match="in the future"):
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=v,
                            taken_at=timezone.now() + timedelta(minutes=30))
    with pytest.raises(TreatmentError, match="before the session started"):
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values=v,
                            taken_at=timezone.now() - timedelta(hours=1))
    assert s.vitals.count() == 0


def test_vitals_need_check_in(patient, staff, rooms):
    s = book_now(make_order(patient, staff, IV), staff, rooms)
    with pytest.raises(TreatmentError, match="Check the patient in"):
        services.add_vitals(actor=actor(staff["nurse"]), session=s, values={"systolic_mmHg": "120"})


def test_each_reading_is_classified_and_high_predose_bp_holds_the_start(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff, bp=("152", "96"))
    row = s.vitals.get()
    assert row.level == 2 and row.phase == "pre_dose"
    assert "above 140" in row.findings[0]["message"] and "setting vitals.pre_dose_systolic_hold_mmHg" in \
        row.findings[0]["source"]
    with pytest.raises(TreatmentError, match="HOLD: a prescriber must override"):
        services.start_dose(actor=actor(staff["nurse"]), session=s)
    with pytest.raises(TreatmentError, match="prescriber"):
        services.override_predose_hold(actor=actor(staff["nurse"]), session=s, reason="Nurse cannot do this.")
    with pytest.raises(TreatmentError) as e:
        services.override_predose_hold(actor=actor(staff["prescriber"]), session=s, reason="ok")
    assert "predose_override_reason" in e.value.errors
    services.override_predose_hold(actor=actor(staff["prescriber"]), session=s,
                                   reason="Anxious at arrival; rechecked 10 min later at 138/88, benefit outweighs.")
    s = services.start_dose(actor=actor(staff["nurse"]), session=s)
    assert s.status == S.DOSING


def test_during_readings_use_the_series_rules(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    row = services.add_vitals(actor=actor(staff["nurse"]), session=s,
                              values={"systolic_mmHg": "185", "diastolic_mmHg": "100", "heart_rate_bpm": "80"})
    assert row.phase == "during" and row.level == 2
    s.refresh_from_db()
    assert s.alert_level == 2 and s.last_vitals_at == row.taken_at


# ------------------------------------------------------------------------------------------ dose and verification
def test_dose_working_is_shown(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    assert s.prepared_dose_mg == Decimal("35.00")
    assert s.prepared_volume_mL == Decimal("0.70") and s.rate_mL_per_h == Decimal("151.1")
    assert any("70 kg x 0.5 mg/kg" in w for w in s.dose_working)
    assert s.lot_number == "LOT123"


def test_verification_by_the_preparer_is_refused(patient, staff, rooms):
    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff), staff)
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "vial", "lot_number": "L1"})
    with pytest.raises(TreatmentError, match="You prepared this dose"):
        services.verify_dose(actor=actor(staff["nurse"]), session=s, weight_kg="70", dose_mg="35")


def test_verification_mismatch_is_refused_and_start_waits(patient, staff, rooms, make_user):
    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff), staff)
    normal_vitals(s, staff)
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "vial", "lot_number": "L1"})
    nurse2 = make_user("nurse", username="nurse2")
    with pytest.raises(TreatmentError) as e:
        services.verify_dose(actor=actor(nurse2), session=s, weight_kg="70", dose_mg="350")
    assert "does not match" in e.value.errors["dose_mg"]
    with pytest.raises(TreatmentError) as e:
        services.verify_dose(actor=actor(nurse2), session=s, weight_kg="77", dose_mg="35")
    assert "weight_kg" in e.value.errors
    with pytest.raises(TreatmentError, match="not independently verified"):
        services.start_dose(actor=actor(staff["nurse"]), session=s)
    services.verify_dose(actor=actor(nurse2), session=s, weight_kg="70.0", dose_mg="35", concentration_mg_per_mL="50",
                         bag_volume_mL="100")
    assert services.start_dose(actor=actor(staff["nurse"]), session=s).status == S.DOSING


def test_re_preparing_clears_the_verification(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    assert s.verified_at
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "10", "bag_volume_mL": "100", "vial_or_device": "vial", "lot_number": "L2"})
    s.refresh_from_db()
    assert s.verified_at is None and s.prepared_volume_mL == Decimal("3.50")


def test_start_refused_until_prechecks_complete(patient, staff, rooms):
    s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    with pytest.raises(TreatmentError) as e:
        services.start_dose(actor=actor(staff["nurse"]), session=s)
    msg = e.value.errors["start"]
    for missing in ("Identity not checked", "Fasting not confirmed", "No pre-dose vital signs", "Dose not prepared"):
        assert missing in msg


def test_lot_number_is_required(patient, staff, rooms):
    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff), staff)
    with pytest.raises(TreatmentError) as e:
        services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={"vial_or_device": "vial"})
    assert "lot_number" in e.value.errors


# ------------------------------------------------------------------------------------------ during and discharge
def _dosed(patient, staff, rooms, data=IV, minutes_ago=0):
    s = ready_to_start(book_now(make_order(patient, staff, data), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    if data["route"] == "iv":
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="pause", note="nausea")
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="resume")
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="rate", rate="120")
        let_time_pass(51)  # 100.7 mL at 120 mL/h: the bag has run
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    elif data["route"] == "intranasal":
        let_time_pass(5)  # the second device is given at least 5 min after the first (clinical.md §3b)
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    if minutes_ago:
        let_time_pass(minutes_ago)
    s.refresh_from_db()
    return s


def test_infusion_events_are_recorded(patient, staff, rooms):
    s = _dosed(patient, staff, rooms)
    assert [e.kind for e in s.events.all()] == ["start", "pause", "resume", "rate", "stop"]
    assert s.status == S.OBSERVATION and s.administered_mg == Decimal("35.00")


def test_im_injection_starts_observation_at_once(patient, staff, rooms):
    s = _dosed(patient, staff, rooms, IM)
    assert s.status == S.OBSERVATION and s.dose_started_at == s.dose_ended_at


def test_discharge_refused_until_escort_recorded_then_allowed(patient, staff, rooms):
    s = _dosed(patient, staff, rooms, minutes_ago=120)
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"escort_name": "", "escort_phone": ""})
    normal_vitals(s, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    with pytest.raises(TreatmentError, match="No escort recorded"):
        services.discharge(actor=actor(staff["nurse"]), session=s)
    with pytest.raises(TreatmentError, match="No override waives this"):  # not even a prescriber's reason
        services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Patient says a taxi is fine")
    s.refresh_from_db()
    assert s.status != S.DISCHARGED
    services.save_prechecks(actor=actor(staff["nurse"]), session=s,
                            data={"escort_name": "Lee Sampleton", "escort_phone": "(303) 555-0111"})
    s.refresh_from_db()
    assert s.status == S.READY
    s = services.discharge(actor=actor(staff["nurse"]), session=s)
    assert s.status == S.DISCHARGED and s.discharge_check["ready"] is True
    offer = s.integration
    assert offer.window_start == s.dose_ended_at + timedelta(hours=24)
    assert offer.window_end == s.dose_ended_at + timedelta(hours=72)


def test_observation_time_and_active_adverse_event_block_discharge(patient, staff, rooms):
    s = _dosed(patient, staff, rooms)
    normal_vitals(s, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    services.add_adverse_event(actor=actor(staff["nurse"]), session=s, data={
        "kind": "vomiting", "severity": "mild", "action_taken": "Ondansetron given",
        "rescue_medication": "ondansetron 4 mg IV"})
    with pytest.raises(TreatmentError) as e:
        services.discharge(actor=actor(staff["nurse"]), session=s)
    assert "min to go" in e.value.errors["discharge"] and "Adverse event still active" in e.value.errors["discharge"]


def test_prescriber_may_discharge_early_with_a_reason(patient, staff, rooms):
    s = _dosed(patient, staff, rooms)
    with pytest.raises(TreatmentError):
        services.discharge(actor=actor(staff["prescriber"]), session=s)
    s = services.discharge(actor=actor(staff["prescriber"]), session=s,
                           override_reason="Transferred by ambulance to ED for evaluation.")
    assert s.status == S.DISCHARGED and s.discharge_override_reason.startswith("Transferred")


def test_ratings_are_scored_by_the_core(patient, staff, rooms):
    s = _dosed(patient, staff, rooms)
    r = services.add_rating(actor=actor(staff["nurse"]), session=s, scale="moaas", timepoint="peak",
                            answers={"level": 0})
    assert r.total == 0 and r.flags[0]["urgent"]
    with pytest.raises(TreatmentError):
        services.add_rating(actor=actor(staff["nurse"]), session=s, scale="cadss", timepoint="peak",
                            answers={"q1": 2})


# ------------------------------------------------------------------------------------------ signing
def test_signed_note_is_read_only_and_addenda_keep_the_original(patient, staff, rooms):
    s = _dosed(patient, staff, rooms)
    s = services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Test: early discharge.")
    with pytest.raises(TreatmentError, match="nurse signs the note first"):
        services.sign_note(actor=actor(staff["prescriber"]), session=s, as_role="prescriber")
    drug_accounted(s, staff)
    services.sign_note(actor=actor(staff["nurse"]), session=s, as_role="nurse", summary="Uneventful infusion.")
    with pytest.raises(TreatmentError, match="read-only"):
        normal_vitals(s, staff)
    with pytest.raises(TreatmentError, match="read-only"):
        services.add_observation(actor=actor(staff["nurse"]), session=s, text="late edit")
    with pytest.raises(TreatmentError, match="already signed"):
        services.sign_note(actor=actor(staff["nurse"]), session=s, as_role="nurse", summary="Changed.")
    services.sign_note(actor=actor(staff["prescriber"]), session=s, as_role="prescriber")
    services.add_addendum(actor=actor(staff["nurse"]), session=s, text="Patient called: mild headache, resolved.")
    s.refresh_from_db()
    assert s.note_summary == "Uneventful infusion." and s.addenda.count() == 1
    assert s.prescriber_signed_by == staff["prescriber"]


# ------------------------------------------------------------------------------------------ esketamine REMS
def test_rems_form_captured_completed_and_due(patient, staff, rooms, clinic):
    s = _dosed(patient, staff, rooms, ESK)
    form = RemsForm.objects.get(session=s)
    assert form.first_treatment and form.dose_mg == 56 and form.lot_number == "LOT123" and s.devices == 2
    with pytest.raises(TreatmentError, match="at least 120"):
        services.update_rems(actor=actor(staff["nurse"]), session=s, data={"ready_to_leave_minutes": "90"})
    services.update_rems(actor=actor(staff["nurse"]), session=s, data={
        "sedation": "no", "dissociation": "yes", "respiratory_depression": "no", "ready_to_leave_minutes": "125"})
    normal_vitals(s, staff, when=s.dose_started_at + timedelta(minutes=1))
    let_time_pass(130)
    normal_vitals(s, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    s = services.discharge(actor=actor(staff["nurse"]), session=s)
    form.refresh_from_db()
    assert form.status == RemsForm.Status.COMPLETE and form.minutes_monitored >= 120
    assert form.bp_before == "124/78" and form.bp_before_completion == "126/80" and form.bp_40min
    assert form.dissociation is True and form.sedation is False
    assert form.due_by == timezone.localtime(s.dose_started_at, clinic.tz).date() + timedelta(days=7)
    assert list(services.rems_due(clinic)) == [form]
    services.mark_rems_submitted(actor=actor(staff["compliance"]), form=form)
    assert list(services.rems_due(clinic)) == []


def test_esketamine_needs_two_hours_from_the_last_device(patient, staff, rooms):
    s = _dosed(patient, staff, rooms, ESK, minutes_ago=100)
    normal_vitals(s, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    d = services.discharge_decision(s)
    assert not d.ready and d.earliest_minutes == 120 and "last device" in d.missing[0]
