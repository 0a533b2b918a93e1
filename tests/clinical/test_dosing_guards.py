"""Issue 10 points 1-4: weight in pounds blocks, infusion rate and dilution, concentration from stock, measured dose."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.dosing import (
    INDUCTION_RATE_MG_PER_KG_PER_MIN,
    im_injection,
    infusion_rate_check,
    iv_dilution_check,
    iv_infusion,
    measured_dose,
    weight_plausibility,
)
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.guards import Outcome
from ketaclinic.clinical.products import product_strengths, stocked_strength_check


# ------------------------------------------------------------------ 1. weight plausibility
def test_pounds_typed_as_kg_blocks_until_reweighed_or_confirmed():
    # The case: 154 "kg" after 70 kg (154 lb = 69.9 kg) would give 77 mg at 0.5 mg/kg, 1.1 mg/kg of the
    # real weight.
    d = weight_plausibility(154, previous_weight_kg=70)
    assert d.kind is Outcome.BLOCK and d.blocked and not d.hard
    assert "pounds" in d.reason and "69.9 kg" in d.reason
    assert "weigh the patient again" in d.reason and "second clinician" in d.reason
    assert d.cleared_by == "second clinician" and d.rule == "dosing.weight_checks"
    confirmed = weight_plausibility(154, previous_weight_kg=70, second_clinician_confirmed=True)
    assert confirmed.ok and "confirmed by a second clinician" in confirmed.reason
    assert weight_plausibility(Decimal("70.4"), previous_weight_kg=Decimal("70")).ok


def test_previous_weight_in_pounds_also_blocks():
    d = weight_plausibility(70, previous_weight_kg=154)
    assert d.blocked and "previous entry may have been in pounds" in d.reason


def test_change_above_tolerance_blocks_and_edge_passes():
    assert weight_plausibility(77, previous_weight_kg=70).ok  # exactly +10% is not "more than 10%"
    assert weight_plausibility(63, previous_weight_kg=70).ok  # exactly -10%
    d = weight_plausibility(77.1, previous_weight_kg=70)
    assert d.blocked and "+10.1%" in d.reason and "10%" in d.reason
    assert d.details["change_percent"] == 10.1
    # a clinic that tolerates 15% lets +12% through
    assert weight_plausibility(78.4, previous_weight_kg=70, settings={"dosing.weight_change_flag_percent": 15}).ok


def test_first_visit_checks_bmi_against_height():
    # 70 kg at 175 cm: BMI 22.9; 154 "kg" at 175 cm: BMI 50.3 (the pounds mistake at a first visit)
    ok = weight_plausibility(70, height_cm=175)
    assert ok.ok and ok.details["bmi"] == 22.9
    d = weight_plausibility(154, height_cm=175)
    assert d.blocked and "50.3" in d.reason and "pounds" in d.reason and "second clinician" in d.reason
    assert weight_plausibility(154, height_cm=175, second_clinician_confirmed=True).ok
    assert weight_plausibility(40, height_cm=175).blocked  # BMI 13.1, below 15
    # edges: BMI exactly 15 and 45 pass
    assert weight_plausibility(45.9375, height_cm=175).details["bmi"] == 15.0
    assert weight_plausibility(45.9375, height_cm=175).ok
    assert weight_plausibility(137.8125, height_cm=175).ok


def test_nothing_to_check_against_blocks_and_impossible_values_cannot_be_confirmed():
    d = weight_plausibility(70)
    assert d.blocked and "height" in d.reason and d.cleared_by == "second clinician"
    for bad in (weight_plausibility(400, previous_weight_kg=180, second_clinician_confirmed=True),
                weight_plausibility(20, height_cm=150, second_clinician_confirmed=True)):
        assert bad.blocked and bad.hard and "Weigh the patient again" in bad.reason
    assert "181.4 kg" in weight_plausibility(400).reason  # 400 lb
    assert weight_plausibility(70, height_cm=60).hard
    with pytest.raises(ClinicalInputError):
        weight_plausibility("70")  # type: ignore[arg-type]


# ------------------------------------------------------------------ 2. infusion rate and dilution
def test_standard_infusion_rate_is_fine():
    # Singh 2016: 0.5 mg/kg over 40 min = 0.0125 mg/kg/min
    d = infusion_rate_check(0.5, 40)
    assert d.ok and d.details["rate_mg_per_kg_per_min"] == 0.0125


def test_induction_rate_is_impossible_not_overridable():
    # The case: 1.0 mg/kg over 2 minutes = 0.5 mg/kg/min, the label's anaesthetic induction rate
    assert INDUCTION_RATE_MG_PER_KG_PER_MIN == Decimal("0.5")
    d = infusion_rate_check(1.0, 2)
    assert d.blocked and d.hard and "induction rate" in d.reason and "lengthen the infusion" in d.reason
    with pytest.raises(ClinicalInputError) as e:
        iv_infusion(70, 1.0, 2, 10, 100, override_reason="prescriber insists")
    assert e.value.field == "minutes" and "induction rate" in str(e.value)
    # a clinic cannot configure its way there: the setting stops below 0.5
    with pytest.raises(ClinicalInputError):
        infusion_rate_check(0.5, 40, settings={"dosing.iv_max_rate_mg_per_kg_per_min": 0.5})
    assert infusion_rate_check(0.99, 2, settings={"dosing.iv_max_rate_mg_per_kg_per_min": 0.49}).needs_override


def test_clinic_maximum_rate_needs_override():
    assert infusion_rate_check(0.75, 40).ok  # 0.01875: the default maximum itself
    d = infusion_rate_check(0.5, 20)  # 0.025 mg/kg/min
    assert d.needs_override and d.cleared_by == "prescriber" and "prescriber" in d.reason
    r = iv_infusion(70, 0.75, 40, 10, 100, settings={"dosing.iv_max_rate_mg_per_kg_per_min": 0.015})
    assert r.needs_override and r.blocked and any("faster than the clinic's maximum" in w for w in r.warnings)
    assert not iv_infusion(70, 0.75, 40, 10, 100, settings={"dosing.iv_max_rate_mg_per_kg_per_min": 0.015},
                           override_reason="slow responder").blocked


def test_100_mg_per_ml_must_be_diluted_for_iv_use():
    d = iv_dilution_check(100, drug_mL=0.35, diluent_mL=0)
    assert d.blocked and d.hard and "undiluted" in d.reason and "equal volume" in d.reason
    assert iv_dilution_check(100, drug_mL=1, diluent_mL=1).ok  # equal volume: 50 mg/mL (label)
    assert iv_dilution_check(100, drug_mL=1, diluent_mL=0.99).blocked
    assert iv_dilution_check(50, drug_mL=1, diluent_mL=0).ok  # the label names only the 100 mg/mL vial
    # a 100 mg/mL drug drawn into a syringe with no diluent ("final volume" = the drug itself) is refused
    with pytest.raises(ClinicalInputError) as e:
        iv_infusion(70, 0.5, 40, 100, 0.35, drug_added_to_bag=False)
    assert e.value.field == "concentration_mg_per_mL" and "undiluted" in str(e.value)
    assert iv_infusion(70, 0.5, 40, 100, 100).total_mg == 35.0  # added to a 100 mL bag: diluted


# ------------------------------------------------------------------ 3. concentration from stock
def test_product_strengths():
    assert product_strengths("ketamine") == (Decimal(10), Decimal(50), Decimal(100))
    assert product_strengths("esketamine") == (Decimal(28),)
    with pytest.raises(ClinicalInputError):
        product_strengths("midazolam")


def test_concentration_must_be_stocked():
    assert stocked_strength_check("ketamine", 50, [10, 50]).ok
    assert stocked_strength_check("ketamine", Decimal("50.0"), ["50"]).ok
    typo = stocked_strength_check("ketamine", 5, [10, 50])
    assert typo.blocked and "not a strength ketamine is made in" in typo.reason and "10, 50 mg/mL" in typo.reason
    unstocked = stocked_strength_check("ketamine", 100, [10, 50])
    assert unstocked.blocked and "not a strength" not in unstocked.reason and "vial label" in unstocked.reason
    assert "No ketamine is in stock" in stocked_strength_check("ketamine", 10, []).reason
    assert stocked_strength_check("esketamine", 28, [28]).ok
    assert stocked_strength_check("esketamine", 56, [28]).blocked
    # inside the dose maths
    with pytest.raises(ClinicalInputError) as e:
        iv_infusion(70, 0.5, 40, 5, 100, stocked_concentrations=[10, 50])
    assert e.value.field == "concentration_mg_per_mL"
    with pytest.raises(ClinicalInputError):
        im_injection(70, 0.5, 100, stocked_concentrations=[50])
    assert iv_infusion(70, 0.5, 40, 50, 100, stocked_concentrations=[10, 50]).drug_mL == 0.7


# ------------------------------------------------------------------ 4. measured dose
def test_measured_dose_hand_checked():
    # 73.3 kg x 0.5 mg/kg = 36.65 -> 36.7 mg; 36.7 / 50 = 0.734 -> 0.73 mL; the syringe holds 0.73 x 50 = 36.5 mg
    m = measured_dose(Decimal("36.7"), Decimal(50))
    assert (m.volume_mL, m.mg_as_measured, m.difference_mg) == (Decimal("0.73"), Decimal("36.50"), Decimal("-0.20"))
    r = iv_infusion(73.3, 0.5, 40, 50, 100)
    assert (r.total_mg, r.drug_mL, r.measured_mg) == (36.7, 0.73, 36.5)
    assert any("Measured dose = 0.73 mL x 50 mg/mL = 36.5 mg" in w for w in r.working)
    assert im_injection(80, 0.5, 50).measured_mg == 40.0


def test_measured_dose_refuses_what_a_syringe_cannot_measure():
    with pytest.raises(ClinicalInputError) as e:
        measured_dose(Decimal("0.4"), Decimal(100))  # 0.004 mL
    assert "weaker vial" in str(e.value)
    assert measured_dose(Decimal("0.5"), Decimal(100)).volume_mL == Decimal("0.01")  # half up


def test_dose_calculations_refuse_a_volume_no_syringe_can_measure():
    # 40 kg x 0.005 mg/kg = 0.2 mg = 0.002 mL of 100 mg/mL: rounds to 0.00 mL, so the IM calculation used to
    # print "draw 0.00 mL, record 0 mg"; IV failed later with a message about the dilution
    for calc in (lambda: im_injection(40, 0.005, 100), lambda: iv_infusion(40, 0.005, 40, 100, 100)):
        with pytest.raises(ClinicalInputError) as e:
            calc()
        assert e.value.field == "concentration_mg_per_mL" and "weaker vial" in e.value.message
    # a dose that rounds to 0.0 mg is refused on the dose, not recorded as 0 mg
    with pytest.raises(ClinicalInputError) as e:
        im_injection(40, 0.001, 100)
    assert e.value.field == "dose_mg_per_kg" and "0 mg" in e.value.message
    # at a weaker strength the same dose can be drawn
    assert im_injection(40, 0.005, 10).drug_mL == 0.02 and im_injection(40, 0.005, 10).measured_mg == 0.2


@given(st.floats(min_value=40, max_value=150), st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]),
       st.sampled_from([10, 50, 100]))
def test_dose_calculations_record_what_measured_dose_says(weight, per_kg, conc):
    w = round(weight, 1)
    for r in (iv_infusion(w, min(per_kg, 0.75), 40, conc, 100, override_reason="property"),
              im_injection(w, per_kg, conc, override_reason="property")):
        m = measured_dose(Decimal(repr(r.total_mg)), Decimal(conc))
        assert Decimal(repr(r.drug_mL)) == m.volume_mL
        assert r.measured_mg == float(m.mg_as_measured)


@given(
    st.decimals(min_value=Decimal("1.0"), max_value=Decimal("200.0"), places=1),
    st.sampled_from([Decimal(10), Decimal(50), Decimal(100)]),
)
def test_measured_mg_is_volume_times_strength_and_within_half_a_step(ordered, conc):
    m = measured_dose(ordered, conc)
    assert m.mg_as_measured == m.volume_mL * conc  # exactly
    assert m.volume_mL == m.volume_mL.quantize(Decimal("0.01"))
    half_step_mg = conc * Decimal("0.01") / 2
    assert m.mg_as_measured - ordered <= half_step_mg  # rounding never exceeds the order by more than half a step
    assert abs(m.difference_mg) <= half_step_mg


@given(st.floats(min_value=40, max_value=150), st.sampled_from([0.1, 0.25, 0.5, 0.75]),
       st.sampled_from([10, 50, 100]))
def test_iv_record_matches_syringe(weight, per_kg, conc):
    r = iv_infusion(round(weight, 1), per_kg, 40, conc, 100)
    assert Decimal(repr(r.measured_mg)) == Decimal(repr(r.drug_mL)) * conc
    assert abs(r.measured_mg - r.total_mg) <= conc * 0.01 / 2 + 1e-9


def test_pump_rate_changes_keep_the_same_speed_limits():
    # 70 kg, 35 mg in 100.7 mL: the standard 40-min pump rate 151.1 mL/h is 0.0125 mg/kg/min
    from ketaclinic.clinical.dosing import pump_rate_check

    common = dict(infused_volume_mL=Decimal("100.7"), dose_mg=Decimal(35), weight_kg=Decimal(70))
    ok = pump_rate_check(Decimal("151.05"), **common)
    assert ok.ok and abs(ok.details["rate_mg_per_kg_per_min"] - 0.0125) < 1e-9
    faster = pump_rate_check(300, **common)  # about 20 min
    assert faster.needs_override and "slower pump rate" in faster.reason
    typo = pump_rate_check(7000, **common)  # a mistyped rate: 0.58 mg/kg/min
    assert typo.blocked and typo.hard and "induction rate" in typo.reason
    with pytest.raises(ClinicalInputError):
        pump_rate_check(0, **common)
