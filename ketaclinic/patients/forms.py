from __future__ import annotations

from django import forms

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
    unit = forms.ChoiceField(choices=BodyMeasurement.Unit.choices, initial=BodyMeasurement.Unit.METRIC)
    weight = forms.DecimalField(required=False, max_digits=6, decimal_places=2, min_value=0,
                                help_text="kg, or lb if you chose lb / in")
    height = forms.DecimalField(required=False, max_digits=5, decimal_places=1, min_value=0,
                                help_text="cm, or inches if you chose lb / in")


class DiagnosisForm(forms.Form):
    code = forms.ChoiceField(label="Diagnosis (ICD-10-CM)")
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [("", "— choose —")] + [
            (code, f"{code} {label}") for code, label in sorted(diagnosis_catalogue().items())
        ]


class DiagnosisErrorForm(forms.Form):
    reason = forms.CharField(max_length=300)
