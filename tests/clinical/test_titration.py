"""Dose titration across a series: the plan's ladder and limits, and the proposal before each session.

Published facts checked: IV 0.5 mg/kg is the standard start and 1.0 mg/kg the highest dose studied (clinical.md §1,
Fava 2020); esketamine TRD starts at 56 mg and continues at 56 or 84 mg, MDSI starts at 84 mg and may be reduced to
56 mg for tolerability (clinical.md §3b); a response is a 50% reduction from baseline (clinical.md §4); the label's
BP reporting threshold is +40 systolic / +25 diastolic mmHg (clinical.md §3c).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ketaclinic.clinical import titration as t
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.guards import Outcome
from ketaclinic.clinical.vitals import Level


def iv_plan(**kw):
    args = {"start": "0.5", "steps": ["0.5", "0.75", "1.0"], "ceiling": "1.0", "scale": "phq9"} | kw
    return t.make_plan("iv", **args)


def tolerated(seq: int, dose: str, **kw) -> t.SessionOutcome:
    return t.SessionOutcome(seq, D(dose), True, **kw)


WEAK = t.Scores(baseline=20, latest=15, latest_since_dose=True)  # 25% fall: no response
RESPONDING = t.Scores(baseline=20, latest=10, latest_since_dose=True)  # 50% fall: a response


# ------------------------------------------------------------------------------------------------ the plan
def test_an_iv_plan_may_climb_to_the_highest_dose_studied_and_no_further():
    plan = iv_plan()
    assert plan.describe() == "0.5 mg/kg → 0.75 mg/kg → 1 mg/kg; start 0.5 mg/kg; ceiling 1 mg/kg"
    with pytest.raises(ClinicalInputError, match="above the hard limit 1 mg/kg") as e:
        iv_plan(steps=["0.5", "1.0", "1.5"], ceiling="1.5")
    assert e.value.field == "ceiling"


def test_a_plan_that_steps_above_its_ceiling_is_refused():
    with pytest.raises(ClinicalInputError, match="steps above its ceiling 0.75 mg/kg: 1 mg/kg") as e:
        iv_plan(ceiling="0.75")
    assert e.value.field == "steps"


@pytest.mark.parametrize("kw, field, message", [
    ({"steps": ["0.75", "0.5"]}, "steps", "from the lowest dose to the highest"),
    ({"steps": ["0.5", "0.5"]}, "steps", "each once"),
    ({"steps": ["0", "0.5"], "start": "0.5"}, "steps", "above 0"),
    ({"start": "0.6"}, "start", "not one of the steps"),
    ({"scale": "cadss"}, "scale", "no response rule"),
    ({"steps": ["0.5", "0.7501"], "ceiling": "1.0"}, "steps", "more than 3 decimals"),
])
def test_a_plan_with_bad_steps_is_refused_with_the_field(kw, field, message):
    with pytest.raises(ClinicalInputError, match=message) as e:
        iv_plan(**kw)
    assert e.value.field == field


def test_esketamine_steps_are_whole_devices_and_never_above_84_mg():
    with pytest.raises(ClinicalInputError, match="whole 28 mg devices"):
        t.make_plan("intranasal", start=56, steps=[56, 70], ceiling=84, scale="phq9")
    with pytest.raises(ClinicalInputError, match="hard limit 84 mg"):
        t.make_plan("intranasal", start=56, steps=[56, 84, 112], ceiling=112, scale="phq9")


def test_the_esketamine_label_plans():
    trd = t.esketamine_label_plan("trd")
    assert (trd.start, trd.steps, trd.ceiling) == (D(56), (D(56), D(84)), D(84))
    mdsi = t.esketamine_label_plan("mdsi")
    assert (mdsi.start, mdsi.steps) == (D(84), (D(56), D(84)))
    assert t.propose(trd, [], WEAK).dose == D(56)
    assert t.propose(mdsi, [], WEAK).dose == D(84)


def test_mdsi_is_reduced_to_56_mg_for_tolerability():
    mdsi = t.esketamine_label_plan("mdsi")
    p = t.propose(mdsi, [t.SessionOutcome(1, D(84), True, adverse_events=(("vomiting", "mild"),))], WEAK)
    assert (p.direction, p.dose) == ("down", D(56))


# ------------------------------------------------------------------------------------------------ proposals
def test_first_session_is_the_start_dose():
    p = t.propose(iv_plan(), [], t.Scores(None, None, False))
    assert (p.direction, p.dose, p.summary) == ("start", D("0.5"), "Start at 0.5 mg/kg")


def test_weak_response_after_enough_tolerated_sessions_steps_up_one_rung():
    p = t.propose(iv_plan(), [tolerated(1, "0.5"), tolerated(2, "0.5")], WEAK)
    assert (p.direction, p.dose, p.step_up_criteria_met) == ("up", D("0.75"), True)
    assert any("PHQ-9 20 → 15 (-25%" in r.text for r in p.reasons)


def test_no_step_up_before_the_clinics_number_of_sessions():
    p = t.propose(iv_plan(), [tolerated(1, "0.5")], WEAK)
    assert (p.direction, p.dose, p.step_up_criteria_met) == ("same", D("0.5"), False)
    assert any("waits for 2" in r.text for r in p.reasons)
    assert t.propose(iv_plan(), [tolerated(1, "0.5")], WEAK,
                     settings={"titration.sessions_before_step_up": 1}).direction == "up"


def test_a_responding_patient_stays_at_the_dose():
    p = t.propose(iv_plan(), [tolerated(1, "0.5"), tolerated(2, "0.5")], RESPONDING)
    assert (p.direction, p.dose) == ("same", D("0.5"))
    assert any("Responding" in r.text for r in p.reasons)


def test_no_step_up_without_a_score_since_the_dose_changed():
    stale = t.Scores(baseline=20, latest=18, latest_since_dose=False)
    p = t.propose(iv_plan(), [tolerated(1, "0.5"), tolerated(2, "0.75"), tolerated(3, "0.75")], stale)
    assert (p.direction, p.dose) == ("same", D("0.75"))
    assert any("No PHQ-9 score since the dose became 0.75 mg/kg" in r.text for r in p.reasons)
    missing = t.propose(iv_plan(), [tolerated(1, "0.5"), tolerated(2, "0.5")], t.Scores(None, None, False))
    assert missing.direction == "same"


def test_sessions_at_the_current_dose_are_counted_since_the_last_change():
    history = [tolerated(1, "0.5"), tolerated(2, "0.5"), tolerated(3, "0.75")]
    assert t.propose(iv_plan(), history, WEAK).direction == "same"
    assert t.propose(iv_plan(), history + [tolerated(4, "0.75")], WEAK).dose == D("1.0")


def test_at_the_ceiling_the_dose_stays():
    p = t.propose(iv_plan(), [tolerated(1, "1.0"), tolerated(2, "1.0")], WEAK)
    assert (p.direction, p.dose) == ("same", D("1.0"))
    assert any("highest step" in r.text for r in p.reasons)


@pytest.mark.parametrize("last, why", [
    (dict(vitals_level=Level.HOLD), "HOLD limit"),
    (dict(vitals_level=Level.STOP), "STOP limit"),
    (dict(systolic_rise_mmHg=40), "systolic +40 mmHg"),
    (dict(diastolic_rise_mmHg=25), "diastolic +25 mmHg"),
    (dict(lowest_moaas=2), "MOAA/S fell to 2"),
    (dict(adverse_events=(("vomiting", "mild"),)), "mild vomiting"),
    (dict(adverse_events=(("emergence", "moderate"),)), "moderate emergence"),
])
def test_an_untolerated_session_steps_down_one_rung(last, why):
    p = t.propose(iv_plan(), [tolerated(1, "0.5"), tolerated(2, "0.75", **last)], WEAK)
    assert (p.direction, p.dose, p.step_down) == ("down", D("0.5"), True)
    assert any(why in r.text for r in p.reasons)


@pytest.mark.parametrize("last", [
    dict(vitals_level=Level.CAUTION), dict(systolic_rise_mmHg=39, diastolic_rise_mmHg=24), dict(lowest_moaas=3),
    dict(adverse_events=(("nausea", "mild"),)), dict(peak_cadss=60),
])
def test_signals_below_the_limits_do_not_step_down(last):
    p = t.propose(iv_plan(), [tolerated(1, "0.5"), tolerated(2, "0.5", **last)], WEAK)
    assert p.direction == "up"


def test_the_clinic_may_set_a_cadss_cut_off_and_turn_off_the_bp_rise_rule():
    history = [tolerated(1, "0.5"), tolerated(2, "0.75", peak_cadss=40, systolic_rise_mmHg=45)]
    assert t.propose(iv_plan(), history, WEAK).direction == "down"
    cfg = {"titration.step_down_on_bp_rise": False}
    assert t.propose(iv_plan(), history, WEAK, settings=cfg).direction != "down"
    cfg["titration.step_down_cadss_at_or_above"] = 40
    p = t.propose(iv_plan(), history, WEAK, settings=cfg)
    assert p.direction == "down" and any("peak CADSS 40" in r.text for r in p.reasons)


def test_at_the_lowest_rung_an_untolerated_session_holds_for_the_prescriber():
    p = t.propose(iv_plan(), [tolerated(1, "0.5", vitals_level=Level.STOP)], WEAK)
    assert (p.direction, p.dose, p.step_down) == ("same", D("0.5"), True)
    assert any("lowest step" in r.text for r in p.reasons)


def test_no_proposal_while_the_previous_session_is_unsigned():
    with pytest.raises(ClinicalInputError, match="session 2 is not signed"):
        t.propose(iv_plan(), [tolerated(1, "0.5"), t.SessionOutcome(2, D("0.5"), False)], WEAK)


def test_a_dose_off_the_ladder_returns_to_the_nearest_step_below():
    p = t.propose(iv_plan(), [tolerated(1, "0.6")], WEAK)
    assert (p.direction, p.dose) == ("down", D("0.5"))


# ------------------------------------------------------------------------------------------------ signing
def test_signing_the_proposal_needs_no_reason():
    plan = iv_plan()
    p = t.propose(plan, [tolerated(1, "0.5"), tolerated(2, "0.5")], WEAK)
    assert t.check_choice(plan, p, "0.75").kind == Outcome.OK


def test_a_step_up_without_its_criteria_needs_the_prescribers_reason():
    plan = iv_plan()
    p = t.propose(plan, [tolerated(1, "0.5")], WEAK)
    refused = t.check_choice(plan, p, "0.75")
    assert refused.kind == Outcome.NEEDS_OVERRIDE and "criteria are not met" in refused.reason
    assert t.check_choice(plan, p, "0.75", override_reason="Partial response, patient asks").kind == Outcome.OK


def test_a_dose_above_the_ceiling_or_off_the_plan_cannot_be_signed_even_with_a_reason():
    plan = iv_plan(steps=["0.5", "0.75"], ceiling="0.75")
    p = t.propose(plan, [], WEAK)
    assert t.check_choice(plan, p, "1.0", override_reason="x").kind == Outcome.BLOCK
    assert t.check_choice(plan, p, "0.6", override_reason="x").kind == Outcome.BLOCK


def test_a_signed_iv_dose_outside_the_clinics_range_needs_a_reason_as_the_dose_maths_does():
    plan = iv_plan()
    p = t.propose(plan, [tolerated(1, "0.75"), tolerated(2, "0.75")], WEAK)
    assert p.dose == D("1.0")
    refused = t.check_choice(plan, p, "1.0")
    assert refused.kind == Outcome.NEEDS_OVERRIDE and "outside the clinic's IV range 0.1 mg/kg to 0.75" in refused.reason
    assert t.check_choice(plan, p, "1.0", override_reason="No response at 0.75 after 3 sessions").kind == Outcome.OK


def test_after_a_partly_given_untolerated_dose_the_proposal_steps_below_it_and_says_why():
    mdsi = t.esketamine_label_plan("mdsi")  # 56 -> 84; only one 28 mg device was given, then vomiting
    p = t.propose(mdsi, [t.SessionOutcome(1, D(28), True, adverse_events=(("vomiting", "moderate"),))], WEAK)
    assert p.step_down and any("vomiting" in r.text for r in p.reasons)
    assert p.dose == D(56) and p.direction == "up"  # below the ladder: the lowest step, the prescriber decides
    plan = iv_plan()
    q = t.propose(plan, [tolerated(1, "0.6", vitals_level=Level.HOLD)], WEAK)
    assert (q.dose, q.direction, q.step_down) == (D("0.5"), "down", True)


def test_a_dose_above_the_hard_limit_cannot_be_signed_even_from_a_stored_plan():
    stored = t.TitrationPlan("iv", D("0.5"), (D("0.5"), D("1.0")), D("1.0"), "phq9")
    p = t.propose(stored, [], WEAK)
    lowered = {"dosing.iv_ceiling_mg_per_kg": 0.75, "dosing.iv_max_mg_per_kg": 0.75}
    assert t.check_choice(stored, p, "1.0", override_reason="x", settings=lowered).kind == Outcome.BLOCK
