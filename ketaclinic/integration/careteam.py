"""Care-team hook (patients/careteam.py): the therapist of one of the patient's integration sessions treats the
patient."""

from __future__ import annotations

from ketaclinic.integration.models import IntegrationSession


def treats(user, patient) -> bool:
    return IntegrationSession.objects.filter(patient=patient, therapist=user).exists()
