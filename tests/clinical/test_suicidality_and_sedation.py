"""Issue 10 points 5-6: MADRS item 10 opens the suicide-risk task; MOAA/S deep sedation is urgent and any fall
from the pre-dose score is sedation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.scales import (
    MADRS_ITEM10_ANCHORS,
    SUICIDALITY_TASK_FLAGS,
    madrs_item10_opens_task,
    score,
)
from ketaclinic.clinical.sedation import classify_moaas, sedation_occurred


def madrs(q10: int | None, **others: int) -> dict[str, int | None]:
    answers: dict[str, int | None] = {f"q{i}": 1 for i in range(1, 10)}
    answers["q10"] = q10
    answers.update(others)
    return answers


def task_flags(result):
    return [f for f in result.flags if f.code in SUICIDALITY_TASK_FLAGS and f.urgent]


# ------------------------------------------------------------------ MADRS item 10
def test_same_task_codes_as_phq9_and_qids():
    assert {"phq9_item9", "qids_item12", "madrs_item10", "cssrs_high_risk"} == SUICIDALITY_TASK_FLAGS
    phq = score("phq9", {f"q{i}": 0 for i in range(1, 9)} | {"q9": 1})
    assert [f.code for f in task_flags(phq)] == ["phq9_item9"]


@pytest.mark.parametrize("q10, opens", [(0, False), (1, False), (2, True), (3, True), (4, True), (6, True)])
def test_madrs_item10_default_threshold(q10, opens):
    # anchors: 0-1 enjoys life; 2 weary of life, only fleeting suicidal thoughts; 6 explicit plans
    r = score("madrs", madrs(q10))
    assert bool(task_flags(r)) is opens
    if opens:
        flag = task_flags(r)[0]
        assert flag.code == "madrs_item10" and "C-SSRS" in flag.message and "before any dosing" in flag.message
        assert MADRS_ITEM10_ANCHORS[q10] in flag.message and "Perroud 2009" in flag.source


def test_explicit_plans_always_open_the_task_whatever_the_setting():
    strict = {"scales.madrs_item10_task_at_or_above": 4}
    assert not madrs_item10_opens_task(3, strict)
    assert madrs_item10_opens_task(4, strict)
    assert madrs_item10_opens_task(6, strict)
    assert task_flags(score("madrs", madrs(6), strict))
    with pytest.raises(ClinicalInputError):  # the clinic cannot make 'suicide considered a solution' silent
        madrs_item10_opens_task(5, {"scales.madrs_item10_task_at_or_above": 5})
    assert madrs_item10_opens_task(1, {"scales.madrs_item10_task_at_or_above": 1})


def test_item10_flag_fires_on_an_incomplete_form():
    r = score("madrs", {"q10": 6})
    assert not r.complete and r.total is None and task_flags(r)
    assert not task_flags(score("madrs", {"q1": 6}))  # item 10 not yet rated: nothing to flag


@given(st.integers(0, 6), st.integers(0, 6))
def test_a_higher_item10_never_closes_the_task(a, b):
    lo, hi = sorted((a, b))
    assert madrs_item10_opens_task(hi) >= madrs_item10_opens_task(lo)


# ------------------------------------------------------------------ MOAA/S
def test_moaas_zero_is_loss_of_consciousness_and_urgent():
    a = classify_moaas(0, 5)
    assert a.unresponsive and a.deep and a.urgent and a.sedated
    assert "airway" in a.message and "call the prescriber" in a.message


@pytest.mark.parametrize("level, urgent", [(0, True), (1, True), (2, True), (3, False), (4, False), (5, False)])
def test_deep_sedation_at_two_or_below_is_urgent(level, urgent):
    a = classify_moaas(level, 5)
    assert a.urgent is urgent and a.deep is urgent
    if urgent:
        assert "airway" in a.message and "Stop dosing" in a.message


def test_any_drop_from_pre_dose_is_sedation():
    mild = classify_moaas(4, 5)
    assert mild.sedated and not mild.urgent and "sedated" in mild.message and "down from 5" in mild.message
    assert not classify_moaas(4, 4).sedated  # the patient's own pre-dose level
    assert classify_moaas(3, 4).sedated
    assert not classify_moaas(5, 4).sedated
    no_pre = classify_moaas(4)
    assert no_pre.sedated and "Rate MOAA/S before dosing" in no_pre.message
    assert classify_moaas(2, 2).urgent  # deep sedation is urgent even with no fall from pre-dose


def test_deep_sedation_level_setting_cannot_go_below_two():
    assert classify_moaas(3, 5, settings={"sedation.moaas_urgent_at_or_below": 3}).urgent
    with pytest.raises(ClinicalInputError):
        classify_moaas(2, 5, settings={"sedation.moaas_urgent_at_or_below": 1})


def test_rems_sedation_question():
    assert sedation_occurred(5, [5, 4, 5])
    assert not sedation_occurred(4, [4, 4, 5])  # the old 'any score below 5' rule would have said yes
    assert sedation_occurred(None, [4])
    assert not sedation_occurred(5, [])
    with pytest.raises(ClinicalInputError):
        classify_moaas(6, 5)
    with pytest.raises(ClinicalInputError):
        sedation_occurred(5, [True])


def test_rems_sedation_counts_deep_sedation_with_no_fall_from_pre_dose():
    # pre-dose MOAA/S 2 and still 2: the cockpit raises the urgent deep-sedation alert, so the REMS form must not
    # say "no sedation"
    assert classify_moaas(2, 2).urgent
    assert sedation_occurred(2, [2])
    assert sedation_occurred(0, [0])
    # the clinic's own deep-sedation level is the one the REMS answer uses
    raised = {"sedation.moaas_urgent_at_or_below": 3}
    assert not sedation_occurred(3, [3])
    assert sedation_occurred(3, [3], settings=raised)


@given(st.one_of(st.none(), st.integers(0, 5)), st.lists(st.integers(0, 5), max_size=4), st.integers(2, 4))
def test_rems_sedation_answer_is_the_cockpit_rule(pre, after, deep_at):
    cfg = {"sedation.moaas_urgent_at_or_below": deep_at}
    assert sedation_occurred(pre, after, settings=cfg) == any(
        classify_moaas(s, pre, settings=cfg).sedated for s in after)


@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5))
def test_deeper_sedation_is_never_less_alarming(pre, a, b):
    lo, hi = sorted((a, b))
    deeper, lighter = classify_moaas(lo, pre), classify_moaas(hi, pre)
    assert deeper.sedated >= lighter.sedated and deeper.urgent >= lighter.urgent


@pytest.mark.parametrize("level, code", [(0, "moaas_unresponsive"), (1, "moaas_deep_sedation"),
                                         (2, "moaas_deep_sedation"), (3, None), (5, None)])
def test_moaas_rating_carries_the_urgent_flag(level, code):
    # the apps store the scale's flags with the rating, so the cockpit sees the alert without the pre-dose score
    flags = score("moaas", {"level": level}).flags
    assert [f.code for f in flags] == ([code] if code else [])
    assert all(f.urgent and "airway" in f.message.lower() for f in flags)
    assert score("moaas", {"level": 3}, {"sedation.moaas_urgent_at_or_below": 3}).flags[0].code == \
        "moaas_deep_sedation"
