"""Integration sessions with a therapist after dosing, and the therapist's notes (clinical roles only)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ketaclinic.encryption import EncryptedTextField
from ketaclinic.modelparts import PublicId, person


class IntegrationSession(PublicId):
    """Offered 24-72 h after a dosing session (``ketaclinic.clinical.schedules.integration_window``)."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        BOOKED = "booked", "Booked"
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Declined by patient"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="integration_sessions")
    dosing_session = models.OneToOneField("treatments.TreatmentSession", on_delete=models.PROTECT,
                                          related_name="integration")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFERED, db_index=True)
    scheduled_start = models.DateTimeField(null=True, blank=True)
    scheduled_minutes = models.PositiveIntegerField(default=50)
    therapist = person(null=True, blank=True)
    room = models.ForeignKey("clinic.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["window_start"]
        # the offers still open (the Today board's count, the therapist's list): expired offers stay "offered", so
        # without the window's end in the index that read grows with every dosing session the clinic ever had
        indexes = [models.Index(fields=["status", "window_end"], name="integration_open_offers")]

    def __str__(self) -> str:
        return f"Integration for {self.patient_id} ({self.status})"


class TherapistNote(models.Model):
    """A therapist's note: visible to prescriber, nurse and therapist only; every read is audited. Notes are
    never edited; a later note corrects an earlier one."""

    session = models.ForeignKey(IntegrationSession, on_delete=models.PROTECT, related_name="notes")
    text = EncryptedTextField(help_text="Encrypted at rest (ketaclinic/encryption.py)")
    author = person()
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["written_at", "pk"]

    def __str__(self) -> str:
        return f"Note {self.written_at:%Y-%m-%d}"
