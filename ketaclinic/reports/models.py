"""The reports app's own records: a patient's yes or no to research use of their data (append-only history), and
the background jobs that write a research export or a whole report as a file for the person who asked."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ketaclinic.modelparts import PublicId, person


class ResearchConsent(models.Model):
    """One decision of one patient about research use of their de-identified data. Never changed or deleted (a
    database trigger refuses it, audit/append_only.py): a new decision is a new row, and the patient's current
    decision is their latest row. Only a patient whose latest decision is "given" at export time is exported."""

    class Decision(models.TextChoices):
        GIVEN = "given", "Consents to research use"
        REFUSED = "refused", "Refuses research use"
        WITHDRAWN = "withdrawn", "Withdrew consent"

    class How(models.TextChoices):
        PAPER = "paper", "Signed paper form"
        VERBAL = "verbal", "Verbally, to staff"
        PORTAL = "portal", "In the patient portal"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="research_consents")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    how = models.CharField("how it was given", max_length=10, choices=How.choices)
    recorded_by = person()
    recorded_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True, help_text="Never exported")

    class Meta:
        ordering = ["recorded_at", "pk"]
        indexes = [models.Index(fields=["patient", "recorded_at"], name="research_consent_latest")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.recorded_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("A research consent decision is append-only: record a new decision instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A research consent decision is append-only and is never deleted.")


class ReportJob(PublicId):
    """A file written in the background for the person who asked: the de-identified research export (a ZIP of
    CSVs) or one whole report as CSV. Served only to ``requested_by``; the file is deleted
    ``REPORT_EXPORT_KEEP_DAYS`` after it was finished (``jobs.prune_jobs``)."""

    class Kind(models.TextChoices):
        RESEARCH_EXPORT = "research_export", "De-identified research export"
        REPORT_CSV = "report_csv", "Report as CSV"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Ready to download"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired (file deleted)"
        REVOKED = "revoked", "Withdrawn (a consent changed; file deleted)"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True, help_text="The report's slug and filters")
    requested_by = person()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="What the file holds (counts only)")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took the job")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["requested_by", "created_at"], name="report_job_mine")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.COMPLETE, self.Status.FAILED, self.Status.EXPIRED, self.Status.REVOKED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETE:
            return 100
        return min(100, (100 * self.done) // self.total) if self.total else 0


class ResearchExportMember(models.Model):
    """The patients of one research export while it is being written (deleted when it is done): fixes the patient
    set once at the start, so every file and the summary hold the same patients even if a consent changes
    meanwhile, and gives each its random rank (its place in research-id order) so the files are ordered by it in
    the database, never by a database id. Neither the research id nor the date shift is stored."""

    run = models.UUIDField()
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="research_export_members")
    rank = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "patient"], name="research_export_member_once")]
        indexes = [models.Index(fields=["run", "rank"], name="research_export_member_rank")]

    def __str__(self) -> str:
        return f"export {self.run} #{self.rank}"
