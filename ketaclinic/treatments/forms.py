"""The treatment pages' forms: every POST of the treatment journey is read by one of these (bound with
``formfields.posted``), and a view then makes one service call with ``cleaned_data``.

A form reads and types what was entered (strict numbers, ids, dates and times, choices, lengths) and refuses
with a message naming the field; the services decide everything else (clinical rules through the core, the
session's state, roles) and refuse with their own messages. Either way nothing is changed.
"""

from __future__ import annotations

import re

from django import forms
from django.db import connection
from django.utils import timezone

from ketaclinic.clinic.models import Chair
from ketaclinic.clinical.scales import SCALES
from ketaclinic.formfields import (
    IdField,
    IsoDateField,
    PhoneField,
    StrictDecimalField,
    TextField,
    WholeNumberField,
)
from ketaclinic.inputs import (
    InputError,
    day_window,
    field_bounds,
    nonexistent_time_message,
    parse_decimal,
    wall_clock_moment,
)
from ketaclinic.treatments import services
from ketaclinic.treatments.models import (
    AdverseEvent,
    DoseDecision,
    Drug,
    PredoseOverride,
    Route,
    SessionRating,
    TitrationPlan,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services import titration

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
RATED_SCALES = ("cadss", "moaas")
NOT_RECORDED = "That adverse event is not recorded in this session; reload the page."


def form_errors(form: forms.Form) -> dict[str, str]:
    """{field: message} of a refused form ("__all__" for the form as a whole), like a service's refusal."""
    return {field: " ".join(str(m) for m in messages) for field, messages in form.errors.items()}


def free_text(label: str, max_length: int, *, required: bool = False, message: str = "",
              multiline: bool | None = None) -> TextField:
    """Free text, stripped, at most ``max_length`` characters (what the record keeps), no control characters (a
    pasted NUL or escape is named). Notes, summaries and reasons (1,000 characters or more: the cockpit's text
    areas) keep tabs and line breaks."""
    multiline = max_length >= 1000 if multiline is None else multiline
    return TextField(label=label, required=required, max_length=max_length, multiline=multiline, error_messages={
        "required": message or f"Enter the {label.lower()}.",
        "max_length": f"{label} must be at most %(limit_value)d characters (it has %(show_value)d)."})


def choice(label: str, choices, message: str, *, required: bool = True) -> forms.ChoiceField:
    """One of ``choices``; ``message`` when it is missing or not one of them."""
    return forms.ChoiceField(label=label, choices=list(choices), required=required,
                             error_messages={"required": message, "invalid_choice": message})


def decimal(field: str, label: str) -> StrictDecimalField:
    """A treatment number bounded by what its record stores (``services.DECIMAL_FIELDS``); blank is None."""
    model, name = services.DECIMAL_FIELDS[field]
    return StrictDecimalField.for_model(model, name, label=label, required=False)


def flag(label: str) -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False)


def vital(label: str, field: str) -> WholeNumberField:
    """A vital sign in whole units, bounded by what the record stores; whether it is a possible reading is the
    clinical core's decision (``validate_reading``)."""
    internal = VitalsReading._meta.get_field(field).get_internal_type()
    low, high = connection.ops.integer_field_range(internal)
    return WholeNumberField(label=label, min_value=max(0, low or 0), max_value=high, required=False)


def order_count(name: str) -> WholeNumberField:
    """One of an order's counts, within the bounds the order service accepts (``services.ORDER_COUNTS``)."""
    label, low, high, _ = services.ORDER_COUNTS[name]
    return WholeNumberField(label=label, min_value=low, max_value=high, required=False)


# ============================================================================================ orders and booking
class DoseLadderField(forms.Field):
    """The doses of a titration plan typed in one box, lowest first: "0.5 0.75 1.0", "0.5; 0.75" or "0.5, 0.75"
    (a comma followed by a space separates; "0,75" is a decimal comma). Each is a plain decimal within what the
    plan stores; whether the ladder is a valid plan is the clinical core's decision."""

    def to_python(self, value):
        if value in self.empty_values:
            return []
        max_value, places = field_bounds(TitrationPlan, "start")
        doses = []
        for token in re.split(r"[\s;]+", str(value).replace(", ", " ").strip()):
            if not token:
                continue
            try:
                doses.append(parse_decimal(token, "Each titration step", max_value=max_value, places=places))
            except InputError as e:
                raise forms.ValidationError(e.message, code="invalid") from None
        if len(doses) > 12:
            raise forms.ValidationError("A titration plan has at most 12 steps.", code="invalid")
        return doses


class OrderForm(forms.Form):
    drug = choice("Drug", Drug.choices, "Choose racemic ketamine or esketamine.")
    route = choice("Route", Route.choices, "Choose the route: IV, IM or intranasal.")
    dose_mg_per_kg = decimal("dose_mg_per_kg", "Dose (mg/kg)")
    fixed_dose_mg = decimal("fixed_dose_mg", "Dose (mg)")
    infusion_minutes = order_count("infusion_minutes")
    concentration_mg_per_mL = decimal("concentration_mg_per_mL", "Vial concentration (mg/mL)")
    bag_volume_mL = decimal("bag_volume_mL", "Bag volume (mL)")
    indication = choice("Esketamine indication", services.INDICATIONS, "Choose the esketamine indication: "
                        "treatment-resistant depression or MDD with acute suicidal ideation.", required=False)
    sessions_planned = order_count("sessions_planned")
    sessions_per_week = order_count("sessions_per_week")
    min_spacing_days = order_count("min_spacing_days")
    dose_override_reason = free_text("Dose override reason", 2000)
    notes = free_text("Notes", 2000)
    # A titration plan (issue 21): esketamine follows the label's plan; IV and IM a ladder typed here.
    titrate = flag("Titrate the dose across the series")
    titration_steps = DoseLadderField(required=False, label="Titration steps (mg/kg, lowest first)")
    titration_ceiling = StrictDecimalField.for_model(TitrationPlan, "ceiling", label="Titration ceiling",
                                                     required=False)
    titration_scale = choice("Response judged on", titration.SCALE_CHOICES, "Choose the scale the response is "
                             "judged on.", required=False)


class DateListField(forms.Field):
    """Several ISO dates posted under one name (the proposed dates of a series), each read by ``IsoDateField``
    (on or before ``latest``)."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, latest=None, **kwargs):
        self.latest = latest
        super().__init__(**kwargs)

    def to_python(self, value):
        day, days = IsoDateField(latest=self.latest), []
        for raw in value or []:
            try:
                days.append(day.clean(raw))
            except forms.ValidationError:
                raise forms.ValidationError(f"'{str(raw)[:20]}' is not a date that can be booked (YYYY-MM-DD, "
                                            "within two years).", code="invalid") from None
        return days


class BookForm(forms.Form):
    """One proposed date (``row`` names the row, for the message next to it) or, with ``all``, every proposed
    date (``dates``), at one time of day in one chair. ``start`` is the proposal's first day, to return to it."""

    row = TextField(required=False, max_length=10)
    all = forms.BooleanField(required=False)
    start = TextField(required=False, max_length=40)
    date = IsoDateField(label="Date", required=False, error_messages={"invalid": "Give the date as YYYY-MM-DD."})
    dates = DateListField(required=False)
    time = forms.TimeField(label="Time", input_formats=TIME_FORMATS, error_messages={
        "required": "Give the time.", "invalid": "Give the time as HH:MM."})
    chair = IdField(error_messages={"required": "Choose a room and chair."})
    minutes = WholeNumberField(label="Booked minutes", min_value=services.BOOKING_MINUTES[0],
                               max_value=services.BOOKING_MINUTES[1], required=False)

    def __init__(self, data=None, *, clinic, **kwargs):
        super().__init__(data, **kwargs)
        self.clinic = clinic
        latest = day_window(timezone.localtime(timezone.now(), clinic.tz).date())[1]
        self.fields["date"].latest = self.fields["dates"].latest = latest

    def clean_chair(self):
        pk = self.cleaned_data.get("chair")
        chair = Chair.objects.select_related("room").filter(pk=pk, room__clinic=self.clinic).first() if pk else None
        if chair is None:
            raise forms.ValidationError("Choose a room and chair.")
        return chair

    def clean(self):
        data = super().clean()
        if data.get("all"):
            if not data.get("dates") and "dates" not in self.errors:
                self.add_error("dates", "Give the dates to book.")
        elif data.get("date") is None:
            if "date" not in self.errors:
                self.add_error("date", "Give the date to book.")
        elif data.get("time") is not None:
            data["when"] = wall_clock_moment(data["date"], data["time"], self.clinic.tz)
            if data["when"] is None:
                self.add_error("time", nonexistent_time_message(data["date"], data["time"], self.clinic.tz))
        return data


class CancelForm(forms.Form):
    reason = free_text("Reason", 300)
    no_show = flag("No-show")


class NextForm(forms.Form):
    """Where to go back to after a button (checked by the view: only a page on this site)."""

    next = TextField(required=False, max_length=2000)


# ============================================================================================ the session
class SessionForm(forms.Form):
    """A form posted from one session's cockpit (``session`` lets a field be looked up within it)."""

    def __init__(self, data=None, *, session: TreatmentSession, **kwargs):
        super().__init__(data, **kwargs)
        self.session = session


class NoInputForm(SessionForm):
    """A button that sends nothing but itself (start, resume, next device)."""


class VitalsForm(SessionForm):
    taken_at = forms.TimeField(label="Time", required=False, input_formats=TIME_FORMATS,
                               error_messages={"invalid": "Time must be HH:MM."})
    systolic_mmHg = vital("Systolic", "systolic_mmHg")
    diastolic_mmHg = vital("Diastolic", "diastolic_mmHg")
    heart_rate_bpm = vital("Heart rate", "heart_rate_bpm")
    spo2_percent = vital("SpO2", "spo2_percent")
    respiratory_rate_per_min = vital("Respiratory rate", "respiratory_rate_per_min")
    #: The newest reading the nurse's screen showed when the row was sent (its id): the answer adds the new row
    #: in place only when no one else's reading came in between; otherwise the whole panel is redrawn.
    shown_through = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_taken_at(self):
        """Today (in the clinic's time zone) at the time entered; None (now) when left blank."""
        at = self.cleaned_data.get("taken_at")
        if at is None:
            return None
        tz = self.session.patient.clinic.tz
        day = timezone.localtime(timezone.now(), tz).date()
        moment = wall_clock_moment(day, at, tz)
        if moment is None:
            raise forms.ValidationError(nonexistent_time_message(day, at, tz))
        return moment

    def values(self) -> dict[str, int | None]:
        return {f: self.cleaned_data.get(f) for f in services.VITAL_FIELDS}

    def entered(self) -> dict[str, str]:
        """What was typed, to show it again next to the refusal."""
        return {name: str(self.data.get(name, "")) for name in self.fields}


class VerifyForm(SessionForm):
    weight_kg = decimal("weight_kg", "Weight (kg)")
    dose_mg = decimal("dose_mg", "Dose (mg)")
    concentration_mg_per_mL = decimal("concentration_mg_per_mL", "Vial strength (mg/mL)")
    bag_volume_mL = decimal("bag_volume_mL", "Bag volume (mL)")


class PrechecksForm(SessionForm):
    identity_confirmed = flag("Identity checked")
    fasting_confirmed = flag("Fasting confirmed")
    no_driving_acknowledged = flag("No driving until the next day acknowledged")
    weight_kg = decimal("weight_kg", "Weight (kg)")
    confirm_weight = flag("I re-weighed the patient and confirm this weight (second clinician)")
    escort_name = free_text("Escort name", 120)
    escort_phone = PhoneField(label="Escort phone", required=False)
    pregnancy_test = choice("Pregnancy test", [("negative", "Negative"), ("positive", "Positive"),
                                               ("not_applicable", "Not applicable")],
                            "Choose negative, positive or not applicable.", required=False)
    music = free_text("Music", 40)
    lighting = free_text("Lighting", 40)
    setting_notes = free_text("Setting notes", 300)


class OverrideForm(SessionForm):
    kind = choice("Override of", PredoseOverride.Kind.choices,
                  "Choose what is overridden: the vital signs or the pregnancy test.", required=False)
    reading = IdField(required=False)
    reason = free_text("Reason", 2000)

    def clean_reading(self) -> VitalsReading | None:
        """The reading the prescriber saw as the hold, which must be one of this session's readings."""
        pk = self.cleaned_data.get("reading")
        if pk is None:
            return None
        reading = self.session.vitals.filter(pk=pk).first()
        if reading is None:
            raise forms.ValidationError("That reading is not recorded in this session; reload the page.")
        return reading


class PrepareForm(SessionForm):
    concentration_mg_per_mL = decimal("concentration_mg_per_mL", "Vial concentration (mg/mL)")
    bag_volume_mL = decimal("bag_volume_mL", "Bag volume (mL)")
    vial_or_device = free_text("Vial or device used", 120)
    lot_number = free_text("Lot number", 40)
    override_reason = free_text("Override reason", 2000)


def strength_choices(s: TreatmentSession, account) -> list[tuple[str, str]]:
    """(value, label) of each strength a dose for ``s`` may be prepared from, given its drug ``account``."""
    from ketaclinic.treatments import stock

    return [(f"{v.normalize():f}", f"{v.normalize():f} mg/mL") for v in stock.strengths(s, account)]


class DosingEventForm(SessionForm):
    """Pause (with a note), resume, rate change (the new rate), next device, stop (the dose given)."""

    rate = decimal("rate", "Rate (mL/h)")
    note = free_text("Note", 300)
    administered_mg = decimal("administered_mg", "Administered dose (mg)")


def _severity(form: forms.Form) -> str:
    return form.cleaned_data.get("severity") or AdverseEvent.Severity.MILD


class AdverseEventForm(SessionForm):
    kind = choice("Event", AdverseEvent.Kind.choices, "Choose the adverse event.")
    severity = choice("Severity", AdverseEvent.Severity.choices, "Choose mild, moderate or severe.",
                      required=False)
    description = free_text("Description", 300)
    action_taken = free_text("Action taken", 300)
    rescue_medication = free_text("Rescue medication", 200)
    resolved = flag("Already resolved")

    def clean_severity(self) -> str:
        return _severity(self)


class TransferForm(SessionForm):
    kind = choice("Adverse event", AdverseEvent.Kind.choices,
                  "Record the adverse event that requires emergency care.")
    severity = choice("Severity", AdverseEvent.Severity.choices, "Choose mild, moderate or severe.",
                      required=False)
    description = free_text("What happened", 300)
    action_taken = free_text("Action taken", 300)
    rescue_medication = free_text("Rescue medication", 200)
    transfer_note = free_text("Transferred to (where, how)", 300)
    administered_mg = decimal("administered_mg", "Administered dose (mg)")

    def clean_severity(self) -> str:
        return _severity(self)

    def adverse_event(self) -> dict[str, str]:
        return {k: self.cleaned_data[k] for k in ("kind", "severity", "description", "action_taken",
                                                  "rescue_medication")}


class EventIdField(IdField):
    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(NOT_RECORDED, code="invalid") from None


class ResolveForm(SessionForm):
    event = EventIdField(error_messages={"required": NOT_RECORDED})

    def clean_event(self) -> int:
        pk = self.cleaned_data["event"]
        if not self.session.adverse_events.filter(pk=pk).exists():
            raise forms.ValidationError(NOT_RECORDED)
        return pk


class RatingForm(SessionForm):
    """A CADSS or MOAA/S rating: each item's answer is a whole number among the scale's own options."""

    scale = choice("Scale", [("cadss", "CADSS"), ("moaas", "MOAA/S")], "Choose CADSS or MOAA/S.")
    timepoint = choice("When", SessionRating.Timepoint.choices, "Choose when the rating was made.")

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        for key in RATED_SCALES:
            scale = SCALES[key]
            for item in scale.items:
                values = [o.value for o in item.options]
                self.fields[f"{key}-{item.id}"] = WholeNumberField(
                    label=f"{scale.name} {item.id}", min_value=min(values), max_value=max(values), required=False)

    def answers(self) -> dict[str, int]:
        key = self.cleaned_data["scale"]
        return {item.id: value for item in SCALES[key].items
                if (value := self.cleaned_data.get(f"{key}-{item.id}")) is not None}


class ObservationForm(SessionForm):
    text = free_text("Observation", 4000)


class RecoveryForm(SessionForm):
    alert_and_oriented = flag("Alert and oriented")
    steady_gait = flag("Walking steadily")


class DischargeForm(SessionForm):
    override_reason = free_text("Override reason", 2000)


class RemsMonitoringForm(SessionForm):
    sedation = choice("Sedation", [("yes", "Yes"), ("no", "No")], "Sedation: answer yes or no.", required=False)
    dissociation = choice("Dissociation", [("yes", "Yes"), ("no", "No")], "Dissociation: answer yes or no.",
                          required=False)
    respiratory_depression = choice("Respiratory depression", [("yes", "Yes"), ("no", "No")],
                                    "Respiratory depression: answer yes or no.", required=False)
    ready_to_leave_minutes = WholeNumberField(label="Ready to leave (minutes)", required=False,
                                              max_value=services.READY_TO_LEAVE_MAX_MINUTES)

    def answers(self) -> dict[str, object]:
        """Only the answers the form sent: an answer left out is left as it was."""
        return {k: v for k, v in self.cleaned_data.items() if k in self.data}


class ConsentForm(SessionForm):
    signer_name = free_text("Patient's full name, as signed", 200)


class SignForm(SessionForm):
    note_summary = free_text("Session summary", 8000)


class AcknowledgeAlertForm(SessionForm):
    """'Done' at the chair (nurse) or 'seen' (prescriber) for one HOLD or STOP reading."""

    reading = IdField(error_messages={"required": "Choose the reading to acknowledge."})
    note = free_text("Note", 300)


class AddendumForm(SessionForm):
    text = free_text("Addendum", 8000)


class SignDoseForm(SessionForm):
    """The prescriber's signature of this session's dose under the order's titration plan: one of the plan's steps
    (the proposal is preselected) and, for any other step, the reason."""

    dose = StrictDecimalField.for_model(DoseDecision, "dose", label="Dose", error_messages={
        "required": "Choose the dose to sign."})
    override_reason = free_text("Reason for a dose other than the proposal", 2000)
