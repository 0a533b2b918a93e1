"""Forms for the consult: starting it, intake, prior trials, baseline scales and the prescriber's signature.

Every POST is read by one of these forms. The forms read what was typed strictly (plain numbers, known codes);
the services (``screening/services.py``) still decide what is plausible and eligible, and their refusals are
shown next to the field they name."""

from __future__ import annotations

from django import forms

from ketaclinic.clinical import eligibility as elig
from ketaclinic.formfields import StrictDecimalField, TextField, WholeNumberField, note_field
from ketaclinic.screening import services
from ketaclinic.screening.models import Consult, PlannedDrug, TreatmentTrial

CHOOSE_DRUG = "Choose ketamine or esketamine."
#: Whole numbers for baseline vitals are read up to this; the clinical core checks the plausible range.
VITAL_DIGITS_MAX = 10**6
#: The longest intake note kept (the consult's service keeps at most this many characters).
NOTES_MAX = 5000
#: The longest reason written at signing: treating despite a relative contraindication, or retracting an absolute
#: finding entered in error (the service keeps at most 2,000 characters of the latter).
SIGN_REASON_MAX = 2000


def _drug_field(**kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(choices=PlannedDrug.choices, label="Treatment considered",
                             error_messages={"required": CHOOSE_DRUG, "invalid_choice": CHOOSE_DRUG}, **kwargs)


class StartConsultForm(forms.Form):
    drug = _drug_field()


class IntakeForm(forms.Form):
    """Diagnoses, history flags, medication classes, weight, height, baseline vitals and notes. Blank numbers stay
    blank; the service checks the plausible ranges (weight from the clinic's dosing limits)."""

    drug = _drug_field(required=False)
    weight_kg = StrictDecimalField.for_model(Consult, "weight_kg", required=False, label="Weight (kg)")
    height_cm = StrictDecimalField.for_model(Consult, "height_cm", required=False, label="Height (cm)")
    baseline_systolic_mmHg = WholeNumberField(max_value=VITAL_DIGITS_MAX, required=False, label="Systolic")
    baseline_diastolic_mmHg = WholeNumberField(max_value=VITAL_DIGITS_MAX, required=False, label="Diastolic")
    baseline_heart_rate_bpm = WholeNumberField(max_value=VITAL_DIGITS_MAX, required=False, label="Heart rate")
    baseline_spo2_percent = WholeNumberField(max_value=VITAL_DIGITS_MAX, required=False, label="SpO2")
    diagnoses = forms.MultipleChoiceField(
        choices=sorted(elig.ICD10_CODES.items()), required=False,
        error_messages={"invalid_choice": "%(value)s is not in the clinic's ICD-10-CM list."})
    history_flags = forms.MultipleChoiceField(
        choices=list(services.HISTORY_FLAG_LABELS.items()), required=False,
        error_messages={"invalid_choice": "Unknown history flag: %(value)s"})
    medication_classes = forms.MultipleChoiceField(
        choices=list(services.MEDICATION_CLASS_LABELS.items()), required=False,
        error_messages={"invalid_choice": "Unknown medication class: %(value)s"})
    notes = note_field(label="Notes", max_length=NOTES_MAX, required=False, strip=False)

    @classmethod
    def for_consult(cls, consult: Consult) -> IntakeForm:
        """The intake as recorded, to edit."""
        return cls(initial={name: getattr(consult, name) for name in cls.base_fields})

    def data_for_service(self) -> dict[str, object]:
        data = dict(self.cleaned_data)
        if not data.get("drug"):
            data.pop("drug", None)  # not sent: the consult keeps its drug
        return data


class TrialForm(forms.Form):
    drug = TextField(label="Drug", max_length=TreatmentTrial._meta.get_field("drug").max_length,
                     error_messages={"required": "Name the drug or treatment."})
    dose = TextField(label="Dose", max_length=TreatmentTrial._meta.get_field("dose").max_length, required=False)
    weeks = StrictDecimalField.for_model(TreatmentTrial, "weeks", label="Weeks",
                                         error_messages={"required": "Enter the number of weeks."})
    adequate_dose = forms.BooleanField(required=False)
    outcome = forms.ChoiceField(choices=TreatmentTrial.Outcome.choices,
                                error_messages={"required": "Choose the response.",
                                                "invalid_choice": "Choose the response."})


class BaselineScaleChoiceForm(forms.Form):
    """Which baseline scale a posted scale form is (its answers are read by ``ScaleAnswersForm`` with the scale's
    code as prefix)."""

    scale = forms.ChoiceField(choices=[(c, c) for c in services.BASELINE_SCALES],
                              error_messages={"required": "Choose a baseline scale.",
                                              "invalid_choice": "Choose a baseline scale."})


class SignForm(forms.Form):
    """The prescriber's decision on an assessment: accept, decline, or retract a signed absolute finding."""

    decision = forms.ChoiceField(choices=[("accept", "accept"), ("decline", "decline"), ("retract", "retract")],
                                 error_messages={"required": "Choose accept or decline.",
                                                 "invalid_choice": "Choose accept or decline."})
    override_reason = note_field(label="Override reason", max_length=SIGN_REASON_MAX, required=False)
    reason = note_field(label="Reason it was entered in error", max_length=SIGN_REASON_MAX, required=False)

    @property
    def retract(self) -> bool:
        return self.cleaned_data.get("decision") == "retract"
