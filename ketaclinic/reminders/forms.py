from __future__ import annotations

from django import forms

from ketaclinic.formfields import TextField, WholeNumberField
from ketaclinic.reminders.models import Channel


class InboundSmsForm(forms.Form):
    """What any SMS provider's webhook must post (a small adapter in front maps its own field names)."""

    from_number = TextField(max_length=32)
    text = TextField(max_length=160)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    allowed = forms.TypedChoiceField(choices=[("yes", "Consents"), ("no", "Does not consent / opted out")],
                                     coerce=lambda v: v == "yes", label="Decision")
    note = TextField(max_length=200, required=False, label="How it was given (e.g. signed form, by phone)")


class TimeZoneForm(forms.Form):
    time_zone = TextField(max_length=64, required=False, label="Patient's time zone (blank: the clinic's)")


def _hours(label: str) -> WholeNumberField:
    return WholeNumberField(min_value=1, max_value=24 * 14, label=label)


class SettingsForm(forms.Form):
    quiet_start = forms.TimeField(input_formats=["%H:%M"], label="Quiet hours from (HH:MM)")
    quiet_end = forms.TimeField(input_formats=["%H:%M"], label="Quiet hours until (HH:MM)")
    appointment_lead_hours = _hours("Appointment reminder, hours ahead")
    session_lead_hours = _hours("Session reminder, hours ahead")
    preparation_lead_hours = _hours("Preparation reminder, hours ahead")
    ride_lead_hours = _hours("Ride confirmation, hours ahead")
    max_attempts = WholeNumberField(min_value=1, max_value=10, label="Tries per message")
    retry_minutes = WholeNumberField(min_value=1, max_value=1440, label="Minutes between tries")
