"""Forms of the calendar: every POST (and the booking page's prefill from a clicked slot) is read by one of these."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from ketaclinic.clinic.models import Chair, Clinic, Room
from ketaclinic.formfields import ClinicDateTimeField, IdField, IsoDateField, TextField, WholeNumberField
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import services
from ketaclinic.scheduling.models import AppointmentChange, WaitlistEntry

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
WEEKDAY_CHOICES = [(str(i), name) for i, name in enumerate(services.DAY_NAMES)]


def place_choices(clinic: Clinic) -> list[tuple[str, str]]:
    """One choice per room without chairs ("r<id>") and per chair ("c<id>")."""
    out = []
    for room in Room.objects.filter(clinic=clinic, active=True).prefetch_related("chairs").order_by("kind", "name"):
        chairs = [c for c in room.chairs.all() if c.active]
        if chairs:
            out += [(f"c{c.pk}", f"{room.name} · {c.label}") for c in chairs]
        else:
            out.append((f"r{room.pk}", f"{room.name} ({room.get_kind_display().lower()})"))
    return out


def resolve_place(clinic: Clinic, value: str) -> tuple[Room | None, Chair | None]:
    if value.startswith("c") and value[1:].isdigit():
        chair = Chair.objects.select_related("room").filter(pk=int(value[1:]), room__clinic=clinic).first()
        return (chair.room, chair) if chair else (None, None)
    if value.startswith("r") and value[1:].isdigit():
        return Room.objects.filter(pk=int(value[1:]), clinic=clinic).first(), None
    return None, None


class _ClinicForm(forms.Form):
    def __init__(self, data=None, *, clinic: Clinic, **kwargs):
        self.clinic = clinic
        super().__init__(data, **kwargs)


class BookForm(_ClinicForm):
    """An appointment for an existing patient (from the chart: ``patient``; from the calendar: their MRN) or for a
    new patient registered in the same step (name, date of birth, sex at birth; phone and email if known)."""

    type = forms.ChoiceField(label="Appointment type", error_messages={"required": "Choose the appointment type."})
    start = ClinicDateTimeField(label="Starts at", error_messages={"required": "Give the date and time."})
    minutes = WholeNumberField(label="Minutes", min_value=services.APPOINTMENT_MINUTES[0],
                               max_value=services.APPOINTMENT_MINUTES[1], required=False,
                               help_text="Blank: the type's default length")
    clinician = forms.ChoiceField(label="Clinician", error_messages={"required": "Choose the clinician."})
    place = forms.ChoiceField(label="Room / chair", error_messages={"required": "Choose the room or chair."})
    note = TextField(label="Note for the front desk", max_length=300, required=False)
    patient = forms.UUIDField(required=False, widget=forms.HiddenInput)
    waitlist = forms.UUIDField(required=False, widget=forms.HiddenInput)
    mrn = TextField(label="Existing patient's MRN", max_length=16, required=False)
    legal_given_name = TextField(label="New patient: legal given name", max_length=100, required=False)
    legal_family_name = TextField(label="New patient: legal family name", max_length=100, required=False)
    date_of_birth = IsoDateField(label="New patient: date of birth", required=False,
                                 latest=lambda: timezone.localdate())
    sex_at_birth = forms.ChoiceField(label="New patient: sex at birth", required=False,
                                     choices=[("", "—")] + list(Patient.SexAtBirth.choices))
    phone = TextField(label="New patient: phone", max_length=32, required=False)
    email = forms.EmailField(label="New patient: email", required=False)
    confirm_duplicate = forms.BooleanField(
        required=False, label="Register anyway: this is a different person who shares that name and birthday")

    def __init__(self, data=None, *, clinic: Clinic, **kwargs):
        super().__init__(data, clinic=clinic, **kwargs)
        self.types = {str(t.pk): t for t in services.types_for(clinic)}
        self.people = {str(u.pk): u for u in services.clinicians(clinic)}
        self.fields["type"].choices = [("", "— choose —")] + [(k, t.label) for k, t in self.types.items()]
        self.fields["clinician"].choices = [("", "— choose —")] + [
            (k, f"{u.label} ({', '.join(sorted(r.replace('_', ' ') for r in u.role_set()))})")
            for k, u in self.people.items()]
        self.fields["place"].choices = [("", "— choose —")] + place_choices(clinic)

    def clean(self):
        data = super().clean()
        data["type_obj"] = self.types.get(data.get("type") or "")
        data["clinician_obj"] = self.people.get(data.get("clinician") or "")
        data["room"], data["chair"] = resolve_place(self.clinic, data.get("place") or "")
        data["patient_obj"] = None
        if data.get("patient"):
            data["patient_obj"] = Patient.objects.filter(clinic=self.clinic, external_id=data["patient"]).first()
            if data["patient_obj"] is None:
                self.add_error(None, "That patient is not in this clinic; open their chart and try again.")
        elif data.get("mrn"):
            data["patient_obj"] = services.patient_by_mrn(self.clinic, data["mrn"])
            if data["patient_obj"] is None:
                self.add_error("mrn", f"No patient has MRN {data['mrn']}. Check it, or register a new patient below.")
        elif not self.errors:
            needed = {"legal_given_name": "Give the new patient's given name (or an existing patient's MRN).",
                      "legal_family_name": "Give the new patient's family name.",
                      "date_of_birth": "Give the new patient's date of birth.",
                      "sex_at_birth": "Choose the new patient's sex at birth."}
            for name, msg in needed.items():
                if not data.get(name):
                    self.add_error(name, msg)
        data["waitlist_obj"] = (WaitlistEntry.objects.filter(clinic=self.clinic, external_id=data["waitlist"]).first()
                                if data.get("waitlist") else None)
        return data

    def new_patient(self) -> dict[str, object]:
        return {k: self.cleaned_data.get(k) for k in services.NEW_PATIENT_FIELDS}


class PrefillForm(_ClinicForm):
    """What a clicked slot, a chart link or a waitlist offer puts into the booking form (query string)."""

    start = ClinicDateTimeField(required=False)
    # Ids as ASCII digits (Django's IntegerField reads "1_2", "+3" and "١٢" as numbers).
    room = IdField(required=False)
    chair = IdField(required=False)
    clinician = IdField(required=False)
    type = IdField(required=False)
    patient = forms.UUIDField(required=False)
    waitlist = forms.UUIDField(required=False)

    def prefill(self) -> dict[str, object]:
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in (None, "")}
        out: dict[str, object] = {}
        if "start" in data:
            out["start"] = timezone.localtime(data["start"], self.clinic.tz).strftime("%Y-%m-%dT%H:%M")
        if data.get("chair"):
            out["place"] = f"c{data['chair']}"
        elif data.get("room"):
            out["place"] = f"r{data['room']}"
        for k in ("clinician", "type", "patient", "waitlist"):
            if k in data:
                out[k] = data[k]
        if "type" not in out and data.get("room"):  # a clicked consult-room slot suggests a consult, and so on
            kind = Room.objects.filter(pk=data["room"], clinic=self.clinic).values_list("kind", flat=True).first()
            out["type"] = next((t.pk for t in services.types_for(self.clinic) if kind in t.kinds()), None)
        return out


class RescheduleForm(_ClinicForm):
    start = ClinicDateTimeField(label="New time", error_messages={"required": "Give the new date and time."})
    place = forms.ChoiceField(label="Room / chair", required=False)
    clinician = forms.ChoiceField(label="Clinician", required=False)
    reason = forms.ChoiceField(label="Reason", choices=[("", "— choose —")] + list(AppointmentChange.Reason.choices),
                               error_messages={"required": "Choose the reason."})
    reason_text = TextField(label="Details", max_length=300, required=False)

    def __init__(self, data=None, *, clinic: Clinic, **kwargs):
        super().__init__(data, clinic=clinic, **kwargs)
        self.people = {str(u.pk): u for u in services.clinicians(clinic)}
        self.fields["place"].choices = [("", "— keep —")] + place_choices(clinic)
        self.fields["clinician"].choices = [("", "— keep —")] + [(k, u.label) for k, u in self.people.items()]

    def clean(self):
        data = super().clean()
        data["room"], data["chair"] = resolve_place(self.clinic, data.get("place") or "")
        data["clinician_obj"] = self.people.get(data.get("clinician") or "")
        return data


class CancelForm(forms.Form):
    no_show = forms.BooleanField(required=False, label="The patient did not come (no-show)")
    reason = forms.ChoiceField(label="Reason", choices=[("", "— choose —")] + list(AppointmentChange.Reason.choices),
                               error_messages={"required": "Choose the reason."})
    reason_text = TextField(label="Details", max_length=300, required=False)


class HoursForm(forms.Form):
    opens = forms.TimeField(label="Opens", input_formats=TIME_FORMATS,
                            widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    closes = forms.TimeField(label="Closes", input_formats=TIME_FORMATS,
                             widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    slot_minutes = WholeNumberField(label="Calendar rows (minutes)", min_value=5, max_value=60)


class CloseDaysForm(forms.Form):
    """Close the clinic on a working weekday, or on each working weekday of a run of days (a holiday, a training
    day, a move)."""

    first = IsoDateField(label="First day closed")
    last = IsoDateField(label="Last day closed", required=False, help_text="Blank: the first day only")
    reason = TextField(max_length=120, label="Why (staff see it on the calendar)")


class CloseHolidaysForm(forms.Form):
    """Close the US federal holidays (observed days) of a year that fall on working weekdays."""

    year = WholeNumberField(label="Year", min_value=1900, max_value=9999, widget=forms.HiddenInput)  # the year shown


class HolidayYearForm(forms.Form):
    """Which year's federal holidays the closed-days page lists (``?year=``, or the year a refused holidays form
    was posted for); blank or not a year: this year."""

    year = WholeNumberField(label="Year", min_value=1900, max_value=9999, required=False)


class ReopenDayForm(forms.Form):
    day = IsoDateField(label="Day")


class AvailabilityForm(forms.Form):
    """A clinician's weekly hours: a start and an end for each day of the week (both blank: not that day)."""

    clinician = IdField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i, name in enumerate(services.DAY_NAMES):
            for end, word in (("start", "from"), ("end", "to")):
                widget = forms.TimeInput(attrs={"type": "time", "aria-label": f"{name} {word}"}, format="%H:%M")
                self.fields[f"d{i}_{end}"] = forms.TimeField(label=f"{name} {word}", required=False,
                                                             input_formats=TIME_FORMATS, widget=widget)

    def day_fields(self):
        return [(name, self[f"d{i}_start"], self[f"d{i}_end"]) for i, name in enumerate(services.DAY_NAMES)]

    def clean(self):
        data = super().clean()
        rows = []
        for i, name in enumerate(services.DAY_NAMES):
            s, e = data.get(f"d{i}_start"), data.get(f"d{i}_end")
            if (s is None) != (e is None) and f"d{i}_start" not in self.errors and f"d{i}_end" not in self.errors:
                self.add_error(f"d{i}_end" if e is None else f"d{i}_start", f"Give both times for {name}, or neither.")
            elif s is not None and e is not None:
                rows.append((i, s, e))
        data["rows"] = rows
        return data


class TypeForm(forms.Form):
    type = IdField()
    minutes = WholeNumberField(label="Default minutes", min_value=services.APPOINTMENT_MINUTES[0],
                               max_value=services.APPOINTMENT_MINUTES[1])
    active = forms.BooleanField(label="Offered", required=False)
    self_bookable = forms.BooleanField(label="Patients book it in the portal", required=False)


class PortalRulesForm(forms.Form):
    """How far ahead and how soon patients book in the portal, and the cancellation window (booking policy)."""

    portal_horizon_days = WholeNumberField(label="Book at most (days ahead)", min_value=1, max_value=365)
    portal_notice_hours = WholeNumberField(label="Book at least (hours ahead)", min_value=0, max_value=336)
    portal_cancel_hours = WholeNumberField(label="No changes in the portal inside (hours before)", min_value=0,
                                           max_value=336)


class WaitlistForm(_ClinicForm):
    mrn = TextField(label="Patient's MRN", max_length=16, error_messages={"required": "Give the patient's MRN."})
    type = forms.ChoiceField(label="Appointment type", error_messages={"required": "Choose the appointment type."})
    weekdays = forms.MultipleChoiceField(label="Preferred days", choices=WEEKDAY_CHOICES, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    earliest = forms.TimeField(label="Earliest start", required=False, input_formats=TIME_FORMATS,
                               widget=forms.TimeInput(attrs={"type": "time"}))
    latest = forms.TimeField(label="Latest start", required=False, input_formats=TIME_FORMATS,
                             widget=forms.TimeInput(attrs={"type": "time"}))
    note = TextField(label="Note", max_length=300, required=False)

    def __init__(self, data=None, *, clinic: Clinic, **kwargs):
        super().__init__(data, clinic=clinic, **kwargs)
        self.types = {str(t.pk): t for t in services.types_for(clinic)}
        self.fields["type"].choices = [("", "— choose —")] + [(k, t.label) for k, t in self.types.items()]

    def clean(self):
        data = super().clean()
        data["type_obj"] = self.types.get(data.get("type") or "")
        if data.get("mrn"):
            data["patient"] = services.patient_by_mrn(self.clinic, data["mrn"])
            if data["patient"] is None:
                self.add_error("mrn", f"No patient has MRN {data['mrn']}.")
        data["days"] = [int(d) for d in data.get("weekdays") or []]
        return data


class RemoveForm(forms.Form):
    reason = TextField(label="Why", max_length=300, error_messages={"required": "Say why the entry is removed."})


# ------------------------------------------------------------------------------------------------ the portal
class PortalBookForm(forms.Form):
    """A patient books one of the offered times (``selfbooking.book`` checks it is still offered and free)."""

    type = IdField(error_messages={"required": "Choose the kind of appointment."})
    start = ClinicDateTimeField(label="Time", error_messages={"required": "Choose a time."})


class PortalMoveForm(forms.Form):
    start = ClinicDateTimeField(label="New time", error_messages={"required": "Choose a time."})


class PortalCancelForm(forms.Form):
    """The patient's cancel button: nothing to type; the service checks the appointment and the window."""
