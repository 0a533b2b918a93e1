"""Care-team hook (patients/careteam.py): the prescriber a suicide-risk safety task is assigned to, and the
prescriber on call today, treat the patient whose answers raised an open task: they answer it now, without
breaking the glass."""

from __future__ import annotations

from django.utils import timezone

from ketaclinic.measures.models import OnCall, SafetyTask


def treats(user, patient) -> bool:
    open_tasks = SafetyTask.objects.filter(patient=patient, status=SafetyTask.Status.OPEN)
    if open_tasks.filter(assigned_to=user).exists():
        return True
    on_call = OnCall.objects.filter(clinic_id=patient.clinic_id, day=timezone.localdate(), clinician=user)
    return on_call.exists() and open_tasks.exists()
