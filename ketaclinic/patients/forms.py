from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.text import capfirst

from ketaclinic.accounts.models import staff_holding
from ketaclinic.formfields import PhoneField, StrictDecimalField, TextField, note_field
from ketaclinic.inputs import EMAIL_MAX, InputError, check_email_address
from ketaclinic.patients.models import BodyMeasurement, BreakGlassAccess, BreakGlassReview, Patient
from ketaclinic.patients.services import PATIENT_FIELDS, diagnosis_catalogue

#: The longest allergy list or medication list the registry keeps (the columns are unbounded text): input sanity.
LIST_MAX = 4000
#: The longest search term read: longer than any name, MRN or date of birth.
SEARCH_MAX = 100


class EmailAddressField(forms.EmailField):
    """Exactly one e-mail address (:func:`ketaclinic.inputs.check_email_address`: no list, no line break, at most
    EMAIL_MAX characters), its message shown next to the field; blank when not required."""

    def __init__(self, **kwargs):
        kwargs["max_length"] = min(kwargs.get("max_length") or EMAIL_MAX, EMAIL_MAX)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value not in self.empty_values:
            try:
                check_email_address(value)
            except InputError as refused:
                raise forms.ValidationError(refused.message) from None


def strict_text(db_field, **kwargs):
    """The registry's text columns as :class:`TextField`: a CharField's own length, a text column's
    :data:`LIST_MAX` in a textarea (control characters refused either way; choices and dates keep Django's field);
    the e-mail address as one :class:`EmailAddressField`."""
    if isinstance(db_field, models.EmailField):
        return db_field.formfield(form_class=EmailAddressField, **kwargs)
    if db_field.choices or type(db_field) not in (models.CharField, models.TextField):  # e-mail: Django's check
        return db_field.formfield(**kwargs)
    kwargs.setdefault("label", capfirst(db_field.verbose_name))
    kwargs.setdefault("required", not db_field.blank)
    kwargs.setdefault("help_text", db_field.help_text)
    if isinstance(db_field, models.TextField):
        return TextField(max_length=LIST_MAX, multiline=True, **kwargs)
    if db_field.name.endswith("phone"):  # the patient's, their emergency contact's and their usual escort's
        return PhoneField(max_length=db_field.max_length, **kwargs)
    return TextField(max_length=db_field.max_length, **kwargs)


class SearchForm(forms.Form):
    """The patient search box (GET): a name, an MRN or a date of birth."""

    q = TextField(max_length=SEARCH_MAX, required=False, label="Name, MRN or date of birth")

    @property
    def term(self) -> str:
        return self.cleaned_data["q"] if self.is_valid() else ""


class PatientForm(forms.ModelForm):
    confirm_duplicate = forms.BooleanField(
        required=False, label="Register anyway: this is a different person who shares that name and birthday"
    )

    class Meta:
        model = Patient
        fields = list(PATIENT_FIELDS)
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}),
            "allergies": forms.Textarea(attrs={"rows": 2}),
            "current_medications": forms.Textarea(attrs={"rows": 3}),
        }
        formfield_callback = strict_text

    def clean_state(self):
        value = self.cleaned_data.get("state", "").strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise forms.ValidationError("Use the two-letter state code, e.g. CO.")
        return value


class MeasurementForm(forms.Form):
    unit = forms.ChoiceField(choices=BodyMeasurement.Unit.choices, initial=BodyMeasurement.Unit.METRIC, label="Units")
    # Bounded by what the entry columns store; the service checks the plausible adult range in the unit chosen.
    weight = StrictDecimalField.for_model(BodyMeasurement, "entered_weight", required=False, label="Weight",
                                          help_text="kg, or lb if you chose lb / in")
    height = StrictDecimalField.for_model(BodyMeasurement, "entered_height", required=False, label="Height",
                                          help_text="cm, or inches if you chose lb / in")

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("weight") is None and data.get("height") is None:
            self.add_error("weight", "Enter a weight, a height or both.")
        return data


class DiagnosisForm(forms.Form):
    code = forms.ChoiceField(label="Diagnosis (ICD-10-CM)",
                             error_messages={"required": "Choose a diagnosis from the list.",
                                             "invalid_choice": "Choose a diagnosis from the list."})
    note = TextField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [("", "— choose —")] + [
            (code, f"{code} {label}") for code, label in sorted(diagnosis_catalogue().items())
        ]


class DiagnosisErrorForm(forms.Form):
    reason = TextField(max_length=300, error_messages={"required": "Say why this diagnosis was entered in error."})


class BreakGlassForm(forms.Form):
    """Why someone outside the care team needs this record now (patients/careteam.py)."""

    reason_kind = forms.ChoiceField(label="Why", choices=BreakGlassAccess.Reason.choices, widget=forms.RadioSelect,
                                    error_messages={"required": "Choose why you need this record."})
    reason = note_field(max_length=500, label="Say what happened",
                        error_messages={"required": "Say in a sentence why you need this record now."})


class BreakGlassReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=BreakGlassReview.Outcome.choices, widget=forms.RadioSelect,
                                error_messages={"required": "Choose whether the access was appropriate."})
    note = note_field(max_length=1000, required=False, label="Review note")


class CareTeamMemberForm(forms.Form):
    member = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        label="Staff member", error_messages={"required": "Choose a staff member.",
                                              "invalid_choice": "Choose a staff member from the list."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the clinicians of the clinic the request acts for: a care team is of the patient's own clinic
        self.fields["member"].queryset = staff_holding("prescriber", "nurse", "therapist").order_by(
            "last_name", "first_name", "username")
