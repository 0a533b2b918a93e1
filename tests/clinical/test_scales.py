from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.scales import SCALES, required_items, score

EXPECTED_KEYS = {"phq9", "gad7", "pcl5", "qids_sr16", "madrs", "cadss", "cssrs_screener", "moaas"}


def full(code, value):
    return {i.id: value for i in SCALES[code].items}


def spread(total, items, most):
    """Answers q1..q<items>, each at most ``most``, filled from q1 until they add up to ``total``."""
    answers = {}
    left = total
    for i in range(1, items + 1):
        answers[f"q{i}"] = min(most, left)
        left -= answers[f"q{i}"]
    return answers


def test_scale_catalogue():
    assert set(SCALES) == EXPECTED_KEYS
    assert len(SCALES["phq9"].items) == 9 and SCALES["phq9"].max_total == 27
    assert len(SCALES["gad7"].items) == 7 and SCALES["gad7"].max_total == 21
    assert len(SCALES["pcl5"].items) == 20 and SCALES["pcl5"].max_total == 80
    assert len(SCALES["qids_sr16"].items) == 16 and SCALES["qids_sr16"].max_total == 27
    assert len(SCALES["madrs"].items) == 10 and SCALES["madrs"].max_total == 60
    assert len(SCALES["cadss"].items) == 23 and SCALES["cadss"].max_total == 92
    assert SCALES["moaas"].max_total == 5
    for code, s in SCALES.items():
        assert s.source, code
        for it in s.items:
            if not s.reproducible_text:
                assert it.text is None, (code, it.id)
            else:
                assert it.text, (code, it.id)


def test_loinc_codes_from_reference():
    phq = SCALES["phq9"]
    assert phq.loinc_panel == "44249-1" and phq.loinc_total == "44261-6"
    assert [i.loinc for i in phq.items] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
    assert [o.loinc_answer for o in phq.items[0].options] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert SCALES["gad7"].loinc_total == "70274-6"


@pytest.mark.parametrize(
    "total, band",
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe")],
)
def test_phq9_band_edges(total, band):
    answers = spread(total, 8, 3)  # keep item 9 at 0 unless needed
    answers["q9"] = total - sum(answers.values())
    r = score("phq9", answers)
    assert r.complete and r.total == total and r.band == band


def test_phq9_item9_flag_even_when_incomplete():
    r = score("phq9", {"q9": 1})
    assert not r.complete and r.total is None
    assert [f.code for f in r.flags] == ["phq9_item9"] and r.flags[0].urgent
    assert "q1" in r.missing and "no proration" in r.detail
    assert score("phq9", full("phq9", 0)).flags == ()


@pytest.mark.parametrize("total, band", [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                                         (15, "severe"), (21, "severe")])
def test_gad7_band_edges(total, band):
    r = score("gad7", spread(total, 7, 3))
    assert r.total == total and r.band == band


@pytest.mark.parametrize("total, band", [(6, "normal"), (7, "mild"), (19, "mild"), (20, "moderate"), (34, "moderate"),
                                         (35, "severe"), (60, "severe")])
def test_madrs_band_edges(total, band):
    assert score("madrs", spread(total, 10, 6)).band == band


def qids(**overrides):
    a = {f"q{i}": 0 for i in range(1, 17)}
    a.update(overrides)
    return a


def test_qids_nine_domain_algorithm():
    # sleep = max(1-4) = 3, appetite = max(6-9) = 2, psychomotor = max(15,16) = 1, others single items
    r = score("qids_sr16", qids(q1=3, q2=2, q4=1, q5=1, q6=2, q9=1, q12=0, q15=1, q16=1, q14=2))
    assert r.subscores["sleep"] == 3 and r.subscores["appetite_weight"] == 2 and r.subscores["psychomotor"] == 1
    assert r.total == 3 + 1 + 2 + 0 + 0 + 0 + 0 + 2 + 1 == 9
    assert r.band == "mild"
    # the 16-item sum would be wrong
    assert r.total != sum(qids(q1=3, q2=2, q4=1, q5=1, q6=2, q9=1, q15=1, q16=1, q14=2).values())


@pytest.mark.parametrize("total, band", [(5, "none"), (6, "mild"), (10, "mild"), (11, "moderate"), (15, "moderate"),
                                         (16, "severe"), (20, "severe"), (21, "very severe"), (27, "very severe")])
def test_qids_band_edges(total, band):
    singles = [5, 10, 11, 13, 14]  # domains that are single items (q12 kept at 0)
    a = qids()
    left = total
    for d in ["q1", "q6", "q15", *[f"q{i}" for i in singles], "q12"]:
        a[d] = min(3, left)
        left -= a[d]
    r = score("qids_sr16", a)
    assert r.total == total and r.band == band


def test_qids_either_or_items_and_item12():
    a = qids(q12=1)
    del a["q7"], a["q9"]
    r = score("qids_sr16", a)
    assert r.complete and [f.code for f in r.flags] == ["qids_item12"]
    del a["q6"]
    r = score("qids_sr16", a)
    assert not r.complete and r.total is None and "q6 or q7" in r.missing


def test_pcl5_scoring_and_dsm5_rule():
    a = full("pcl5", 0)
    a.update(q1=2, q6=2, q8=2, q9=3, q15=2, q16=4)
    r = score("pcl5", a)
    assert r.total == 15 and r.dsm5_criteria_met is True and r.above_cutpoint is False
    assert dict(r.subscores) == {"B": 2, "C": 2, "D": 5, "E": 6}
    a["q9"] = 1  # only one D item endorsed
    r = score("pcl5", a)
    assert r.dsm5_criteria_met is False
    r = score("pcl5", full("pcl5", 1))
    assert r.total == 20 and r.dsm5_criteria_met is False


def test_pcl5_cutpoint_edges_and_setting():
    a = full("pcl5", 1)
    a.update(q1=2, q2=2, q3=2, q4=2, q5=2, q6=2)  # total 26
    a.update(q7=2, q8=2, q9=2, q10=2, q11=2)  # total 31
    assert score("pcl5", a).total == 31 and score("pcl5", a).above_cutpoint is True
    a["q11"] = 1
    assert score("pcl5", a).above_cutpoint is False
    a["q11"] = 2
    assert score("pcl5", a, settings={"outcomes.pcl5_cutpoint": 33}).above_cutpoint is False


def test_pcl5_incomplete_cluster_rule():
    r = score("pcl5", {"q1": 3, "q6": 2, "q8": 2, "q9": 2, "q15": 2, "q16": 2})
    assert not r.complete and r.total is None and r.dsm5_criteria_met is True
    r = score("pcl5", {"q6": 0, "q7": 1})
    assert r.dsm5_criteria_met is False


def test_cssrs_flow():
    assert required_items("cssrs_screener", {}) == ("q1", "q2", "q6")
    assert required_items("cssrs_screener", {"q1": True, "q2": True}) == ("q1", "q2", "q3", "q4", "q5", "q6")
    assert required_items("cssrs_screener", {"q2": False, "q6": True}) == ("q1", "q2", "q6", "q6_recent")
    # A yes to 3, 4 or 5 outside the flow brings the skipped questions back into it.
    assert required_items("cssrs_screener", {"q2": False, "q4": True}) == ("q1", "q2", "q3", "q4", "q5", "q6")


@pytest.mark.parametrize("answers", [
    {"q1": False, "q2": False, "q4": True},  # intent answered although q2 was no (e.g. a form showing every item)
    {"q1": False, "q2": False, "q5": True, "q6": False},
    {"q1": False, "q2": False, "q6": False, "q6_recent": True},  # recent behaviour with lifetime behaviour "no"
    {"q6_recent": True},
])
def test_cssrs_answers_outside_the_flow_are_high_risk_not_refused(answers):
    """A more symptomatic answer never produces a less alarming result (issue 3; clinical.md §4 high-risk rule)."""
    r = score("cssrs_screener", answers)
    assert r.band == "high" and any(f.urgent and f.code == "cssrs_high_risk" for f in r.flags)
    assert "outside the flow" in r.detail or "clarify" in r.detail or not r.complete


def test_cssrs_out_of_flow_no_answers_are_kept_harmlessly():
    r = score("cssrs_screener", {"q1": False, "q2": False, "q3": False, "q6": False})
    assert r.complete and r.band == "no risk" and "q3" in r.detail


@pytest.mark.parametrize(
    "answers, band, urgent",
    [
        ({"q1": False, "q2": False, "q6": False}, "no risk", False),
        ({"q1": True, "q2": False, "q6": False}, "low", False),
        ({"q1": True, "q2": True, "q3": False, "q4": False, "q5": False, "q6": False}, "low", False),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False}, "moderate", False),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": False}, "moderate", False),
        ({"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}, "high", True),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": True, "q6": False}, "high", True),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": True}, "high", True),
    ],
)
def test_cssrs_triage(answers, band, urgent):
    r = score("cssrs_screener", answers)
    assert r.complete and r.total is None and r.band == band
    assert any(f.urgent for f in r.flags) is urgent


def test_cssrs_high_risk_known_before_form_complete():
    r = score("cssrs_screener", {"q1": True, "q2": True, "q4": True})
    assert not r.complete and r.band == "high" and r.flags[0].urgent
    r = score("cssrs_screener", {"q1": True})
    assert r.band is None and r.missing == ("q2", "q6")


def test_moaas():
    r = score("moaas", {"level": 0})
    assert r.total == 0 and r.flags[0].code == "moaas_unresponsive" and r.flags[0].urgent
    assert score("moaas", {"level": 5}).band == "alert"
    assert score("moaas", {"level": 3}).band == "sedated"
    assert not score("moaas", {}).complete


@pytest.mark.parametrize(
    "code, answers, field, fragment",
    [
        ("phq9", {"q1": 4}, "q1", "out of range 0-3"),
        ("phq9", {"q1": -1}, "q1", "out of range"),
        ("phq9", {"q10": 1}, "q10", "no item"),
        ("phq9", {"q1": 1.5}, "q1", "whole number"),
        ("phq9", {"q1": True}, "q1", "needs a number"),
        ("phq9", {"q1": "2"}, "q1", "whole number"),
        ("madrs", {"q1": 7}, "q1", "0-6"),
        ("pcl5", {"q21": 0}, "q21", "no item"),
        ("cadss", {"q24": 0}, "q24", "no item"),
        ("cssrs_screener", {"q1": 2}, "q1", "out of range 0-1"),
        ("moaas", {"level": 6}, "level", "out of range"),
        ("phq-9", {}, "scale_code", "unknown scale"),
    ],
)
def test_bad_input_raises(code, answers, field, fragment):
    with pytest.raises(ClinicalInputError) as e:
        score(code, answers)
    assert e.value.field == field and fragment in str(e.value)


NUMERIC = ["phq9", "gad7", "pcl5", "qids_sr16", "madrs", "cadss", "moaas"]


@st.composite
def complete_answers(draw, code=None):
    code = code or draw(st.sampled_from(NUMERIC))
    scale = SCALES[code]
    return code, {it.id: draw(st.sampled_from(sorted(it.values))) for it in scale.items}


@given(complete_answers())
def test_total_always_within_range(case):
    code, answers = case
    r = score(code, answers)
    s = SCALES[code]
    assert r.complete and s.min_total <= r.total <= s.max_total
    if s.bands:
        assert r.band is not None


@given(complete_answers(), st.data())
def test_more_symptomatic_answer_never_lowers_score(case, data):
    code, answers = case
    s = SCALES[code]
    item = data.draw(st.sampled_from(s.items))
    higher = [v for v in item.values if v > answers[item.id]]
    if not higher:
        return
    worse = dict(answers, **{item.id: data.draw(st.sampled_from(sorted(higher)))})
    before, after = score(code, answers).total, score(code, worse).total
    if s.higher_is_worse:
        assert after >= before
    else:  # MOAA/S runs the other way: a more sedated (more symptomatic) level is a lower value
        assert after > before and score(code, worse).band != "unresponsive (loss of consciousness)"


ORDER = ("no risk", "low", "moderate", "high")


@st.composite
def cssrs_complete(draw):
    a = {"q1": draw(st.booleans()), "q2": draw(st.booleans())}
    if a["q2"]:
        a.update(q3=draw(st.booleans()), q4=draw(st.booleans()), q5=draw(st.booleans()))
    a["q6"] = draw(st.booleans())
    if a["q6"]:
        a["q6_recent"] = draw(st.booleans())
    return a


@given(cssrs_complete(), st.data())
def test_cssrs_yes_never_lowers_risk(answers, data):
    r = score("cssrs_screener", answers)
    assert r.complete and r.band in ORDER
    no_items = [k for k, v in answers.items() if not v and k != "q2" and k != "q6"]
    if not no_items:
        return
    k = data.draw(st.sampled_from(no_items))
    worse = dict(answers, **{k: True})
    assert ORDER.index(score("cssrs_screener", worse).band) >= ORDER.index(r.band)
