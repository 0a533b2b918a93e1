"""Care-team hook (patients/careteam.py): the clinician who started one of the patient's consults, or assessed
their eligibility, treats the patient."""

from __future__ import annotations

from ketaclinic.screening.models import Consult, EligibilityAssessment


def treats(user, patient) -> bool:
    return (Consult.objects.filter(patient=patient, created_by=user).exists()
            or EligibilityAssessment.objects.filter(patient=patient, assessed_by=user).exists())
