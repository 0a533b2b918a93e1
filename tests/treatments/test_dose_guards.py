"""Issue 10 at the chair: the dose guards of the clinical core wired into pre-checks, preparation, verification
and rate changes. Each test goes through the treatment services only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ketaclinic.accounts.roles import Role
from ketaclinic.treatments import services, stock
from ketaclinic.treatments.forms import strength_choices
from ketaclinic.treatments.services import TreatmentError
from tests.factories import (
    actor,
    book_now,
    checked_in,
    make_order,
    prechecked,
    predose_vitals,
    ready_to_start,
)
from tests.treatments.factories import IM, IV


def _prepare(s, user, **over):
    data = {"concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "Ketamine 50 mg/mL vial",
            "lot_number": "LOT1", **over}
    return services.prepare_dose(actor=actor(user), session=s, data=data)


def _at_preparation(patient, staff, rooms, weight="70.0", data=IV):
    s = checked_in(book_now(make_order(patient, staff, data), staff, rooms), staff)
    s = prechecked(s, staff, weight=weight)
    predose_vitals(s, staff)
    s.refresh_from_db()
    return s


@pytest.fixture
def nurse2(make_user):
    return make_user(Role.NURSE)


def test_pounds_typed_as_kilograms_stop_the_dose_until_re_weighed(patient, staff, rooms):
    """70 kg last visit, 154 'kg' today: no dose can be prepared (it would be 77 mg, 1.1 mg/kg of the real
    weight); re-weighing and entering 70.5 kg lets the preparation go ahead."""
    s = _at_preparation(patient, staff, rooms, weight="154")
    with pytest.raises(TreatmentError) as e:
        _prepare(s, staff["nurse"])
    assert "pounds" in e.value.errors["weight_kg"] and "second clinician" in e.value.errors["weight_kg"]
    s.refresh_from_db()
    assert s.prepared_dose_mg is None
    warnings = services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"weight_kg": "70.5"})
    assert warnings == []
    s.refresh_from_db()
    _prepare(s, staff["nurse"])
    s.refresh_from_db()
    assert s.prepared_dose_mg == Decimal("35.50")  # 35.3 mg calculated; 0.71 mL x 50 mg/mL measured


def test_a_second_clinician_confirms_a_held_weight_but_never_their_own(patient, staff, rooms, nurse2):
    s = _at_preparation(patient, staff, rooms, weight="80")  # +14% since last visit, more than 10%
    with pytest.raises(TreatmentError, match="weight changed"):
        _prepare(s, staff["nurse"])
    with pytest.raises(TreatmentError, match="second clinician"):  # the nurse who entered it
        services.confirm_weight(actor=actor(staff["nurse"]), session=s)
    services.confirm_weight(actor=actor(nurse2), session=s)
    s.refresh_from_db()
    assert s.weight_confirmed_by == nurse2 and s.weight_confirmed_at is not None
    with pytest.raises(TreatmentError, match="another clinician must prepare"):
        _prepare(s, nurse2)
    _prepare(s, staff["nurse"])
    s.refresh_from_db()
    assert s.prepared_dose_mg == Decimal("40")
    # a new weight clears the confirmation: the new one is judged again
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"weight_kg": "81"})
    s.refresh_from_db()
    assert s.weight_confirmed_at is None and s.prepared_dose_mg is None


def test_no_earlier_weight_is_checked_against_the_height(make_patient, staff, rooms):
    """A first visit: the weight is judged by BMI against the recorded height (154 kg at 170 cm = 53.3)."""
    from ketaclinic.patients.models import BodyMeasurement

    p = make_patient()
    s = _at_preparation(p, staff, rooms, weight="70.0")
    BodyMeasurement.objects.filter(patient=p).exclude(weight_kg=None).delete()  # a first visit: no earlier weight
    BodyMeasurement.objects.create(patient=p, height_cm=Decimal("170"), recorded_by=staff["nurse"])
    services.save_prechecks(actor=actor(staff["nurse"]), session=s, data={"weight_kg": "154"})
    s.refresh_from_db()
    with pytest.raises(TreatmentError, match="BMI of 53.3"):
        _prepare(s, staff["nurse"])


def test_recorded_dose_is_the_measured_dose(patient, staff, rooms):
    """73.3 kg x 0.5 mg/kg = 36.65 -> 36.7 mg; 36.7 / 50 = 0.734 -> 0.73 mL, which holds 36.5 mg: record 36.5."""
    s = _at_preparation(patient, staff, rooms, weight="73.3")
    calc = _prepare(s, staff["nurse"])
    s.refresh_from_db()
    assert calc.total_mg == 36.7 and s.prepared_volume_mL == Decimal("0.73")
    assert s.prepared_dose_mg == Decimal("36.50") and s.calculated_dose_mg == Decimal("36.70")


def test_undiluted_100_mg_per_ml_is_refused_for_iv(patient, staff, rooms):
    s = _at_preparation(patient, staff, rooms)
    with pytest.raises(TreatmentError) as e:
        _prepare(s, staff["nurse"], concentration_mg_per_mL="100", bag_volume_mL="0.2")
    assert "undiluted" in e.value.errors["concentration_mg_per_mL"]
    s.refresh_from_db()
    assert s.prepared_dose_mg is None


def test_strength_must_be_one_the_product_comes_in(patient, staff, rooms):
    """5 for 50 mg/mL (a tenfold volume) is never offered, and the service refuses it if posted."""
    s = _at_preparation(patient, staff, rooms)
    # the cockpit offers only these (no stock of the drug kept in KetaClinic: the label strengths)
    assert [v for v, _ in strength_choices(s, stock.account(s))] == ["10", "50", "100"]
    with pytest.raises(TreatmentError, match="not a strength ketamine is made in"):
        _prepare(s, staff["nurse"], concentration_mg_per_mL="5")


def test_stocked_strengths_from_a_registered_provider(patient, staff, rooms):
    s = _at_preparation(patient, staff, rooms)
    ten = stock.StockOption(key="x", label="LOT1 10 mg/mL", lot_number="LOT1", strength_mg_per_mL=Decimal(10),
                            unit="mL", balance=Decimal(10))
    held = stock.DrugAccount(unit="mL", draws=(), drawn=Decimal(0), drawn_mg=Decimal(0), administered=Decimal(0),
                             wasted=Decimal(0), pending_waste=Decimal(0), problems=(), options=(ten,),
                             stock_known=True)
    previous = stock.register_account(lambda session: held)  # custody's, registered at start-up
    try:
        with pytest.raises(TreatmentError, match="stocks ketamine at 10 mg/mL"):
            _prepare(s, staff["nurse"])
        _prepare(s, staff["nurse"], concentration_mg_per_mL="10")
    finally:
        stock.register_account(previous)


def test_infusion_at_the_induction_rate_cannot_be_prepared_even_with_a_reason(patient, staff, rooms):
    s = _at_preparation(patient, staff, rooms)
    order = s.order
    # write_order already refuses such an order; the row is edited to show preparation refuses it too.
    type(order).objects.filter(pk=order.pk).update(dose_mg_per_kg=Decimal("1.0"), infusion_minutes=2,
                                                   dose_override_reason="Prescriber wants it fast")
    s.refresh_from_db()
    with pytest.raises(TreatmentError) as e:
        _prepare(s, staff["prescriber"], override_reason="I accept the risk of this")
    assert "anaesthetic induction rate" in " ".join(e.value.errors.values())
    s.refresh_from_db()
    assert s.prepared_dose_mg is None


def test_verifier_checks_strength_and_bag_volume(patient, staff, rooms, nurse2):
    s = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff, verified=False)
    with pytest.raises(TreatmentError) as e:
        services.verify_dose(actor=actor(nurse2), session=s, weight_kg="70", dose_mg="35",
                             concentration_mg_per_mL="5", bag_volume_mL="250")
    assert set(e.value.errors) == {"concentration_mg_per_mL", "bag_volume_mL"}
    with pytest.raises(TreatmentError) as e:
        services.verify_dose(actor=actor(nurse2), session=s, weight_kg="70", dose_mg="35")
    assert "Enter the vial strength" in e.value.errors["concentration_mg_per_mL"]
    s.refresh_from_db()
    assert s.verified_at is None
    services.verify_dose(actor=actor(nurse2), session=s, weight_kg="70", dose_mg="35",
                         concentration_mg_per_mL="50", bag_volume_mL="100")
    s.refresh_from_db()
    assert s.verified_at and s.verified_concentration_mg_per_mL == 50 and s.verified_bag_volume_mL == 100


def test_im_verification_asks_strength_but_not_a_bag(make_patient, staff, rooms, nurse2):
    s = ready_to_start(book_now(make_order(make_patient(), staff, IM), staff, rooms), staff, verified=False)
    services.verify_dose(actor=actor(nurse2), session=s, weight_kg="70", dose_mg=s.prepared_dose_mg,
                         concentration_mg_per_mL="50")
    s.refresh_from_db()
    assert s.verified_at is not None


def test_pump_rate_at_the_induction_rate_is_refused(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    # 35 mg in 100.7 mL for 70 kg: 0.5 mg/kg/min needs 6042 mL/h
    with pytest.raises(TreatmentError, match="anaesthetic induction rate"):
        services.dosing_event(actor=actor(staff["prescriber"]), session=s, kind="rate", rate="6100",
                              note="prescriber insists on this rate")
    with pytest.raises(TreatmentError, match="clinic's maximum"):
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="rate", rate="300")
    services.dosing_event(actor=actor(staff["prescriber"]), session=s, kind="rate", rate="300",
                          note="Prescriber: patient tolerating well, finish sooner")
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="rate", rate="120")
    assert s.events.filter(kind="rate").count() == 2


def test_only_a_prescriber_prepares_past_a_limit_the_order_did_not_override(patient, staff, rooms, clinic):
    """A clinic maximum rate below the order's 0.5 mg/kg over 40 min: the nurse's reason is not enough, the
    prescriber's is."""
    from ketaclinic.clinic.services import update_limits

    update_limits(actor=actor(staff["clinic_admin"]), clinic=clinic,
                  values={"dosing.iv_max_rate_mg_per_kg_per_min": "0.01"})
    s = _at_preparation(patient, staff, rooms)
    with pytest.raises(TreatmentError, match="Ask the prescriber"):
        _prepare(s, staff["nurse"], override_reason="Patient tolerated this rate last time")
    s.refresh_from_db()
    assert s.prepared_dose_mg is None
    _prepare(s, staff["prescriber"], override_reason="Tolerated 0.5 mg/kg over 40 min at three sessions")
    s.refresh_from_db()
    assert s.prepared_dose_mg is not None and s.dose_override_reason.startswith("Tolerated")
