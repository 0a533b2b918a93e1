"""Threads, messages and their attachments. A message is never edited or deleted once sent: the only change the
app makes to one is its read receipt (the time the other side first opened it), set once."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ketaclinic.encryption import EncryptedTextField
from ketaclinic.modelparts import PublicId, person


class AppendOnly(models.Model):
    """Saved once; never saved again through the model, never deleted (the read receipt is set by the service with
    one conditional UPDATE, so it is written once)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"A {self._meta.verbose_name} is never changed once sent.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"A {self._meta.verbose_name} is never deleted.")


class Thread(PublicId):
    """A conversation between one patient and the clinic's care team."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="message_threads")
    subject = models.CharField(max_length=120)
    started_by = person()
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at"]
        indexes = [models.Index(fields=["patient", "last_message_at"], name="msg_thread_patient_at")]

    def __str__(self) -> str:
        return f"Thread {self.subject!r}"


class Message(AppendOnly, PublicId):
    class Side(models.TextChoices):
        PATIENT = "patient", "Patient"
        CARE_TEAM = "care_team", "Care team"

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    side = models.CharField(max_length=10, choices=Side.choices)
    sender = person()
    body = EncryptedTextField()
    sent_at = models.DateTimeField(default=timezone.now)
    # the read receipt: when someone on the other side first opened it, and who
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = person(null=True, blank=True)
    # the clinical core's finding (clinical/messages.py) and the urgent task it raised, for a patient's message
    self_harm_phrases = models.JSONField(default=list, blank=True)
    safety_task = models.ForeignKey("measures.SafetyTask", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")

    class Meta:
        ordering = ["sent_at", "pk"]
        indexes = [models.Index(fields=["thread", "side", "read_at"], name="msg_unread")]

    def __str__(self) -> str:
        return f"Message {self.external_id} ({self.get_side_display()})"


class Attachment(AppendOnly, PublicId):
    """A file sent with a message: its type checked by its first bytes, stored outside the code checkout (0600)
    under a name of the app's making; ``filename`` is only what the download is called."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_as = models.CharField(max_length=64, unique=True)
    scanned_by = models.CharField(max_length=60, blank=True, help_text="The virus scanner that passed it, if any")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Attachment {self.filename} ({self.content_type})"
