"""Reminders: the clinic's reminder settings, each patient's channel consent and time zone, every message sent
(one row per idempotency key, so nothing is ever sent twice) and the YES/NO replies to ride confirmations."""

from __future__ import annotations

from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ketaclinic.modelparts import PublicId, person


class AppendOnly(models.Model):
    """A row written once: never updated, never deleted (a newer row supersedes it)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError(f"{self._meta.verbose_name} is append-only: add a new row instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(f"{self._meta.verbose_name} is append-only and is never deleted.")


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class Kind(models.TextChoices):
    APPOINTMENT = "appointment", "Appointment"
    SESSION = "session", "Dosing session"
    PREPARATION = "preparation", "Preparation (fasting)"
    RIDE = "ride", "Ride confirmation"
    QUESTIONNAIRE = "questionnaire", "Questionnaire due"


# Time-of-day defaults are functions, not fixed ``time`` values: Django's check W161 warns about a fixed time
# default whenever it is run within 10 seconds of that time of day, which failed CI's ``manage check`` at 21:00:00.
def default_quiet_start() -> time:
    return time(21, 0)


def default_quiet_end() -> time:
    return time(8, 0)


class ReminderSettings(models.Model):
    """The clinic's reminder settings. None of these numbers is clinical and the reference gives none: each is the
    clinic's choice, with a default a clinic can change on the reminders page."""

    clinic = models.OneToOneField("clinic.Clinic", on_delete=models.PROTECT, related_name="reminder_settings")
    quiet_start = models.TimeField(default=default_quiet_start, help_text="No message from this time (patient's zone)")
    quiet_end = models.TimeField(default=default_quiet_end, help_text="... until this time")
    appointment_lead_hours = models.PositiveIntegerField(default=24)
    session_lead_hours = models.PositiveIntegerField(default=48)
    preparation_lead_hours = models.PositiveIntegerField(default=24)
    ride_lead_hours = models.PositiveIntegerField(default=48)
    max_attempts = models.PositiveIntegerField(default=3, help_text="Tries of one message before giving up")
    retry_minutes = models.PositiveIntegerField(default=15, help_text="Wait before trying a failed message again")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = person(null=True, blank=True)

    class Meta:
        verbose_name_plural = "reminder settings"

    def __str__(self) -> str:
        return f"Reminder settings of {self.clinic}"

    def lead_hours(self, kind: str) -> int:
        return {Kind.APPOINTMENT: self.appointment_lead_hours, Kind.SESSION: self.session_lead_hours,
                Kind.PREPARATION: self.preparation_lead_hours, Kind.RIDE: self.ride_lead_hours}[kind]


class PatientContact(models.Model):
    """A patient's own time zone, when it is not the clinic's (quiet hours are read in it)."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="reminder_contact")
    time_zone = models.CharField(max_length=64, blank=True, help_text="Blank: the clinic's time zone")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = person(null=True, blank=True)

    def __str__(self) -> str:
        return f"time zone {self.time_zone or 'of the clinic'}"


class ChannelConsent(AppendOnly):
    """One decision about one channel for one patient: consent given or withdrawn, by staff or by the patient's
    own keyword (STOP / START). The newest row per channel is the patient's current choice."""

    class Source(models.TextChoices):
        STAFF = "staff", "Recorded by staff"
        KEYWORD = "keyword", "Patient's reply keyword"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="channel_consents")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    allowed = models.BooleanField()
    source = models.CharField(max_length=10, choices=Source.choices)
    recorded_by = person(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["recorded_at", "pk"]
        indexes = [models.Index(fields=["patient", "channel", "recorded_at"], name="consent_patient_channel")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {'allowed' if self.allowed else 'opted out'} {self.recorded_at:%Y-%m-%d}"


class Reminder(PublicId):
    """One message to one patient on one channel. ``key`` (kind, target, channel, due moment) is unique: the row is
    claimed before the message goes out, so a second worker or a rerun never sends it again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        GAVE_UP = "gave_up", "Failed, gave up"
        SKIPPED = "skipped", "Not sent"
        UNKNOWN = "unknown", "Outcome unknown (it may have gone out; never sent again)"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="reminders")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    session = models.ForeignKey("treatments.TreatmentSession", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    due_item = models.ForeignKey("measures.DueItem", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    due_at = models.DateTimeField(help_text="When the reminder became due")
    send_after = models.DateTimeField(help_text="Not before this moment (after quiet hours)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "send_after"], name="reminder_status_after")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} ({self.get_status_display()})"


class RideReply(AppendOnly):
    """A patient's YES or NO to a ride confirmation, recorded on the dosing session it asked about."""

    class Answer(models.TextChoices):
        YES = "yes", "Yes, ride arranged"
        NO = "no", "No ride"

    reminder = models.ForeignKey(Reminder, on_delete=models.PROTECT, related_name="ride_replies")
    session = models.ForeignKey("treatments.TreatmentSession", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(max_length=4, choices=Answer.choices)
    from_number = models.CharField(max_length=32)
    text = models.CharField(max_length=160)
    via = models.CharField(max_length=20, help_text="webhook or console")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"ride {self.answer} {self.received_at:%Y-%m-%d %H:%M}"
