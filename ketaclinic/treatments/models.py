"""Treatment orders and treatment sessions.

The shared contract other apps read (measures overlays doses on trajectories, the portal lists
appointments, custody links draws to a session's verified dose): ``TreatmentOrder`` and
``TreatmentSession`` with the fields below. Extend with new fields and migrations; do not rename these.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Drug(models.TextChoices):
    KETAMINE = "ketamine", "Ketamine (racemic)"
    ESKETAMINE = "esketamine", "Esketamine nasal spray (Spravato)"


class Route(models.TextChoices):
    IV = "iv", "Intravenous infusion"
    IM = "im", "Intramuscular injection"
    INTRANASAL = "intranasal", "Intranasal (esketamine)"


class TreatmentOrder(models.Model):
    """A prescriber's signed order for a treatment series."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Signed, active"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_orders")
    drug = models.CharField(max_length=20, choices=Drug.choices)
    route = models.CharField(max_length=20, choices=Route.choices)
    dose_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    fixed_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    infusion_minutes = models.PositiveIntegerField(null=True, blank=True)
    sessions_planned = models.PositiveIntegerField(default=6)
    sessions_per_week = models.PositiveIntegerField(default=2)
    min_spacing_days = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.get_route_display()} × {self.sessions_planned}"


class TreatmentSession(models.Model):
    """One dosing visit: booked into a room, chair and time, then run in the session cockpit."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CHECKED_IN = "checked_in", "Checked in"
        PRE_CHECKS = "pre_checks", "Pre-checks"
        DOSING = "dosing", "Dosing"
        OBSERVATION = "observation", "Observation"
        READY = "ready_for_discharge", "Ready for discharge"
        DISCHARGED = "discharged", "Discharged"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_sessions")
    order = models.ForeignKey(TreatmentOrder, on_delete=models.PROTECT, related_name="sessions")
    sequence = models.PositiveIntegerField(default=1, help_text="1 for the first session of the order")
    drug = models.CharField(max_length=20, choices=Drug.choices)
    route = models.CharField(max_length=20, choices=Route.choices)
    room = models.ForeignKey("clinic.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    chair = models.ForeignKey("clinic.Chair", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scheduled_start = models.DateTimeField(db_index=True)
    scheduled_minutes = models.PositiveIntegerField(default=180)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.BOOKED, db_index=True)
    # The dose: prepared by one clinician, independently verified by a second, then given.
    prepared_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    dose_started_at = models.DateTimeField(null=True, blank=True)
    dose_ended_at = models.DateTimeField(null=True, blank=True)
    administered_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    administered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discharged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scheduled_start"]
        indexes = [models.Index(fields=["patient", "scheduled_start"], name="session_patient_start")]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} session {self.sequence} on {self.scheduled_start:%Y-%m-%d}"

    @property
    def is_dosing_complete(self) -> bool:
        return self.dose_ended_at is not None and self.administered_mg is not None
