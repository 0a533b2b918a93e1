"""Clinical safety review: pre-dose holds and overrides, dosing on a stopped order or after an absolute
contraindication, esketamine discharge and REMS, and Spravato device timing."""


import pytest
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.treatments import services
from ketaclinic.treatments.models import (
    PredoseOverride,
    RemsForm,
    SessionEvent,
    TreatmentOrder,
    TreatmentSession,
)
from ketaclinic.treatments.services import TreatmentError
from tests.factories import (
    ESK,
    IV,
    actor,
    book_now,
    checked_in,
    dose_verified,
    let_time_pass,
    make_eligible,
    make_order,
    normal_vitals,
    open_day,
    prechecked,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

HIGH = {"systolic_mmHg": "190", "diastolic_mmHg": "115", "heart_rate_bpm": "80", "spo2_percent": "98"}
MILD = {"systolic_mmHg": "150", "diastolic_mmHg": "92", "heart_rate_bpm": "80", "spo2_percent": "98"}
STOP = {"systolic_mmHg": "215", "diastolic_mmHg": "125", "heart_rate_bpm": "80", "spo2_percent": "98"}
OK = {"systolic_mmHg": "126", "diastolic_mmHg": "80", "heart_rate_bpm": "76", "spo2_percent": "98"}


def _predose(patient, staff, rooms, data=IV):
    return prechecked(checked_in(book_now(make_order(patient, staff, data), staff, rooms), staff), staff)


def _vitals(s, staff, values):
    return services.add_vitals(actor=actor(staff["nurse"]), session=s, values=values)


def _prep_verify(s, staff):
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "Ketamine 50 mg/mL",
        "lot_number": "L1"})
    s.refresh_from_db()
    return dose_verified(s, staff)


def _start(s, staff):
    return services.start_dose(actor=actor(staff["nurse"]), session=s)


# ------------------------------------------------------------------------------------------ defect 1
def test_bp_hold_is_not_cleared_by_a_reading_without_bp(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    assert _vitals(s, staff, HIGH).level >= 2
    assert _vitals(s, staff, {"spo2_percent": "98"}).level == 0
    s = _prep_verify(s, staff)
    with pytest.raises(TreatmentError, match="HOLD"):
        _start(s, staff)


def test_bp_hold_stays_the_worst_reading_until_overridden(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    _vitals(s, staff, HIGH)
    _vitals(s, staff, OK)  # a later normal reading does not erase the hold
    s = _prep_verify(s, staff)
    with pytest.raises(TreatmentError, match="override"):
        _start(s, staff)
    services.override_predose_hold(actor=actor(staff["prescriber"]), session=s, reason="Repeat BP normal, proceed")
    assert _start(s, staff).status == "dosing"


def test_latest_predose_reading_must_include_bp_after_an_override(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    _vitals(s, staff, HIGH)
    services.override_predose_hold(actor=actor(staff["prescriber"]), session=s, reason="Known white-coat, proceed")
    _vitals(s, staff, {"spo2_percent": "98"})
    s = _prep_verify(s, staff)
    with pytest.raises(TreatmentError, match="blood pressure"):
        _start(s, staff)
    _vitals(s, staff, OK)
    assert _start(s, staff).status == "dosing"


def test_rems_vitals_acceptable_before_reflects_the_hold(patient, staff, rooms):
    s = _predose(patient, staff, rooms, ESK)
    _vitals(s, staff, HIGH)
    _vitals(s, staff, {"spo2_percent": "98"})
    rows = list(s.vitals.all())
    assert services.predose_vitals_acceptable(s, rows) is False


# ------------------------------------------------------------------------------------------ defect 2
def test_an_override_does_not_cover_a_later_stop_reading(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    _vitals(s, staff, MILD)
    services.override_predose_hold(actor=actor(staff["prescriber"]), session=s, reason="Mild white-coat, proceed")
    assert _vitals(s, staff, STOP).level == 3
    s = _prep_verify(s, staff)
    with pytest.raises(TreatmentError, match="STOP"):
        _start(s, staff)
    o = services.override_predose_hold(actor=actor(staff["prescriber"]), session=s,
                                       reason="Repeat 215/125 discussed with cardiology, proceed")
    assert o.level == 3 and o.kind == "vitals" and o.reading.systolic_mmHg == 215
    assert PredoseOverride.objects.filter(session=s).count() == 2
    assert AuditEntry.objects.filter(action="session.predose_hold.overridden").count() == 2
    assert _start(s, staff).status == "dosing"


def test_an_override_is_refused_when_a_newer_reading_arrived(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    r1 = _vitals(s, staff, MILD)
    _vitals(s, staff, STOP)
    with pytest.raises(TreatmentError, match="newer|changed"):
        services.override_predose_hold(actor=actor(staff["prescriber"]), session=s, reason="Proceed, reviewed",
                                       reading=r1)


def test_pregnancy_override_does_not_clear_a_vitals_hold(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"pregnancy_test": "positive"})
    o = services.override_predose_hold(actor=actor(staff["prescriber"]), session=s,
                                       reason="Pregnancy: discussed, accepts risk")
    assert o.kind == "pregnancy"
    s.refresh_from_db()
    assert "pregnancy" not in " ".join(services.precheck_missing(s)).lower()
    _vitals(s, staff, {"systolic_mmHg": "205", "diastolic_mmHg": "121", "heart_rate_bpm": "80",
                       "spo2_percent": "98"})
    s = _prep_verify(s, staff)
    with pytest.raises(TreatmentError, match="override"):
        _start(s, staff)


def test_a_vitals_override_does_not_clear_a_positive_pregnancy_test(patient, staff, rooms):
    s = _predose(patient, staff, rooms)
    _vitals(s, staff, HIGH)
    services.override_predose_hold(actor=actor(staff["prescriber"]), session=s, reason="BP reviewed, proceed",
                                   kind="vitals")
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"pregnancy_test": "positive"})
    s.refresh_from_db()
    assert any("pregnancy" in m.lower() for m in services.precheck_missing(s))


# ------------------------------------------------------------------------------------------ defect 3
def test_no_dosing_on_a_stopped_order(patient, staff, rooms):
    order = make_order(patient, staff, IV)
    s = prechecked(checked_in(book_now(order, staff, rooms), staff), staff)
    normal_vitals(s, staff)
    services.stop_order(actor=actor(staff["prescriber"]), order=order, reason="Stop: new cardiac finding")
    with pytest.raises(TreatmentError, match="order"):
        _prep_verify(s, staff)


def test_no_start_when_the_order_is_stopped_after_verification(patient, staff, rooms):
    order = make_order(patient, staff, IV)
    s = prechecked(checked_in(book_now(order, staff, rooms), staff), staff)
    normal_vitals(s, staff)
    s = _prep_verify(s, staff)
    services.stop_order(actor=actor(staff["prescriber"]), order=order, reason="Stop: new cardiac finding")
    with pytest.raises(TreatmentError, match="order"):
        _start(s, staff)


def test_signed_absolute_contraindication_stops_orders_and_cancels_sessions(patient, staff, rooms):
    order = make_order(patient, staff, IV)
    s = checked_in(book_now(order, staff, rooms), staff)
    later = services.book_session(actor=actor(staff["front_desk"]), order=order,
                                  start=open_day(patient.clinic, 2), room=rooms["infusion"], chair=rooms["a1"])
    s = prechecked(s, staff)
    normal_vitals(s, staff)
    s = _prep_verify(s, staff)
    make_eligible(patient, staff, drug="ketamine", flags=("aneurysmal_vascular_disease",))
    order.refresh_from_db()
    later.refresh_from_db()
    assert order.status == TreatmentOrder.Status.STOPPED
    assert later.status == TreatmentSession.Status.CANCELLED
    assert AuditEntry.objects.filter(action="order.stopped").exists()
    assert AuditEntry.objects.filter(action="session.cancelled").exists()
    with pytest.raises(TreatmentError, match="contraindication|order"):
        _start(s, staff)


# ------------------------------------------------------------------------------------------ defect 5
def _esk_dosed(patient, staff, rooms, minutes_ago):
    s = ready_to_start(book_now(make_order(patient, staff, ESK), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    let_time_pass(6)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    let_time_pass(minutes_ago)
    normal_vitals(s, staff)
    s.refresh_from_db()
    return s


def test_esketamine_cannot_be_discharged_before_120_minutes_even_by_override(patient, staff, rooms):
    s = _esk_dosed(patient, staff, rooms, 30)
    with pytest.raises(TreatmentError, match="120"):
        services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Patient insists on leaving")
    s.refresh_from_db()
    assert s.status != "discharged" and not RemsForm.objects.filter(session=s, status="complete").exists()


def test_esketamine_cannot_be_discharged_without_escort_even_by_override(patient, staff, rooms):
    s = _esk_dosed(patient, staff, rooms, 130)
    TreatmentSession.objects.filter(pk=s.pk).update(escort_name="", escort_phone="")
    services.record_recovery(actor=actor(staff["nurse"]), session=s, alert_and_oriented=True, steady_gait=True)
    with pytest.raises(TreatmentError, match="escort"):
        services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Will take a taxi home")


def test_iv_discharge_override_by_prescriber_still_allowed(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    let_time_pass(40)  # the infusion runs its 40 minutes
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    normal_vitals(s, staff)
    s = services.discharge(actor=actor(staff["prescriber"]), session=s, override_reason="Stable, clinician judgement")
    assert s.status == "discharged" and s.discharge_override_reason


def test_rems_form_is_never_complete_below_120_minutes(patient, staff, rooms):
    s = _esk_dosed(patient, staff, rooms, 30)
    with pytest.raises(TreatmentError, match="120"):
        services._complete_rems(s, timezone.now())


def test_transfer_to_emergency_care_records_adverse_event_and_rems(patient, staff, rooms):
    s = _esk_dosed(patient, staff, rooms, 20)
    with pytest.raises(TreatmentError, match="adverse"):
        services.transfer_to_emergency(actor=actor(staff["prescriber"]), session=s, adverse_event={},
                                       note="Ambulance to Memorial ED")
    s = services.transfer_to_emergency(actor=actor(staff["prescriber"]), session=s, adverse_event={
        "kind": "hypertension", "severity": "severe", "description": "BP 220/130 with headache"},
        note="Ambulance to Memorial ED")
    assert s.status == TreatmentSession.Status.TRANSFERRED and s.discharged_at is None
    form = RemsForm.objects.get(session=s)
    assert form.transferred_to_emergency and "Hypertension" in form.adverse_events
    assert form.status != RemsForm.Status.COMPLETE and form.ready_to_leave_minutes is None
    assert AuditEntry.objects.filter(action="session.transferred_to_emergency").exists()


# ------------------------------------------------------------------------------------------ defect 8
def test_esketamine_devices_need_five_minutes_between_them_and_no_more_than_prepared(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, ESK), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    assert s.devices == 2
    with pytest.raises(TreatmentError, match="5 min"):
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
    let_time_pass(5)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
    let_time_pass(6)
    with pytest.raises(TreatmentError, match="2 device"):
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
    assert SessionEvent.objects.filter(session=s, kind="device").count() == 2


# ------------------------------------------------------------------------------------------ the cockpit
def test_cockpit_override_names_the_reading_and_transfer_button_works(patient, staff, rooms, client_for,
                                                                       make_patient):
    from django.urls import reverse

    s = _predose(patient, staff, rooms)
    r1 = _vitals(s, staff, MILD)
    client = client_for("prescriber")
    url = reverse("treatments:cockpit", args=[s.external_id])
    body = client.get(url).content.decode()
    assert f'name="reading" value="{r1.pk}"' in body and "Override HOLD" in body
    _vitals(s, staff, STOP)  # arrives while the prescriber reads the page
    client.post(reverse("treatments:override_hold", args=[s.external_id]),
                {"kind": "vitals", "reading": r1.pk, "reason": "Mild white-coat, proceed"})
    assert not PredoseOverride.objects.filter(session=s).exists()
    body = client.get(url).content.decode()
    assert "Override STOP" in body

    esk = _esk_dosed(make_patient(), staff, rooms, 20)
    client = client_for("prescriber")  # signed in again: the idle sign-out ran while the clock moved on
    body = client.get(reverse("treatments:cockpit", args=[esk.external_id])).content.decode()
    assert "Transfer to emergency care" in body
    client.post(reverse("treatments:transfer", args=[esk.external_id]),
                {"kind": "emergence", "severity": "severe", "transfer_note": "Ambulance to ED"})
    esk.refresh_from_db()
    assert esk.status == "transferred" and esk.adverse_events.filter(kind="emergence").exists()
