"""Forms for the clinic's settings, clinical limits and rooms. Every POST is read by one of these forms; the
services (``clinic/services.py``) still validate and decide, and their refusals are shown next to the field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django import forms
from django.db import models

from ketaclinic.clinic import services
from ketaclinic.clinic.models import Clinic, Room
from ketaclinic.clinical.settings import SETTINGS, SettingSpec
from ketaclinic.formfields import StrictDecimalField, TextField, WholeNumberField

#: Decimal places a fractional clinical setting (mg/kg, a factor) may be entered with.
SETTING_PLACES = 3
MAX_CHAIRS = 20


def strict_text(db_field: models.Field, **kwargs) -> forms.Field | None:
    """A clinic column's form field: a CharField's own length as a :class:`TextField` (control characters refused
    before the database sees them); any other column keeps Django's field."""
    if type(db_field) is models.CharField and not db_field.choices:
        return db_field.formfield(form_class=TextField, **kwargs)
    return db_field.formfield(**kwargs)


class ClinicForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = list(services.CLINIC_FIELDS)
        formfield_callback = strict_text


class RoomForm(forms.Form):
    name = TextField(max_length=Room._meta.get_field("name").max_length)
    kind = forms.ChoiceField(choices=Room.Kind.choices)
    chairs = WholeNumberField(min_value=0, max_value=MAX_CHAIRS, initial=1)


def shown_marker(key: str) -> str:
    """The hidden field sent with a boolean setting's checkbox: an unticked checkbox sends nothing, so the
    marker tells "unticked" from "not on the page"."""
    return f"{key}__shown"


def setting_places(spec: SettingSpec) -> int:
    """Decimal places a fractional setting is read with: SETTING_PLACES, or more when its default or range needs
    them (a maximum infusion rate of 0.01875 mg/kg/min must survive a save of the page unchanged)."""
    exponents = [Decimal(str(v)).normalize().as_tuple().exponent
                 for v in (spec.default, spec.minimum, spec.maximum) if v is not None]
    return max([SETTING_PLACES, *(-e for e in exponents if isinstance(e, int))])


def setting_field(spec: SettingSpec) -> forms.Field:
    """The form field for one clinical setting, bounded by the setting's own range (the core checks it again)."""
    label = f"{spec.label} ({spec.unit})" if spec.unit and spec.unit != "yes/no" else spec.label
    # Every message names the setting: the page lists them above the table as well as next to each field.
    messages = {"required": f"Enter a value for {label}.", "invalid_choice": f"Choose one of the options for {label}."}
    if isinstance(spec.default, bool):
        return forms.BooleanField(required=False, label=label)
    if isinstance(spec.default, str):
        if spec.choices:
            return forms.ChoiceField(choices=[(c, c) for c in spec.choices], label=label, error_messages=messages)
        return TextField(max_length=200, label=label, error_messages=messages)
    if isinstance(spec.default, int):
        return WholeNumberField(min_value=int(spec.minimum or 0), max_value=int(spec.maximum or 10**6), label=label,
                                widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 7}),
                                error_messages=messages)
    return StrictDecimalField(min_value=Decimal(str(spec.minimum or 0)), max_value=Decimal(str(spec.maximum or 10**6)),
                              places=setting_places(spec), label=label, error_messages=messages,
                              widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 7}))


class LimitsForm(forms.Form):
    """One field per clinical setting (:data:`ketaclinic.clinical.settings.SETTINGS`), named by its key.

    A bound form reads only the settings the request sent (a boolean counts as sent when its
    :func:`shown_marker` is), so a partial post changes only those; a sent number left blank is refused."""

    def __init__(self, data=None, *, current: Mapping[str, object], **kwargs):
        kwargs.setdefault("auto_id", "lim-%s")
        super().__init__(data, **kwargs)
        for spec in SETTINGS:
            if self.is_bound and not self._sent(spec):
                continue
            field = setting_field(spec)
            field.initial = current.get(spec.key, spec.default)
            self.fields[spec.key] = field

    def _sent(self, spec: SettingSpec) -> bool:
        key = shown_marker(spec.key) if isinstance(spec.default, bool) else spec.key
        return key in self.data

    def values(self) -> dict[str, object]:
        """The cleaned settings, as the core's types (a fraction as a float)."""
        return {k: float(v) if isinstance(v, Decimal) else v for k, v in self.cleaned_data.items()}


class SwitchClinicForm(forms.Form):
    """Which clinic of the network to work at: one where the person holds a role."""

    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.none(), label="Work at",
        error_messages={"required": "Choose a clinic.",
                        "invalid_choice": "You hold no role at that clinic: choose one from the list."})

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = Clinic.objects.filter(pk__in=user.clinic_ids()).order_by("name", "pk")
