"""Django form fields over the strict parsers of :mod:`ketaclinic.inputs`.

Every POST is read by a Django form; these fields give every app the same strict reading of what people type
into text, number, whole-number, id and date fields, with the refusal shown next to the field. They decide nothing
clinical: bounds are what the record can store, or what the caller passes in.

Free text is a :class:`TextField` (one line) or :func:`note_field` (several lines): a length the record can keep,
checked before the database sees it, and no control characters (PostgreSQL cannot store NUL; the others are
invisible in the record). Django's own ``CharField`` refuses only NUL and needs no ``max_length``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.utils import timezone
from django.utils.encoding import escape_uri_path

from ketaclinic.inputs import (
    PHONE_MESSAGE,
    InputError,
    control_character,
    control_character_message,
    nonexistent_time_message,
    parse_decimal,
    parse_id,
    parse_whole,
    phone_number,
    wall_clock_moment,
)


def posted(request):
    """What a view binds its form to: the submitted fields of a POST, or None on a GET (an unbound form).

    The one place a view's request body is read; every view passes it to a form (``MyForm(posted(request))``)
    and reads only ``form.cleaned_data``."""
    return request.POST if request.method == "POST" else None


#: The tag of a refusal said on the page a form's POST redirects back to, before the address the form posted to:
#: the page marks the message with that address (templates/base.html), and static/js/app.js gives what was typed
#: back to the form that posted there (one marked ``data-keep-typed``), so nobody types it twice.
REFUSED = "refused:"


def say_refused(request, message: str) -> None:
    """A refusal of what a form posted, said on the page the view redirects back to (nothing was saved): the
    message, marked with the address posted to, so that the page gives that form back what was typed in it."""
    messages.error(request, message, extra_tags=REFUSED + escape_uri_path(request.path))  # as the page's URL spells it


def refused_address(message) -> str:
    """The address a refusal said by :func:`say_refused` was posted to; "" for any other message."""
    tags = message.extra_tags or ""
    return tags.removeprefix(REFUSED) if tags.startswith(REFUSED) else ""


def show_refusal(form, errors) -> None:
    """A service's refusals (``{field: message}``) on the form: next to the field each names, else above the form."""
    for field, msg in errors.items():
        form.add_error(field if field in form.fields else None, msg)


class TextField(forms.CharField):
    """Free text typed by a person: stripped, at most ``max_length`` characters (required: what the record keeps),
    and no control characters; ``multiline`` text (a textarea by default) keeps tabs and line breaks.

    The control-character check comes first, so a pasted NUL or escape is named as such rather than counted."""

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs):
        self.multiline = multiline
        if multiline:
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        super().__init__(max_length=max_length, **kwargs)
        self.error_messages.setdefault("max_length", "Use at most %(limit_value)d characters (this has %(show_value)d).")

    def to_python(self, value):
        text = super().to_python(value)
        code = control_character(text, multiline=self.multiline)
        if code is not None:
            raise forms.ValidationError(control_character_message(str(self.label or "This field"), code,
                                                                  multiline=self.multiline), code="control_character")
        return text


class PhoneField(TextField):
    """A phone number as typed ("303-555-0142", "+44 20 7946 0958"), kept as typed, refused unless it can be dialled
    (:func:`ketaclinic.inputs.phone_number`, the rule the text reminders dial by): "abc" or seven digits would be
    taken, and no reminder or call would ever reach the patient."""

    def __init__(self, *, max_length: int = 32, **kwargs):
        super().__init__(max_length=max_length, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if text and not phone_number(text):
            raise forms.ValidationError(PHONE_MESSAGE.format(label=str(self.label or "Phone")), code="phone")
        return text


def note_field(*, max_length: int, rows: int = 3, **kwargs) -> TextField:
    """Several lines of free text (a note, circumstances, a reason): a :class:`TextField` in a textarea."""
    return TextField(max_length=max_length, multiline=True, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


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
        if isinstance(value, str) and not value.isascii():  # strptime reads "２０２６" as 2026
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        day = super().to_python(value)
        if day is None:
            return None
        if day < date(1900, 1, 1):
            raise forms.ValidationError("Enter a date from 1900 on.", code="invalid")
        latest = self.latest() if callable(self.latest) else self.latest
        if latest is not None and day > latest:
            raise forms.ValidationError(f"Enter a date on or before {latest.isoformat()}.", code="invalid")
        return day


class ClinicDateTimeField(forms.DateTimeField):
    """A moment typed as clinic wall-clock time (``<input type=datetime-local>``: YYYY-MM-DDTHH:MM), read in the
    active (clinic) time zone.

    On the night clocks fall back, 01:00-01:59 happens twice: such a time is read as the earlier of the two
    (the first occurrence), so a deadline counted from it can only come earlier, never later. On the night
    clocks spring forward, 02:00-02:59 does not exist: it is refused with a message naming the gap. (Django's
    own field refuses both with a message a nurse cannot act on.)"""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value if timezone.is_aware(value) else self._aware(value)
        if not str(value).isascii():  # strptime reads other scripts' digits
            raise forms.ValidationError("Enter a date and time (YYYY-MM-DD HH:MM).", code="invalid")
        naive = None
        for fmt in self.input_formats:
            try:
                naive = datetime.strptime(str(value).strip(), fmt)
                break
            except ValueError:
                continue
        if naive is None:
            raise forms.ValidationError("Enter a date and time (YYYY-MM-DD HH:MM).", code="invalid")
        return self._aware(naive)

    @staticmethod
    def _aware(naive: datetime) -> datetime:
        tz = timezone.get_current_timezone()
        moment = wall_clock_moment(naive.date(), naive.time(), tz)
        if moment is None:
            raise forms.ValidationError(nonexistent_time_message(naive.date(), naive.time(), tz), code="nonexistent")
        return moment
