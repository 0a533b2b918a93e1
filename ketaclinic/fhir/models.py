"""The FHIR facade's own records: the backend clients a clinic admin registers (SMART Backend Services), the
short-lived access tokens they are issued, the signed assertions already used (replay refusal), and bulk export
jobs.

A token is stored only as the SHA-256 of its value: the value is shown once, to the client that asked for it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ketaclinic.modelparts import PublicId, person


class BackendClient(PublicId):
    """A system allowed to call the FHIR API for one clinic: its public keys (a JWKS, RS384 or ES384), the scopes
    a clinic admin granted it, and whether it is still active. Revoking a client refuses its tokens at once."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="fhir_clients")
    name = models.CharField(max_length=120)
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    jwks = models.JSONField(help_text='Public keys as a JWK Set: {"keys": [...]}, each with a "kid"')
    scopes = models.TextField(help_text="The SMART scopes granted, space-separated (system/Observation.rs ...)")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = person()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = person(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def key_ids(self) -> list[str]:
        return [k.get("kid", "") for k in (self.jwks or {}).get("keys", [])]


class AccessToken(models.Model):
    """A bearer token issued to a backend client: its SHA-256 only, the scopes it carries, and when it expires."""

    client = models.ForeignKey(BackendClient, on_delete=models.PROTECT, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.TextField()
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"token of {self.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class UsedAssertion(models.Model):
    """A signed client assertion's ``jti`` seen once: the same one again is refused until well after it expires."""

    client = models.ForeignKey(BackendClient, on_delete=models.PROTECT, related_name="used_assertions")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="fhir_assertion_used_once")]

    def __str__(self) -> str:
        return f"assertion {self.jti} of {self.client_id}"


class ExportJob(PublicId):
    """One bulk data ``$export`` request (Bulk Data Access IG v2): what was asked for, its progress, and the NDJSON
    files it wrote (under ``bulk.export_dir() / <external_id>``), served only to the same client until they expire."""

    class Kind(models.TextChoices):
        SYSTEM = "system", "System"
        PATIENT = "patient", "All patients"
        GROUP = "group", "Group"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired (files deleted)"

    client = models.ForeignKey(BackendClient, on_delete=models.PROTECT, related_name="export_jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    group_id = models.CharField(max_length=64, blank=True)
    types = models.JSONField(default=list, help_text="The resource types asked for (_type); empty for all allowed")
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="When the worker last reported progress")
    created_at = models.DateTimeField(default=timezone.now)
    transaction_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    output = models.JSONField(default=list, help_text='[{"type": ..., "file": ..., "count": ...}]')

    class Meta:
        ordering = ["-created_at", "-pk"]


#: A stored PDF reserved by an export and still to be drawn by the background worker (``StoredPdf.WAITING``).
PDF_WAITING = models.Q(content__isnull=True, worker_skipped_at__isnull=True)


class StoredPdf(PublicId):
    """The bytes of one printable document as the FHIR facade serves it (``Binary/<external_id>``), made once and
    kept, so its size and SHA-1 in the DocumentReference always match what Binary returns.

    The app's PDFs print the moment they were printed, so drawing one again would give other bytes; the facade
    therefore draws a document the first time a FHIR answer names it and keeps that copy. ``version`` says which
    state of the record it was drawn from (``<app>/fhir_documents.py``: e.g. the signatures and the number of
    addenda of a session record); a record that changed gets a new copy, and the older copies stay readable.

    A bulk export does not draw: it reserves the copy's id for the record's version (``content`` empty) and writes
    the URL without size and hash; the first ``Binary`` read draws it, if the record still shows that version."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40)
    record_id = models.UUIDField(help_text="the public id of the record the document is drawn from")
    version = models.CharField(max_length=200)
    sha1 = models.CharField(max_length=28, help_text="base64 of the SHA-1 of content (FHIR Attachment.hash)")  # "": not drawn
    size = models.PositiveIntegerField(null=True, blank=True)
    content = models.BinaryField(null=True, blank=True, help_text="empty: reserved by a bulk export, not drawn yet")
    worker_skipped_at = models.DateTimeField(
        null=True, blank=True, help_text="when the background worker gave up on this reserved copy: its record no "
        "longer showed the version the export named, or drawing it failed (logged); a Binary read still tries")
    created_at = models.DateTimeField(default=timezone.now)

    WAITING = PDF_WAITING

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "record_id", "version"], name="fhir_pdf_one_per_version")]
        indexes = [models.Index(fields=["kind", "record_id"], name="fhir_pdf_record"),
                   models.Index(fields=["id"], name="fhir_pdf_waiting", condition=PDF_WAITING)]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id} ({self.version})"
