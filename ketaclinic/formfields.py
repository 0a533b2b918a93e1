"""Django form fields over the strict parsers of :mod:`ketaclinic.inputs`.

Every POST is read by a Django form; these fields give every app the same strict reading of what people type
into number, whole-number, id and date fields, with the refusal shown next to the field. They decide nothing
clinical: bounds are what the record can store, or what the caller passes in.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms

from ketaclinic.inputs import InputError, parse_decimal, parse_id, parse_whole


def posted(request):
    """What a view binds its form to: the submitted fields of a POST, or None on a GET (an unbound form).

    The one place a view's request body is read; every view passes it to a form (``MyForm(posted(request))``)
    and reads only ``form.cleaned_data``."""
    return request.POST if request.method == "POST" else None


class StrictDecimalField(forms.Field):
    """A plain decimal ("70.5", "70,5"): no exponent, NaN or infinity; within [min_value, max_value]; rounded to
    ``places``. Use :meth:`for_model` to take the bounds from a model's DecimalField."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, max_value: Decimal, places: int = 2, min_value: Decimal = Decimal(0), **kwargs):
        self.max_value, self.places, self.min_value = Decimal(max_value), places, Decimal(min_value)
        super().__init__(**kwargs)

    @classmethod
    def for_model(cls, model, field: str, **kwargs) -> StrictDecimalField:
        from ketaclinic.inputs import field_bounds

        max_value, places = field_bounds(model, field)
        kwargs.setdefault("max_value", max_value)
        kwargs.setdefault("places", places)
        return cls(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_decimal(value, str(self.label or "This value"), max_value=self.max_value,
                                 places=self.places, min_value=self.min_value)
        except InputError as e:
            raise forms.ValidationError(e.message, code="invalid") from None


class WholeNumberField(forms.Field):
    """A whole number of at most 18 digits within [min_value, max_value] (no sign, no decimals)."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def __init__(self, *, max_value: int, min_value: int = 0, **kwargs):
        self.max_value, self.min_value = max_value, min_value
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_whole(value, str(self.label or "This value"), min_value=self.min_value,
                               max_value=self.max_value)
        except InputError as e:
            raise forms.ValidationError(e.message, code="invalid") from None


class IdField(forms.Field):
    """A database id carried in a (hidden) field; anything that cannot be an id is refused."""

    widget = forms.HiddenInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = parse_id(value)
        if pk is None:
            raise forms.ValidationError("That choice is not valid; reload the page and try again.", code="invalid")
        return pk


class IsoDateField(forms.DateField):
    """A strict ISO date (YYYY-MM-DD, what ``<input type=date>`` sends) between 1900-01-01 and ``latest``
    (a callable giving the latest acceptable day, or None for no upper bound)."""

    widget = forms.DateInput(attrs={"type": "date"})
    input_formats = ["%Y-%m-%d"]

    def __init__(self, *, latest=None, **kwargs):
        self.latest = latest
        super().__init__(**kwargs)

    def to_python(self, value):
        day = super().to_python(value)
        if day is None:
            return None
        if day < date(1900, 1, 1):
            raise forms.ValidationError("Enter a date from 1900 on.", code="invalid")
        latest = self.latest() if callable(self.latest) else self.latest
        if latest is not None and day > latest:
            raise forms.ValidationError(f"Enter a date on or before {latest.isoformat()}.", code="invalid")
        return day
