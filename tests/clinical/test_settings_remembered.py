"""validate_settings remembers its last answers (a vitals save resolves the clinic's settings several times), and
that changes nothing it answers: each call gets its own dict, True is not taken for 1, a refusal is refused again."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.settings import SETTINGS, validate_settings

FLAG = next(s.key for s in SETTINGS if isinstance(s.default, bool))
NUMBER = "vitals.systolic_hold_mmHg"


def test_each_call_gets_its_own_answer():
    first = validate_settings({NUMBER: 175})
    first[NUMBER] = 999
    assert validate_settings({NUMBER: 175})[NUMBER] == 175


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
