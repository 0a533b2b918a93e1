from __future__ import annotations

from dataclasses import replace

import pytest

from ketaclinic.clinical.eligibility import (
    BIPOLAR_CODES,
    DEPRESSIVE_CODES,
    HISTORY_FLAGS,
    ICD10_CODES,
    MEDICATION_CLASSES,
    PTSD_CODES,
    Drug,
    EligibilityInput,
    TreatmentTrial,
    assess_eligibility,
)
from ketaclinic.clinical.errors import ClinicalInputError

FAILED = TreatmentTrial("sertraline", "200 mg", 8, True, "no_response")
PARTIAL = TreatmentTrial("venlafaxine", "225 mg", 10, True, "partial")
BASE = EligibilityInput(Drug.KETAMINE, ["F33.2"], [FAILED, PARTIAL], frozenset(), frozenset(), 120, 80, 40)


def codes(decision):
    return {r.code: r.severity for r in decision.reasons}


def test_clean_trd_patient_is_eligible():
    d = assess_eligibility(BASE)
    assert d.outcome == "eligible" and d.reasons == () and d.adequate_trials == 2


def test_icd10_list_covers_reference():
    for c in ["F32.0", "F32.1", "F32.2", "F32.3", "F33.0", "F33.1", "F33.2", "F33.3", "F33.9", "F31.30", "F31.4",
              "F31.5", "F31.81", "F43.10", "F43.11", "F43.12", "R45.851", "F41.1"]:
        assert c in ICD10_CODES
    assert "F33.2" in DEPRESSIVE_CODES and "F31.4" in BIPOLAR_CODES and "F43.12" in PTSD_CODES


@pytest.mark.parametrize("flag", ["aneurysmal_vascular_disease", "arteriovenous_malformation",
                                  "intracerebral_haemorrhage", "hypersensitivity"])
@pytest.mark.parametrize("drug", [Drug.KETAMINE, Drug.ESKETAMINE])
def test_absolute_contraindications(flag, drug):
    d = assess_eligibility(replace(BASE, drug=drug, history_flags=frozenset({flag})))
    assert d.outcome == "not_eligible" and codes(d)[flag] == "absolute"
    assert "§2" in next(r.source for r in d.reasons if r.code == flag)


@pytest.mark.parametrize("flag", ["psychosis", "substance_use_disorder", "drug_seeking", "uncontrolled_hypertension",
                                  "cardiovascular_disease", "pregnancy", "breastfeeding", "hepatic_impairment"])
def test_relative_contraindications_need_review(flag):
    d = assess_eligibility(replace(BASE, history_flags=frozenset({flag})))
    assert d.outcome == "review" and codes(d)[flag] == "relative"


def test_every_reason_listed_and_absolute_wins():
    d = assess_eligibility(replace(BASE, history_flags=frozenset({"psychosis", "hypersensitivity"}),
                                   medication_classes=frozenset({"benzodiazepine", "maoi"}),
                                   baseline_systolic_mmHg=150))
    assert d.outcome == "not_eligible"
    assert codes(d) == {"psychosis": "relative", "hypersensitivity": "absolute", "benzodiazepine": "precaution",
                        "maoi": "precaution", "baseline_bp_elevated": "relative"}
    assert all(r.source for r in d.reasons)


def test_medication_precautions_follow_setting():
    d = assess_eligibility(replace(BASE, medication_classes=frozenset(MEDICATION_CLASSES)))
    assert d.outcome == "review" and set(codes(d).values()) == {"precaution"}
    d = assess_eligibility(replace(BASE, medication_classes=frozenset({"opioid"})),
                           {"eligibility.precautions_need_review": False})
    assert d.outcome == "eligible" and "opioid" in codes(d)


def test_treatment_resistance_counting():
    short = TreatmentTrial("fluoxetine", "20 mg", 4, True, "no_response")
    low = TreatmentTrial("citalopram", "10 mg", 8, False, "no_response")
    ok = TreatmentTrial("bupropion", "300 mg", 8, True, "response")
    d = assess_eligibility(replace(BASE, trials=[FAILED, short, low, ok]))
    assert d.adequate_trials == 1 and codes(d)["treatment_resistance"] == "relative" and d.outcome == "review"
    d = assess_eligibility(replace(BASE, trials=[]))
    assert codes(d)["treatment_resistance"] == "missing"
    d = assess_eligibility(replace(BASE, trials=[FAILED, short]), {"eligibility.adequate_trial_weeks": 4})
    assert d.adequate_trials == 2 and d.outcome == "eligible"
    # PTSD alone needs no antidepressant-trial history
    assert assess_eligibility(replace(BASE, diagnoses=["F43.12"], trials=[])).outcome == "eligible"


def test_baseline_bp_edges():
    assert assess_eligibility(replace(BASE, baseline_systolic_mmHg=140, baseline_diastolic_mmHg=90)).outcome == "eligible"
    assert assess_eligibility(replace(BASE, baseline_systolic_mmHg=141)).outcome == "review"
    assert assess_eligibility(replace(BASE, baseline_diastolic_mmHg=91)).outcome == "review"
    d = assess_eligibility(replace(BASE, baseline_systolic_mmHg=None))
    assert codes(d)["baseline_bp_missing"] == "missing" and d.outcome == "review"


def test_esketamine_specifics():
    esk = replace(BASE, drug=Drug.ESKETAMINE)
    assert assess_eligibility(esk).outcome == "eligible"
    assert "esketamine_indication" in codes(assess_eligibility(replace(esk, diagnoses=["F43.12"])))
    assert "age_missing" in codes(assess_eligibility(replace(esk, age_years=None)))
    assert codes(assess_eligibility(replace(esk, age_years=70)))["older_adult"] == "precaution"
    mdsi = assess_eligibility(replace(esk, diagnoses=["F33.2", "R45.851"], trials=[]))
    assert "treatment_resistance" not in codes(mdsi) and codes(mdsi)["suicidality"] == "relative"
    assert mdsi.outcome == "review"


def test_psychotic_features_and_minor():
    assert codes(assess_eligibility(replace(BASE, diagnoses=["F33.3"])))["psychotic_features"] == "relative"
    assert codes(assess_eligibility(replace(BASE, age_years=16)))["minor"] == "relative"


@pytest.mark.parametrize("change, field", [
    ({"history_flags": frozenset({"vampirism"})}, "history_flags"),
    ({"medication_classes": frozenset({"ssri"})}, "medication_classes"),
    ({"diagnoses": ["depression"]}, "diagnoses"),
    ({"baseline_systolic_mmHg": 500}, "baseline_systolic_mmHg"),
    ({"baseline_systolic_mmHg": 80, "baseline_diastolic_mmHg": 90}, "baseline_diastolic_mmHg"),
    ({"age_years": -1}, "age_years"),
    ({"trials": [TreatmentTrial("x", "y", -2, True, "no_response")]}, "trials"),
    ({"trials": [TreatmentTrial("x", "y", 8, True, "failed")]}, "trials"),
    ({"drug": "ketamine-ish"}, "drug"),
])
def test_bad_input(change, field):
    with pytest.raises(ClinicalInputError) as e:
        assess_eligibility(replace(BASE, **change))
    assert e.value.field == field


def test_history_flags_catalogue():
    for f in ["psychosis", "substance_use_disorder", "uncontrolled_hypertension", "cardiovascular_disease",
              "aneurysmal_vascular_disease", "arteriovenous_malformation", "intracerebral_haemorrhage", "pregnancy",
              "breastfeeding", "hepatic_impairment", "hypersensitivity", "drug_seeking"]:
        assert f in HISTORY_FLAGS
    assert MEDICATION_CLASSES == ("benzodiazepine", "other_sedative", "opioid", "stimulant", "maoi")


def test_suicidality_always_needs_prescriber_review_even_with_precautions_off():
    """A more symptomatic history never makes a patient look more eligible (review finding)."""
    from ketaclinic.clinical.eligibility import Drug, EligibilityInput, assess_eligibility

    base = dict(drug=Drug.ESKETAMINE, trials=(), history_flags=frozenset(), medication_classes=frozenset(),
                baseline_systolic_mmHg=120, baseline_diastolic_mmHg=80, age_years=40)
    settings = {"eligibility.precautions_need_review": False}
    with_attempt = assess_eligibility(EligibilityInput(diagnoses=("F33.2", "R45.851", "T14.91XA"), **base), settings)
    assert with_attempt.outcome == "review"
    assert any(r.code == "suicidality" and r.severity == "relative" for r in with_attempt.reasons)


# ------------------------------------------------------------------ issue 10 point 7: adults only, age never silent
@pytest.mark.parametrize("age, outcome", [(16, "not_eligible"), (17, "not_eligible"), (18, "eligible"),
                                          (40, "eligible")])
def test_esketamine_is_for_adults_only(age, outcome):
    d = assess_eligibility(replace(BASE, drug=Drug.ESKETAMINE, age_years=age))
    assert d.outcome == outcome
    if outcome == "not_eligible":
        r = next(r for r in d.reasons if r.code == "esketamine_under_18")
        assert r.severity == "absolute" and "adults" in r.text and "prescriber" in r.text
        assert "minor" not in codes(d)  # one reason, not two


def test_esketamine_age_floor_cannot_be_lowered_by_a_setting():
    lowered = {"eligibility.min_age_years": 0}
    d = assess_eligibility(replace(BASE, drug=Drug.ESKETAMINE, age_years=17), lowered)
    assert d.outcome == "not_eligible" and codes(d)["esketamine_under_18"] == "absolute"
    # a clinic may raise its own adult age: then a 19-year-old goes to review, for either drug
    raised = {"eligibility.min_age_years": 21}
    assert codes(assess_eligibility(replace(BASE, drug=Drug.ESKETAMINE, age_years=19), raised))["minor"] == "relative"
    assert codes(assess_eligibility(replace(BASE, age_years=19), raised))["minor"] == "relative"
    # racemic ketamine keeps the clinic's setting (off-label use; no label floor)
    assert assess_eligibility(replace(BASE, age_years=16), lowered).outcome == "eligible"


@pytest.mark.parametrize("drug", [Drug.KETAMINE, Drug.ESKETAMINE])
def test_missing_age_never_passes_silently(drug):
    d = assess_eligibility(replace(BASE, drug=drug, age_years=None), {"eligibility.precautions_need_review": False})
    assert d.outcome == "review"
    assert [r.code for r in d.needs_information] == ["age_missing"]
    assert "date of birth" in d.needs_information[0].text
    assert assess_eligibility(replace(BASE, drug=drug)).needs_information == ()
