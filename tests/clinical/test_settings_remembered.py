"""validate_settings remembers its last answers (a vitals save resolves the clinic's settings several times), and
that changes nothing it answers: an answer is read-only (no caller can change what the next one gets), an answer
given back is returned as it is, True is not taken for 1, a refusal is refused again."""

from __future__ import annotations

import copy
import pickle

import pytest

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.settings import SETTINGS, resolve, validate_settings

FLAG = next(s.key for s in SETTINGS if isinstance(s.default, bool))
NUMBER = "vitals.systolic_hold_mmHg"


def test_an_answer_cannot_be_changed_by_its_caller():
    first = validate_settings({NUMBER: 175})
    for change in (lambda: first.__setitem__(NUMBER, 999), lambda: first.update({NUMBER: 999}),
                   lambda: first.pop(NUMBER), lambda: first.setdefault("x", 1), first.clear, first.popitem,
                   lambda: first.__delitem__(NUMBER)):
        with pytest.raises(TypeError):
            change()
    assert validate_settings({NUMBER: 175})[NUMBER] == 175 == first[NUMBER]
    assert len(first) == len(SETTINGS)


def test_an_answer_given_back_is_taken_as_it_is_and_copies_stay_answers():
    first = validate_settings({NUMBER: 175})
    assert validate_settings(first) is first and resolve(first) is first
    for copied in (copy.copy(first), copy.deepcopy(first), pickle.loads(pickle.dumps(first))):
        assert copied == first and type(copied) is type(first)
    changed = validate_settings({**first, NUMBER: 170})  # a change is a new mapping, checked again
    assert changed[NUMBER] == 170 and first[NUMBER] == 175
    with pytest.raises(ClinicalInputError):
        validate_settings({**first, NUMBER: 5000})


def test_true_is_not_taken_for_one_nor_one_for_true():
    assert validate_settings({FLAG: True})[FLAG] is True
    with pytest.raises(ClinicalInputError):
        validate_settings({FLAG: 1})
    assert validate_settings({FLAG: True})[FLAG] is True


def test_a_refusal_is_refused_every_time_and_a_list_is_refused():
    for _ in range(2):
        with pytest.raises(ClinicalInputError):
            validate_settings({NUMBER: 5000})
    with pytest.raises(ClinicalInputError):
        validate_settings({NUMBER: [175]})
