"""The audit trail: append-only, hash-chained, written in the same transaction as each change."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    pass


class ChainHead(models.Model):
    """The last sequence number and hash of a chain; locked while appending so entries stay in order."""

    name = models.CharField(max_length=40, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seq}"


class AuditEntry(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    roles = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    subject_type = models.CharField(max_length=60, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["patient", "-at"], name="audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def content(self) -> dict[str, object]:
        """What the hash covers."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "roles": self.roles,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "patient_id": self.patient_id,
            "client_ip": self.client_ip,
            "details": self.details,
        }

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit entries are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only; they cannot be deleted.")
