"""Money typed by people is read strictly into whole cents; shown as the clinic shows it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.billing.forms import MoneyField
from ketaclinic.billing.money import MAX_CENTS, MoneyError, dollars, parse_cents


@pytest.mark.parametrize("typed, cents", [("1,234.50", 123450), ("1234.5", 123450), ("$40", 4000), ("0.05", 5),
                                          (" 12.00 ", 1200), ("1,000,000.00", 100000000), ("7.1", 710)])
def test_amounts_are_read_to_the_cent(typed, cents):
    assert parse_cents(typed) == cents


@pytest.mark.parametrize("typed, message", [("-1.00", "negative"), ("$-1", "negative"), ("(5.00)", "negative"),
                                            ("1.005", "two decimals"), ("1e3", "such as"), ("1,23.40", "such as"),
                                            ("12,3456.00", "such as"), ("0", "more than 0.00"), ("0.00", "more than"),
                                            ("١٢٣", "digits 0-9"), ("NaN", "such as"), ("1 000", "such as"),
                                            ("", "such as"), ("10000000.01", "more than")])
def test_bad_amounts_are_refused_with_a_message(typed, message):
    with pytest.raises(MoneyError, match=message):
        parse_cents(typed)


def test_zero_is_allowed_only_when_asked():
    assert parse_cents("0.00", allow_zero=True) == 0


@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_what_is_shown_reads_back_to_the_same_cents(cents):
    assert parse_cents(dollars(cents)) == cents


def test_the_form_field_refuses_next_to_the_field():
    from django import forms

    field = MoneyField(label="Amount")
    assert field.clean("1,234.50") == 123450
    with pytest.raises(forms.ValidationError, match="cannot be negative"):
        field.clean("-3")
