"""Every ICD-10-CM code of the clinic's list falls in the report group clinical.md §5c gives it; a patient with
several diagnoses is in one group, bipolar first."""

from __future__ import annotations

import pytest

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.clinical.eligibility import ICD10_CATEGORY, ICD10_CODES


@pytest.mark.parametrize("code, group", [
    ("F32.2", "unipolar"), ("F33.1", "unipolar"), ("F33.41", "unipolar"), ("f33.9 ", "unipolar"),
    ("F31.30", "bipolar"), ("F31.4", "bipolar"), ("F31.5", "bipolar"), ("F31.81", "bipolar"),
    ("F43.10", "ptsd"), ("F43.12", "ptsd"), ("F41.1", "anxiety"),
    ("F43.2", "other"), ("R45.851", "other"), ("T14.91XA", "other"), ("F10.20", "other"),
])
def test_each_code_falls_in_its_group(code, group):
    assert dg.group_of_code(code) == group


def test_the_groups_agree_with_the_eligibility_categories_of_the_whole_list():
    expected = {"depressive": "unipolar", "bipolar": "bipolar", "ptsd": "ptsd", "anxiety": "anxiety",
                "suicidality": "other"}
    for code in ICD10_CODES:
        assert dg.group_of_code(code) == expected[ICD10_CATEGORY[code]], code


@pytest.mark.parametrize("codes, group", [
    (["F33.2", "F31.4"], "bipolar"),          # bipolar wins over unipolar
    (["F43.12", "F32.1"], "unipolar"),        # depression over PTSD
    (["F41.1", "F43.10"], "ptsd"),            # PTSD over anxiety
    (["R45.851", "F41.1"], "anxiety"),
    (["R45.851"], "other"),
    ([], "other"),
])
def test_a_patient_with_several_diagnoses_is_in_one_group(codes, group):
    assert dg.group_of_patient(codes) == group
    assert dg.group_of_patient(reversed(codes)) == group


def test_prefixes_cover_the_groups_in_priority_order_for_the_database():
    assert dg.PRIORITY == ("bipolar", "unipolar", "ptsd", "anxiety")
    assert set(dg.PREFIXES) == set(dg.PRIORITY) and dg.GROUPS[-1] == dg.OTHER
    for group in dg.PRIORITY:  # a code matches the prefixes of its own group and of no group before it
        for prefix in dg.PREFIXES[group]:
            assert dg.group_of_code(prefix + "0") == group


def test_each_group_has_its_scale():
    assert [dg.scale_for(g) for g in dg.GROUPS] == ["phq9", "phq9", "pcl5", "gad7", "phq9"]
