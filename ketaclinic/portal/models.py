"""The patient portal: a patient's own login, one-time invitations, trusted devices and emailed sign-in codes.

Secrets (invitation tokens, sign-in codes) are stored only as SHA-256 hashes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketaclinic.modelparts import Created, PublicId


class PatientAccount(models.Model):
    """Links a portal login to exactly one patient. Staff never have one."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient_account")
    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="portal_account")
    created_at = models.DateTimeField(default=timezone.now)
    invitation = models.ForeignKey("Invitation", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"Portal account of patient {self.patient_id}"


class Invitation(Created, PublicId):
    """A one-time link that lets a patient create their portal login. Expires; usable once."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="portal_invitations")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Portal invitation for patient {self.patient_id}"

    @property
    def state(self) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class TrustedDevice(models.Model):
    """A browser where the patient completed the emailed code; identified by a signed, HttpOnly cookie."""

    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="devices")
    device_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Trusted device of account {self.account_id}"


class LoginCode(models.Model):
    """A 6-digit code emailed on sign-in from a new device. Hashed, short-lived, limited attempts."""

    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="login_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Sign-in code for account {self.account_id}"


class EducationPage(models.Model):
    """A page of patient education in the portal (what ketamine therapy is, what to expect, aftercare, costs,
    questions). Its words live in its versions; patients see the newest version a prescriber approved."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    slug = models.SlugField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["clinic", "slug"], name="unique_education_page_slug")]

    def __str__(self) -> str:
        return self.slug


class EducationVersion(models.Model):
    """One version of a page's text: append-only. Written once (by a clinic admin or prescriber, or shipped by the
    project when ``written_by`` is empty); approved once by a prescriber, after which patients may see it. Never
    edited or deleted: a change is a new version."""

    page = models.ForeignKey(EducationPage, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain text with ## headings, - bullets, **bold** and [links](https://...)")
    sources = models.TextField(help_text="One source a line: where every statement on the page comes from")
    note = models.CharField(max_length=300, blank=True, help_text="What changed, and why")
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    CONTENT = ("page_id", "number", "title", "body", "sources", "note", "written_by_id", "written_at")

    class Meta:
        ordering = ["page", "-number"]
        constraints = [models.UniqueConstraint(fields=["page", "number"], name="unique_education_version")]

    def __str__(self) -> str:
        return f"{self.page_id} v{self.number}"

    @property
    def shipped(self) -> bool:
        return self.written_by_id is None

    def source_lines(self) -> list[str]:
        return [line.strip() for line in self.sources.splitlines() if line.strip()]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            stored = type(self).objects.get(pk=self.pk)
            if any(getattr(stored, f) != getattr(self, f) for f in self.CONTENT) or stored.approved_at is not None:
                raise ValueError("An education version is append-only: write a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("An education version is append-only: it is never deleted.")
