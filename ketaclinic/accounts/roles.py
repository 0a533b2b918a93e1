"""The clinic's staff roles. A person may hold several."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Infusion nurse"
    THERAPIST = "therapist", "Integration therapist"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"
    COMPLIANCE = "compliance", "Compliance lead"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


ALL_STAFF = frozenset(Role)
CLINICAL = frozenset({Role.PRESCRIBER, Role.NURSE, Role.THERAPIST})
MEDICAL = frozenset({Role.PRESCRIBER, Role.NURSE})
