"""The one way views get a patient: by external id, within the current clinic, or 404; and, when the clinic keeps
records to their care teams, only for a member of the patient's care team or someone who broke the glass
(patients/careteam.py; ``BreakGlassMiddleware`` answers the refusal)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from ketaclinic.clinic.models import current_clinic
from ketaclinic.patients import careteam
from ketaclinic.patients.models import Patient


def get_patient_for(request, external_id) -> Patient:
    patient = get_object_or_404(Patient.objects.select_related("clinic"), external_id=external_id,
                                clinic=current_clinic())
    careteam.check(request.user, patient)
    return patient
