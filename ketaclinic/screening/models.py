"""Intake and eligibility: the consult, prior treatment trials, baseline scales and the signed assessment.

A consult gathers what the clinical core's eligibility rule needs (diagnoses, trials, history flags, medication
classes, baseline vitals, weight, age) plus the baseline rating scales. ``EligibilityAssessment`` keeps a
snapshot of the core's decision with every reason and source, and the prescriber's signature: accepted, accepted
over a relative contraindication with a written reason, or declined. Once signed, the consult is read-only.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ketaclinic.encryption import EncryptedTextField
from ketaclinic.measures.models import ScaleNamed
from ketaclinic.modelparts import Created, PublicId, Recorded, ScaleScore, Signed, person


class PlannedDrug(models.TextChoices):
    KETAMINE = "ketamine", "Ketamine (racemic, IV or IM)"
    ESKETAMINE = "esketamine", "Esketamine nasal spray (Spravato)"


class Consult(Created, PublicId):
    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress", "In progress"
        SIGNED = "signed", "Assessment signed"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consults")
    drug = models.CharField("treatment considered", max_length=20, choices=PlannedDrug.choices,
                            default=PlannedDrug.KETAMINE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS, db_index=True)
    diagnoses = models.JSONField(default=list, blank=True, help_text="ICD-10-CM codes considered")
    history_flags = models.JSONField(default=list, blank=True)
    medication_classes = models.JSONField(default=list, blank=True)
    weight_kg = models.DecimalField("weight (kg)", max_digits=6, decimal_places=2, null=True, blank=True)
    height_cm = models.DecimalField("height (cm)", max_digits=5, decimal_places=1, null=True, blank=True)
    baseline_systolic_mmHg = models.PositiveIntegerField("baseline systolic (mmHg)", null=True, blank=True)
    baseline_diastolic_mmHg = models.PositiveIntegerField("baseline diastolic (mmHg)", null=True, blank=True)
    baseline_heart_rate_bpm = models.PositiveIntegerField("baseline heart rate (bpm)", null=True, blank=True)
    baseline_spo2_percent = models.PositiveIntegerField("baseline SpO2 (%)", null=True, blank=True)
    notes = EncryptedTextField(blank=True, help_text="Encrypted at rest (ketaclinic/encryption.py)")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Consult {self.created_at:%Y-%m-%d} ({self.get_drug_display()})"

    @property
    def is_locked(self) -> bool:
        return self.status != self.Status.IN_PROGRESS


class TreatmentTrial(Recorded):
    """One prior treatment trial, so adequate failed trials can be counted."""

    class Outcome(models.TextChoices):
        NO_RESPONSE = "no_response", "No response"
        PARTIAL = "partial", "Partial response"
        RESPONSE = "response", "Response"
        NOT_TOLERATED = "not_tolerated", "Not tolerated"

    consult = models.ForeignKey(Consult, on_delete=models.PROTECT, related_name="trials")
    drug = models.CharField(max_length=120)
    dose = models.CharField(max_length=60, help_text="e.g. 200 mg daily")
    weeks = models.DecimalField(max_digits=5, decimal_places=1)
    adequate_dose = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)

    def __str__(self) -> str:
        return f"{self.drug} {self.dose} x {self.weeks} wk"


class BaselineScale(Recorded, ScaleScore, ScaleNamed):
    """A rating scale given at the consult, scored by the clinical core."""

    consult = models.ForeignKey(Consult, on_delete=models.PROTECT, related_name="scales")
    scale = models.CharField(max_length=20)
    complete = models.BooleanField(default=False)
    detail = models.TextField(blank=True)
    administration = models.ForeignKey("measures.Administration", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", help_text="the item-by-item record in measures")

    def __str__(self) -> str:
        return f"{self.scale_name} {self.total}"


class EligibilityAssessment(PublicId, Signed):
    """The clinical core's decision for a consult, snapshotted, and the prescriber's signature."""

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", "Eligible"
        REVIEW = "review", "Needs prescriber review"
        NOT_ELIGIBLE = "not_eligible", "Not eligible (absolute contraindication)"

    class Decision(models.TextChoices):
        PENDING = "pending", "Awaiting prescriber"
        ACCEPTED = "accepted", "Accepted"
        OVERRIDDEN = "overridden", "Accepted over relative contraindication(s)"
        DECLINED = "declined", "Declined"

    consult = models.ForeignKey(Consult, on_delete=models.PROTECT, related_name="assessments")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="eligibility_assessments")
    drug = models.CharField(max_length=20, choices=PlannedDrug.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reasons = models.JSONField(default=list, help_text="[{code, text, severity, source}] from the clinical core")
    adequate_trials = models.PositiveIntegerField(default=0)
    inputs = models.JSONField(default=dict, help_text="What the decision was computed from")
    assessed_at = models.DateTimeField(default=timezone.now)
    assessed_by = person()
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    override_reason = models.TextField(blank=True)
    # A prescriber may later mark the absolute finding entered-in-error (with a reason); until then it blocks orders.
    absolute_retracted_at = models.DateTimeField(null=True, blank=True)
    absolute_retracted_by = person(null=True, blank=True)
    absolute_retraction_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-assessed_at", "-pk"]

    @property
    def allows_orders(self) -> bool:
        return self.decision in (self.Decision.ACCEPTED, self.Decision.OVERRIDDEN) and \
            self.outcome != self.Outcome.NOT_ELIGIBLE

    @property
    def has_absolute(self) -> bool:
        return any(r.get("severity") == "absolute" for r in self.reasons)

    @property
    def absolute_reasons(self) -> list[dict]:
        return [r for r in self.reasons if r.get("severity") == "absolute"]

    @property
    def absolute_in_force(self) -> bool:
        """A signed absolute finding not retracted by a prescriber: it blocks every order."""
        return self.signed_at is not None and self.has_absolute and self.absolute_retracted_at is None

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.get_decision_display()})"
