"""Forms for measurement-based care. Every POST is read by one of these forms; the services
(``measures/services.py``) still validate and decide, and their refusals are shown next to the field."""

from __future__ import annotations

import re
from datetime import UTC

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ketaclinic.clinical.scales import SCALES, Scale
from ketaclinic.formfields import IsoDateField, TextField, note_field
from ketaclinic.measures.models import Administration, BoosterPrompt, MeasureSchedule, SafetyTask, Timing

#: An answer as a form sends it: a whole number (the core checks the item's range).
ANSWER = re.compile(r"-?[0-9]{1,6}")
#: The longest value of a button or hidden field naming what to do or where to go back ("submit", "defaults",
#: "worklist"): the pages send at most a word.
WORD_MAX = 20
#: The longest reason a result is entered in error (Administration.error_reason).
ERROR_REASON_MAX = Administration._meta.get_field("error_reason").max_length
#: The longest note on an acknowledged safety task (who was spoken to, outcome, follow-up): the column is
#: unbounded text; this is what a note in the record needs (as custody's notes).
ACTION_NOTE_MAX = 2000
#: The longest reason for a booster decision (the page's field allows 500; the column is unbounded text).
BOOSTER_REASON_MAX = 500


def _word(label: str) -> TextField:
    return TextField(label=label, max_length=WORD_MAX, required=False)


class AnswerField(forms.Field):
    """One item's answer: blank (not answered) or a whole number. Which numbers the item allows is the clinical
    core's to say (scoring refuses an answer out of range, naming the item and its range)."""

    widget = forms.RadioSelect
    default_error_messages = {"invalid": "'%(value)s' is not one of the answer options."}

    def to_python(self, value):
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        if not ANSWER.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"value": text[:20]})
        return int(text)


class ScaleAnswersForm(forms.Form):
    """A scale's answers, one field per item named by the item's id (blank = not answered), and which button was
    pressed: ``submit`` (score it) or anything else (save a draft). Used by staff entry, the portal and the
    consult's baseline scales (with ``prefix`` = the scale code)."""

    action = _word("Which button")

    def __init__(self, data=None, *, scale: Scale, **kwargs):
        super().__init__(data, **kwargs)
        self.scale = scale
        for item in scale.items:
            self.fields[item.id] = AnswerField(required=False, label=item.label)

    @property
    def submit(self) -> bool:
        return self.cleaned_data.get("action") == "submit"

    def answers(self) -> dict[str, int]:
        """The answered items (item id → value)."""
        return {it.id: self.cleaned_data[it.id] for it in self.scale.items
                if self.cleaned_data.get(it.id) is not None}

    def item_errors(self) -> dict[str, str]:
        """Refusals by field name (item id, or another field), one message each, as the scale templates show them."""
        return {name: " ".join(errs) for name, errs in self.errors.items()}


class AnsweredAtField(forms.Field):
    """"Answered at": a real date and time (2026-02-31 or 25:00 is a message next to the field, never a server
    error), in the clinic's time zone unless an offset is given; blank means now."""

    widget = forms.TextInput(attrs={"placeholder": "2026-11-27 09:30", "autocomplete": "off"})
    default_error_messages = {"invalid": "Enter a real date and time like 2026-11-27 09:30."}

    def __init__(self, *, tz, **kwargs):
        self.tz = tz
        super().__init__(**kwargs)

    def to_python(self, value):
        raw = str(value or "").strip()
        if not raw:
            return None
        try:
            when = parse_datetime(raw)
            if when is None:
                raise ValueError(raw)
            if timezone.is_naive(when):
                when = timezone.make_aware(when, self.tz)
            return when.astimezone(UTC)
        except (ValueError, OverflowError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class StaffScaleForm(ScaleAnswersForm):
    """Staff entry of a scale in the clinic: the answers, when in the schedule it was given, the dosing session it
    belongs to (one of ``sessions``, the patient's own) and when it was answered."""

    timing = forms.ChoiceField(label="When in the schedule", choices=Timing.choices,
                               error_messages={"required": "Choose when in the schedule this was given.",
                                               "invalid_choice": "Choose when in the schedule this was given."})
    session = forms.ChoiceField(label="Linked dosing session", required=False,
                                error_messages={"invalid_choice": "Choose one of this patient's sessions."})

    def __init__(self, data=None, *, scale: Scale, sessions, tz, **kwargs):
        super().__init__(data, scale=scale, **kwargs)
        self.sessions = {str(s.external_id): s for s in sessions}
        self.fields["session"].choices = [("", "none")] + [
            (key, f"#{s.sequence} {timezone.localtime(s.scheduled_start, tz):%Y-%m-%d} {s.drug}")
            for key, s in self.sessions.items()]
        self.fields["administered_at"] = AnsweredAtField(tz=tz, required=False, label="Answered at (blank = now)")

    def session_chosen(self):
        """The dosing session chosen, or None."""
        return self.sessions.get(self.cleaned_data.get("session") or "")


class ReasonForm(forms.Form):
    """Marking a result entered in error: the reason is required."""

    reason = TextField(label="Reason", max_length=ERROR_REASON_MAX,
                       error_messages={"required": "Say why this result was entered in error."})


class ScheduleForm(forms.Form):
    """One scale's schedule for a patient (``action`` = "defaults" applies the clinic's default plan instead)."""

    action = _word("Which button")
    scale = forms.ChoiceField(choices=[(c, s.name) for c, s in SCALES.items()], required=False,
                              error_messages={"invalid_choice": "Unknown scale."})
    baseline = forms.BooleanField(required=False)
    pre_dose = forms.BooleanField(required=False)
    after_24h = forms.BooleanField(required=False)
    after_7d = forms.BooleanField(required=False)
    repeat = forms.ChoiceField(choices=MeasureSchedule.Repeat.choices, required=False,
                               error_messages={"invalid_choice": "Choose none, weekly or monthly."})
    active = forms.BooleanField(required=False)

    @property
    def defaults(self) -> bool:
        return self.cleaned_data.get("action") == "defaults"

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("action") == "defaults" and not data.get("scale"):
            self.add_error("scale", "Choose a scale.")
        return data

    def values(self) -> dict[str, object]:
        data = self.cleaned_data
        return {"baseline": data["baseline"], "pre_dose": data["pre_dose"], "after_24h": data["after_24h"],
                "after_7d": data["after_7d"], "repeat": data["repeat"] or MeasureSchedule.Repeat.NONE,
                "active": data["active"]}


class AcknowledgeForm(forms.Form):
    """What the clinician on call did about an urgent safety answer."""

    action_taken = forms.ChoiceField(choices=SafetyTask.Action.choices,
                                     error_messages={"required": "Choose what you did.",
                                                     "invalid_choice": "Choose what you did."})
    action_note = note_field(label="Notes", max_length=ACTION_NOTE_MAX,
                             error_messages={"required": "Describe what you did and the outcome."})


class BoosterForm(forms.Form):
    """A prescriber's decision on a booster prompt, and which page it was taken on."""

    decision = forms.ChoiceField(choices=[(BoosterPrompt.Status.BOOKED, "Booster planned"),
                                          (BoosterPrompt.Status.DISMISSED, "Dismiss")],
                                 error_messages={"required": "Choose 'booster planned' or 'dismiss'.",
                                                 "invalid_choice": "Choose 'booster planned' or 'dismiss'."})
    reason = TextField(label="Reason", max_length=BOOSTER_REASON_MAX,
                       error_messages={"required": "Give a reason (what you decided and why)."})
    back = _word("The page to return to")

    def clean(self):
        data = super().clean()
        if self.has_error("back"):  # a hidden field: its refusal is shown above the form
            self.add_error(None, "This page's form is damaged (the page to return to is too long or holds a control "
                                 "character). Reload the page and record the decision again.")
        return data

    @property
    def to_worklist(self) -> bool:
        """The decision was taken on the outcomes worklist (else on the patient's trajectory)."""
        return self.cleaned_data.get("back") == "worklist"


class OnCallForm(forms.Form):
    day = IsoDateField(error_messages={"required": "Enter a real date like 2026-11-27.",
                                       "invalid": "Enter a real date like 2026-11-27."})
    clinician = forms.ModelChoiceField(queryset=None, empty_label=None,
                                       error_messages={"required": "Choose a prescriber.",
                                                       "invalid_choice": "Choose a prescriber."})

    def __init__(self, data=None, *, prescribers, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["clinician"].queryset = prescribers
        self.fields["clinician"].label_from_instance = lambda u: u.label
