from __future__ import annotations

from django import forms

from ketaclinic.formfields import StrictDecimalField
from ketaclinic.patients.models import BodyMeasurement, Patient
from ketaclinic.patients.services import PATIENT_FIELDS, diagnosis_catalogue


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
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [("", "— choose —")] + [
            (code, f"{code} {label}") for code, label in sorted(diagnosis_catalogue().items())
        ]


class DiagnosisErrorForm(forms.Form):
    reason = forms.CharField(max_length=300,
                             error_messages={"required": "Say why this diagnosis was entered in error."})
