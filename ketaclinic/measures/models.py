"""Measurement-based care: administered rating scales (item by item), schedules and the due list, safety tasks
raised by a scale's safety items, the clinician on call, and booster prompts when a response is lost.

Scoring, bands, safety flags and the loss-of-response rule come only from ``ketaclinic.clinical``; this app
stores what was answered and what the core said about it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ketaclinic.clinical.scales import SCALES
from ketaclinic.modelparts import EnteredInError, PublicId, Resolved, person

SCALE_CHOICES = [(code, s.name) for code, s in SCALES.items()]


def scale_name(code: str) -> str:
    scale = SCALES.get(code)
    return scale.name if scale else code


class ScaleNamed(models.Model):
    """A record of one rating scale, whose ``scale`` field holds the scale's code."""

    class Meta:
        abstract = True

    @property
    def scale_name(self) -> str:
        """The scale's name as the clinical core writes it (e.g. "PHQ-9"), never its stored code."""
        return scale_name(self.scale)


class Timing(models.TextChoices):
    """Why a scale was given at this moment (the schedule slot it fills)."""

    BASELINE = "baseline", "Baseline"
    PRE_DOSE = "pre-dose", "Before a dosing session"
    H24 = "24h", "24 hours after dosing"
    D7 = "7d", "7 days after dosing"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    AD_HOC = "ad-hoc", "Unscheduled"


class Administration(PublicId, EnteredInError, ScaleNamed):
    """One completion (or partial completion) of a scale by or for a patient.

    FHIR-like status: ``draft`` (in progress, never scored), ``final``, ``amended`` (a corrected final that
    replaces an earlier one), ``entered-in-error``. Answers live in :class:`ItemAnswer`, one row per item.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (not scored)"
        FINAL = "final", "Final"
        AMENDED = "amended", "Amended"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"

    class Source(models.TextChoices):
        STAFF = "staff", "Entered by staff in the clinic"
        PORTAL = "portal", "Completed by the patient in the portal"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="administrations")
    scale = models.CharField(max_length=20, choices=SCALE_CHOICES)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(max_length=10, choices=Source.choices)
    timing = models.CharField(max_length=10, choices=Timing.choices, default=Timing.AD_HOC)
    session = models.ForeignKey(
        "treatments.TreatmentSession", null=True, blank=True, on_delete=models.PROTECT, related_name="administrations"
    )
    administered_at = models.DateTimeField(default=timezone.now, help_text="When the answers were given")
    entered_by = person(null=True, blank=True)
    total = models.IntegerField(null=True, blank=True)
    band = models.CharField(max_length=80, blank=True)
    flags = models.JSONField(default=list, blank=True, help_text="Safety flags from the clinical core")
    complete = models.BooleanField(default=False)
    scoring_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by")

    class Meta:
        ordering = ["administered_at"]
        indexes = [models.Index(fields=["patient", "scale", "status", "administered_at"], name="admin_patient_scale")]

    def __str__(self) -> str:
        return f"{scale_name(self.scale)} {self.get_status_display()} {self.administered_at:%Y-%m-%d}"

    @property
    def counts(self) -> bool:
        """Counts on trajectories: a scored, current result."""
        return self.status in (self.Status.FINAL, self.Status.AMENDED)

    @property
    def urgent_flags(self) -> list[dict]:
        return [f for f in self.flags if f.get("urgent")]


class ItemAnswer(models.Model):
    """One answered item, with its LOINC question and answer codes where the clinical core has them."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="answers")
    item_id = models.CharField(max_length=20)
    value = models.IntegerField()
    loinc_code = models.CharField(max_length=20, blank=True)
    loinc_answer = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["administration", "item_id"], name="unique_item_answer")]

    def __str__(self) -> str:
        return f"{self.item_id}={self.value}"


class MeasureSchedule(models.Model):
    """Which scale is due when for one patient. Created from the clinic defaults, editable per patient."""

    class Repeat(models.TextChoices):
        NONE = "none", "No repeat"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="measure_schedules")
    scale = models.CharField(max_length=20, choices=SCALE_CHOICES)
    baseline = models.BooleanField(default=True, help_text="Once, at the consult")
    pre_dose = models.BooleanField(default=False, help_text="Before each dosing session")
    after_24h = models.BooleanField(default=False, help_text="24 hours after each dosing session")
    after_7d = models.BooleanField(default=False, help_text="7 days after each dosing session")
    repeat = models.CharField(max_length=10, choices=Repeat.choices, default=Repeat.NONE)
    active = models.BooleanField(default=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = person(null=True, blank=True)

    class Meta:
        ordering = ["scale"]
        constraints = [models.UniqueConstraint(fields=["patient", "scale"], name="unique_schedule_scale")]

    def __str__(self) -> str:
        return f"{scale_name(self.scale)} schedule for patient {self.patient_id}"


class DueItem(PublicId, ScaleNamed):
    """A scale due at a moment, generated from the schedule and the patient's dosing sessions."""

    class Status(models.TextChoices):
        OPEN = "open", "Due"
        DONE = "done", "Completed"
        CANCELLED = "cancelled", "No longer needed"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="due_measures")
    scale = models.CharField(max_length=20, choices=SCALE_CHOICES)
    timing = models.CharField(max_length=10, choices=Timing.choices)
    session = models.ForeignKey("treatments.TreatmentSession", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    available_from = models.DateTimeField(help_text="When the patient may start it")
    due_at = models.DateTimeField(help_text="Overdue after this moment")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    administration = models.ForeignKey(Administration, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="due_items")
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    slot_key = models.CharField(max_length=80, help_text="Identifies the schedule slot, so it is generated once")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["patient", "scale", "slot_key"], name="unique_due_slot")]
        indexes = [models.Index(fields=["status", "due_at"], name="due_status_at")]

    def __str__(self) -> str:
        return f"{scale_name(self.scale)} {self.get_timing_display()} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_at < timezone.now()


class OnCall(models.Model):
    """The prescriber on call for a clinic's safety tasks on a date (the clinic's time zone): each clinic of a
    network keeps its own roster, of prescribers who hold the role there."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    clinician = person()
    set_by = person(null=True, blank=True)
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["clinic", "day"], name="one_on_call_a_day_per_clinic")]

    def __str__(self) -> str:
        return f"{self.day}: {self.clinician}"


class SafetyTask(PublicId):
    """Urgent task raised by a safety answer (PHQ-9 item 9, QIDS-SR16 item 12, C-SSRS high risk), or by words of
    self-harm in a patient's secure message (``services.raise_safety_task``).

    Open until a clinician acknowledges it, recording what they did. Never deleted.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    class Action(models.TextChoices):
        CONTACTED = "contacted", "Contacted the patient; risk assessed"
        CSSRS = "cssrs", "C-SSRS screener completed with the patient"
        SAFETY_PLAN = "safety_plan", "Safety plan reviewed / made"
        EMERGENCY = "emergency", "Emergency services / crisis team involved"
        NO_CONTACT = "no_contact", "Could not reach the patient; escalated"
        OTHER = "other", "Other (described below)"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="safety_tasks")
    # the questionnaire whose answers raised it; empty for a task raised elsewhere (a secure message), which says
    # where it came from in ``origin`` and links there with ``origin_path`` (measures imports no higher app)
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="safety_tasks",
                                       null=True, blank=True)
    origin = models.CharField(max_length=120, blank=True, help_text="Where a task not raised by a questionnaire "
                              "came from, in words (e.g. 'Secure message')")
    origin_path = models.CharField(max_length=300, blank=True, help_text="The page of that origin (a path)")
    flag_code = models.CharField(max_length=40)
    message = models.TextField()
    source = models.TextField(blank=True, help_text="The clinical core's citation for the rule")
    assigned_to = person(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    acknowledged_by = person(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.CharField(max_length=20, choices=Action.choices, blank=True)
    action_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["administration", "flag_code"], name="unique_task_per_flag")]
        indexes = [models.Index(fields=["status", "created_at"], name="safety_status_at")]

    def __str__(self) -> str:
        return f"Safety task {self.flag_code} ({self.get_status_display()})"


class BoosterPrompt(PublicId, Resolved, ScaleNamed):
    """The clinical core's loss-of-response rule fired: the prescriber should consider a booster."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BOOKED = "booked", "Booster planned"
        DISMISSED = "dismissed", "Dismissed"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="booster_prompts")
    scale = models.CharField(max_length=20, choices=SCALE_CHOICES)
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="booster_prompts")
    induction_end = models.DateField()
    nadir_total = models.IntegerField()
    nadir_on = models.DateField()
    latest_total = models.IntegerField()
    latest_on = models.DateField()
    rise = models.IntegerField()
    detail = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Booster prompt {scale_name(self.scale)} +{self.rise}"
