"""Forms for booking integration sessions, their status and the therapist's notes. Every POST is read by one of
these forms; the services (``integration/services.py``) still decide, and their refusals are shown next to the
field."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone

from ketaclinic.formfields import IsoDateField, note_field
from ketaclinic.inputs import day_window, nonexistent_time_message, wall_clock_moment
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.integration.services import NOTE_MAX, first_slot, window_opens

GIVE_DATE_AND_TIME = "Give the date and time."


class BookingDayField(IsoDateField):
    """The day of the session: a strict ISO date within the bookable days; every refusal says what to give."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class BookForm(forms.Form):
    date = BookingDayField(error_messages={
        "required": GIVE_DATE_AND_TIME,
        "invalid": "Give the date and time: a real date (YYYY-MM-DD) within the next two years."})
    time = forms.TimeField(input_formats=["%H:%M", "%H:%M:%S"],
                           widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                           error_messages={"required": GIVE_DATE_AND_TIME,
                                           "invalid": "Give the date and time: a time such as 14:30."})
    therapist = forms.ModelChoiceField(queryset=None, required=False, empty_label=None,
                                       error_messages={"invalid_choice": "Choose a therapist."})
    room = forms.ModelChoiceField(queryset=None, required=False, empty_label="—",
                                  error_messages={"invalid_choice": "Choose one of the therapy rooms listed."})

    def __init__(self, data=None, *, offer: IntegrationSession, therapists, rooms, **kwargs):
        tz = offer.patient.clinic.tz
        if "initial" not in kwargs and data is None:
            # the booked time, else the first time the clinic books inside the window (its hours on a working day
            # it has not closed, on the calendar's grid), else the minute the window opens
            at = timezone.localtime(offer.scheduled_start or first_slot(offer) or window_opens(offer), tz)
            kwargs["initial"] = {"date": at.date(), "time": at.time().replace(second=0, microsecond=0)}
        super().__init__(data, **kwargs)
        self.tz = tz
        self.fields["date"].latest = lambda: day_window(timezone.localtime(timezone.now(), tz).date())[1]
        self.fields["therapist"].queryset = therapists
        self.fields["therapist"].label_from_instance = lambda u: u.label
        self.fields["room"].queryset = rooms
        self.fields["room"].label_from_instance = lambda r: r.name

    def clean(self):
        data = super().clean()
        if data.get("date") is not None and data.get("time") is not None:
            data["start"] = wall_clock_moment(data["date"], data["time"], self.tz)
            if data["start"] is None:
                self.add_error("time", nonexistent_time_message(data["date"], data["time"], self.tz))
        return data

    def start(self) -> datetime:
        """The session's start, read on the clinic's wall clock."""
        return self.cleaned_data["start"]


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=IntegrationSession.Status.choices,
                               error_messages={"required": "Unknown status.", "invalid_choice": "Unknown status."})


class NoteForm(forms.Form):
    text = note_field(label="The note", max_length=NOTE_MAX, rows=10, error_messages={"required": "Write the note."})
