from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.identifiers import (
    check_dea_number,
    check_npi,
    dea_check_digit,
    normalise_dea_number,
    npi_check_digit,
    npi_is_valid,
)


def test_reference_dea_example_is_valid():
    # clinical.md §6: AP5836727 -> (5+3+7) + 2*(8+6+2) = 47, check digit 7
    assert dea_check_digit("583672") == 7
    r = check_dea_number("AP5836727")
    assert r.valid and r.problems == ()
    assert r.registrant_type is not None


def test_dea_last_name_and_business():
    assert check_dea_number("AP5836727", last_name="Parker").valid
    r = check_dea_number("AP5836727", last_name="Smith")
    assert not r.valid and "last-name initial 'S'" in r.problems[0]
    r = check_dea_number("AP5836727", business=True)
    assert not r.valid and "'9'" in r.problems[0]
    assert check_dea_number("A95836727", business=True).valid


def test_dea_bad_check_digit():
    r = check_dea_number("AP5836728")
    assert not r.valid
    assert r.problems == ("check digit is 8 but the checksum gives 7",)


def test_dea_registrant_types():
    assert check_dea_number("MP5836727").valid
    r = check_dea_number("XP5836727")
    assert not r.valid and "DATA-waiver" in r.problems[0]
    r = check_dea_number("ZP5836727")
    assert not r.valid and "registrant type" in r.problems[0]


def test_dea_suffix_and_normalise():
    assert check_dea_number("AP5836727-ABC123").valid
    assert normalise_dea_number(" ap 583 6727 ") == "AP5836727"
    with pytest.raises(ClinicalInputError) as e:
        normalise_dea_number("AP583672")
    assert e.value.field == "dea_number"
    assert "7 digits" in str(e.value)


@pytest.mark.parametrize("bad", ["", "A5836727", "APP583672", "AP58367271", "AP583672X", "1P5836727"])
def test_dea_bad_formats(bad):
    assert not check_dea_number(bad).valid


@given(st.sampled_from("ABFGMPR"), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ9"), st.text("0123456789", min_size=6, max_size=6))
def test_dea_generated_numbers_validate(first, second, six):
    number = f"{first}{second}{six}{dea_check_digit(six)}"
    assert check_dea_number(number).valid
    wrong = (dea_check_digit(six) + 1) % 10
    assert not check_dea_number(f"{first}{second}{six}{wrong}").valid


def test_npi_cms_example():
    # CMS worked example: base 123456789 -> check digit 3
    assert npi_check_digit("123456789") == 3
    assert npi_is_valid("1234567893")
    assert check_npi(" 1234-567893 ") == "1234567893"
    assert not npi_is_valid("1234567890")


@pytest.mark.parametrize(
    "bad, fragment",
    [("", "empty"), ("12345", "exactly 10 digits"), ("12345678930", "exactly 10 digits"),
     ("123456789A", "digits only"), ("1234567890", "check digit")],
)
def test_npi_errors_are_specific(bad, fragment):
    with pytest.raises(ClinicalInputError) as e:
        check_npi(bad)
    assert fragment in str(e.value)
    assert e.value.field == "npi"


@given(st.text("0123456789", min_size=9, max_size=9))
def test_npi_exactly_one_check_digit(base):
    valid = [d for d in range(10) if npi_is_valid(base + str(d))]
    assert valid == [npi_check_digit(base)]


@pytest.mark.parametrize("dea", ["AP٥836727", "AP５836727", "AP5836７27"])
def test_a_dea_number_with_digits_of_another_script_is_not_valid(dea):
    assert not check_dea_number(dea).valid


@pytest.mark.parametrize("dea", ["AP٥836727", "ＡP5836727", "AP583672²"])
def test_the_dea_message_names_the_letters_and_digits_it_takes(dea):
    assert "2 letters A-Z followed by 7 digits 0-9" in check_dea_number(dea).problems[0]


@pytest.mark.parametrize("nine", ["12345678²", "١٢٣٤٥٦٧٨٩", "１２３４５６７８９"])
def test_the_npi_check_digit_takes_ascii_digits_only(nine):
    with pytest.raises(ClinicalInputError) as e:
        npi_check_digit(nine)
    assert e.value.field == "npi" and "0-9" in str(e.value)
