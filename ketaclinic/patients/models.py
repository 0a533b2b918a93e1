"""The patient registry: identity, contacts, escort, measurements, allergies, medications, diagnoses."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from django.db import models
from django.utils import timezone

from ketaclinic.clinical.identifiers import luhn_check_digit
from ketaclinic.modelparts import EnteredInError, PostalAddress, PublicId, Recorded, person


def name_key(value: str) -> str:
    """Lower-case, accent-free form of a name, used for fast prefix search."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.lower().replace("-", " ").replace("'", "").split())


def mrn_check_digit(number: str) -> int:
    """Luhn check digit over the MRN's digits, so a mistyped MRN is caught at the desk."""
    return luhn_check_digit(number)


def format_mrn(n: int) -> str:
    body = f"{n:07d}"
    return f"KC{body}{mrn_check_digit(body)}"


class Patient(PublicId, PostalAddress):
    class SexAtBirth(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        UNKNOWN = "unknown", "Unknown / not disclosed"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=16, unique=True)
    legal_given_name = models.CharField(max_length=100)
    legal_family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    pronouns = models.CharField(max_length=30, blank=True)
    date_of_birth = models.DateField(db_index=True)
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    escort_name = models.CharField("usual escort", max_length=120, blank=True)
    escort_phone = models.CharField("usual escort phone", max_length=32, blank=True)
    allergies = models.TextField(blank=True, help_text="Free text; write 'No known drug allergies' when confirmed none")
    current_medications = models.TextField(blank=True, help_text="Free text for now")
    # Search keys, kept in step with the names by the services.
    family_key = models.CharField(max_length=100, editable=False)
    given_key = models.CharField(max_length=100, editable=False)
    preferred_key = models.CharField(max_length=100, editable=False, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = person(null=True, blank=True)
    is_demo = models.BooleanField(default=False, help_text="Synthetic demo or scale-test record")

    class Meta:
        ordering = ["legal_family_name", "legal_given_name"]
        indexes = [
            models.Index(fields=["clinic", "family_key", "given_key"], name="patient_family_given"),
            models.Index(fields=["clinic", "given_key", "family_key"], name="patient_given_family"),
            models.Index(fields=["clinic", "preferred_key"], name="patient_preferred"),
            models.Index(fields=["clinic", "date_of_birth"], name="patient_dob"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        self.family_key = name_key(self.legal_family_name)
        self.given_key = name_key(self.legal_given_name)
        self.preferred_key = name_key(self.preferred_name)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.legal_given_name:
            return f"{self.preferred_name} ({self.legal_given_name}) {self.legal_family_name}"
        return f"{self.legal_given_name} {self.legal_family_name}"

    @property
    def legal_name(self) -> str:
        return f"{self.legal_given_name} {self.legal_family_name}"

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    @property
    def address(self) -> str:
        city = " ".join(p for p in [f"{self.city}," if self.city else "", self.state, self.postal_code] if p)
        return ", ".join(p for p in [self.address_line1, self.address_line2, city] if p)


KG_PER_LB = Decimal("0.45359237")
CM_PER_IN = Decimal("2.54")


class BodyMeasurement(models.Model):
    """Weight and/or height at a point in time. Stored in kg and cm; the unit typed is kept."""

    class Unit(models.TextChoices):
        METRIC = "metric", "kg / cm"
        IMPERIAL = "imperial", "lb / in"

    class Status(models.TextChoices):
        FINAL = "final", "Final"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements")
    measured_at = models.DateTimeField(default=timezone.now)
    weight_kg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    entered_unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.METRIC)
    entered_weight = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    entered_height = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FINAL)
    recorded_by = person()

    class Meta:
        ordering = ["-measured_at"]
        indexes = [models.Index(fields=["patient", "-measured_at"], name="measure_patient_at")]

    def __str__(self) -> str:
        parts = [f"{self.weight_kg} kg" if self.weight_kg is not None else "", f"{self.height_cm} cm" if self.height_cm else ""]
        return " ".join(p for p in parts if p) or "measurement"

    @property
    def weight_lb(self) -> Decimal | None:
        return None if self.weight_kg is None else (self.weight_kg / KG_PER_LB).quantize(Decimal("0.1"))

    @property
    def height_in(self) -> Decimal | None:
        return None if self.height_cm is None else (self.height_cm / CM_PER_IN).quantize(Decimal("0.1"))


class Diagnosis(Recorded, EnteredInError):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESOLVED = "resolved", "Resolved"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diagnoses")
    code = models.CharField("ICD-10-CM", max_length=10)
    label = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    noted_on = models.DateField(default=timezone.localdate)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["status", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class CareTeamMember(models.Model):
    """A staff member named on a patient's care team. Also on the team, without a row here: whoever the clinical
    apps record as treating the patient (``<app>.careteam`` hooks: an order's prescriber, a session's nurses, the
    integration therapist, the consult's assessor). A membership is ended, never deleted, so the chart's history
    of who could open it stays."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_team")
    member = person()
    added_by = person()
    added_at = models.DateTimeField(default=timezone.now)
    ended_by = person(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["added_at"]
        constraints = [models.UniqueConstraint(fields=["patient", "member"], condition=models.Q(ended_at__isnull=True),
                                               name="one_live_care_team_membership")]

    def __str__(self) -> str:
        return f"Care team of patient {self.patient_id}: user {self.member_id}"


class BreakGlassAccess(models.Model):
    """Someone outside a patient's care team opened the record, giving a reason; the access lasts a few hours
    (``KETACLINIC_BREAK_GLASS_MINUTES``) and waits for the compliance lead's review. Append-only."""

    class Reason(models.TextChoices):
        EMERGENCY = "emergency", "Emergency: the patient needs care now"
        COVERING = "covering", "Covering for a colleague on the care team"
        COORDINATION = "coordination", "Care coordination (booking, referral, records request)"
        OTHER = "other", "Other (explained below)"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glass_accesses")
    user = person()
    reason_kind = models.CharField(max_length=20, choices=Reason.choices)
    reason = models.CharField(max_length=500)
    opened_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["user", "patient", "expires_at"])]

    def __str__(self) -> str:
        return f"Break-glass access by user {self.user_id} to patient {self.patient_id} at {self.opened_at:%Y-%m-%d %H:%M}"


class BreakGlassReview(models.Model):
    """The compliance lead's review of one break-glass access. Append-only: one review per access."""

    class Outcome(models.TextChoices):
        APPROPRIATE = "appropriate", "Appropriate"
        INAPPROPRIATE = "inappropriate", "Not appropriate: followed up"

    access = models.OneToOneField(BreakGlassAccess, on_delete=models.PROTECT, related_name="review")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    note = models.CharField(max_length=1000, blank=True)
    reviewed_by = person()
    reviewed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Review of break-glass access {self.access_id}: {self.outcome}"
