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
