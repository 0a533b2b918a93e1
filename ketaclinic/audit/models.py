"""The audit trail: append-only, hash-chained, written in the same transaction as each change."""

from __future__ import annotations

from django.db import models

from ketaclinic.modelparts import person


class AppendOnlyError(RuntimeError):
    pass


class ChainHead(models.Model):
    """The last sequence number and hash of a chain; locked while appending so entries stay in order."""

    name = models.CharField(max_length=40, unique=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seq}"


class ChainedEntry(models.Model):
    """One entry of a hash-chained, append-only log (the audit trail, the custody ledger): its place in the chain,
    when and by whom, its details, and the hashes that link it to the entry before (``chain.py``).

    Never updated or deleted: ``save`` of a stored entry and ``delete`` raise ``AppendOnlyError`` (and the database
    triggers of ``append_only.py`` refuse it as well); a mistake is corrected by a new entry."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = person(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    #: How a mistake in the log is put right, said to anyone who tries to change a stored entry.
    correction = "they cannot be changed"
    #: The chain's name: its ``ChainHead`` row and its lines in the checkpoint file (``checkpoints.py``).
    chain = ""

    class Meta:
        abstract = True
        ordering = ["-seq"]

    def content(self) -> dict[str, object]:
        """What the hash covers: the chain's own fields and what the log adds (``logged``)."""
        return {"seq": self.seq, "at": self.at.isoformat(), "actor_id": self.actor_id, "actor_label": self.actor_label,
                "details": self.details, **self.logged()}

    def logged(self) -> dict[str, object]:
        """The log's own fields the hash covers."""
        raise NotImplementedError

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._append_only()}; {self.correction}.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._append_only()}; they cannot be deleted.")

    def _append_only(self) -> str:
        return f"{str(self._meta.verbose_name_plural).capitalize()} are append-only"


class AuditEntry(ChainedEntry):
    chain = "audit"
    roles = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    subject_type = models.CharField(max_length=60, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # The clinic of the network the entry was made at (the request's acting clinic, ketaclinic/acting.py), by key:
    # the audit app stands below the clinic app, and the trail is too long to check a reference on. None: made
    # outside any clinic (the worker, a command) or before entries named their clinic.
    clinic_pk = models.BigIntegerField(null=True, blank=True)

    class Meta(ChainedEntry.Meta):
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["patient", "-at"], name="audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def logged(self) -> dict[str, object]:
        return {
            "roles": self.roles,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "patient_id": self.patient_id,
            "client_ip": self.client_ip,
            # only when set, so the entries written before the field existed hash as they did
            **({"clinic_pk": self.clinic_pk} if self.clinic_pk is not None else {}),
        }


class RecordSeal(models.Model):
    """The index of the seals in the audit trail (``seals.py``): which record, its content hash, and the keyed
    audit entry that holds the same hash. Append-only (database triggers); ``verify_records`` checks each row
    against its entry, so editing this table alone is caught."""

    record = models.CharField(max_length=60)  # the model's label, e.g. "treatments.TreatmentSession"
    record_pk = models.CharField(max_length=40)
    hash = models.CharField(max_length=64)
    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="seal")

    class Meta:
        indexes = [models.Index(fields=["record", "record_pk", "-id"], name="seal_record_newest")]

    def __str__(self) -> str:
        return f"{self.record} {self.record_pk}: {self.hash[:12]}"
