"""One weight: a weight recorded at the consult or at the chair is an entry of the patient's one weight history,
which the order and the dose read; retyping it in the same visit keeps the earlier entry, marked in error."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketaclinic.patients.models import BodyMeasurement
from ketaclinic.patients.services import latest_weight_entry
from ketaclinic.screening import services as screening
from ketaclinic.treatments import services
from ketaclinic.treatments.services import TreatmentError
from tests.treatments.factories import IV, actor, book_now, checked_in, make_order, prechecked

pytestmark = pytest.mark.django_db


def _weights(patient):
    return list(BodyMeasurement.objects.filter(patient=patient, weight_kg__isnull=False)
                .order_by("measured_at", "pk").values_list("weight_kg", "status"))


def test_the_weight_taken_at_the_consult_reaches_the_order_without_typing_it_again(patient, staff):
    nurse, prescriber = actor(staff["nurse"]), actor(staff["prescriber"])
    consult = screening.start_consult(actor=nurse, patient=patient, drug="ketamine")
    screening.update_intake(actor=nurse, consult=consult, data={
        "diagnoses": ["F33.2"], "history_flags": [], "medication_classes": [], "weight_kg": "82.4",
        "height_cm": "178", "baseline_systolic_mmHg": "120", "baseline_diastolic_mmHg": "76",
        "baseline_heart_rate_bpm": "70", "baseline_spo2_percent": "98"})
    entry = latest_weight_entry(patient)
    assert entry.weight_kg == Decimal("82.40") and entry.height_cm == Decimal("178.0")
    assert entry.recorded_by == staff["nurse"]
    # Saving the intake again with the same weight adds nothing to the history.
    screening.update_intake(actor=nurse, consult=consult, data={
        "diagnoses": ["F33.2"], "history_flags": [], "medication_classes": [], "weight_kg": "82.4",
        "height_cm": "178", "baseline_systolic_mmHg": "120", "baseline_diastolic_mmHg": "76",
        "baseline_heart_rate_bpm": "70", "baseline_spo2_percent": "98", "notes": "Reviewed"})
    assert _weights(patient) == [(Decimal("82.40"), "final")]
    for d in ("sertraline", "bupropion"):
        screening.add_trial(actor=nurse, consult=consult, drug=d, dose="adequate", weeks="8", adequate_dose=True,
                            outcome="no_response")
    screening.sign_assessment(actor=prescriber, assessment=screening.assess(actor=nurse, consult=consult),
                              decision="accept")
    order = services.write_order(actor=prescriber, patient=patient, data=IV)  # refused before: no weight on file
    assert order.status == "active" and services.latest_weight(patient) == (Decimal("82.40"), Decimal("178.0"))


def test_an_order_without_any_weight_says_where_to_record_one(patient, staff):
    from tests.factories import make_eligible

    make_eligible(patient, staff)
    BodyMeasurement.objects.filter(patient=patient).update(status="entered-in-error")
    with pytest.raises(TreatmentError, match="on the chart .*or at the consult's intake"):
        services.write_order(actor=actor(staff["prescriber"]), patient=patient, data=IV)


def test_todays_weight_at_the_chair_joins_the_history_and_a_retyped_one_keeps_the_first_in_error(
        patient, staff, rooms):
    s = checked_in(book_now(make_order(patient, staff, IV, weight="70.0"), staff, rooms), staff)
    before = len(_weights(patient))
    s = prechecked(s, staff, weight="71.0")
    assert _weights(patient)[before:] == [(Decimal("71.00"), "final")]
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"weight_kg": "71.5"})
    assert _weights(patient)[before:] == [(Decimal("71.00"), "entered-in-error"), (Decimal("71.50"), "final")]
    assert latest_weight_entry(patient).weight_kg == Decimal("71.50")
    # Saving the checklist again with the same weight adds nothing.
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"weight_kg": "71.5"})
    assert len(_weights(patient)) == before + 2


def test_pounds_typed_as_kilograms_are_still_held_against_the_weight_before_this_visit(patient, staff, rooms):
    s = checked_in(book_now(make_order(patient, staff, IV, weight="70.0"), staff, rooms), staff)
    s = prechecked(s, staff, weight="154")  # 70 kg in pounds, now also in the history
    guard = services.weight_guard(s)
    assert guard is not None and not guard.ok  # compared with 70 kg measured before the visit, not with itself
    with pytest.raises(TreatmentError):
        services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
            "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "vial", "lot_number": "L1"})
    assert timezone.now() - latest_weight_entry(patient).measured_at < timedelta(minutes=1)
