"""What other apps ask of a patient's safety tasks (read only; raising and acknowledging them are use cases in
``measures.services``)."""

from __future__ import annotations

from datetime import datetime

from ketaclinic.measures.models import SafetyTask


def open_tasks_raised_at(patient_id: int) -> list[datetime]:
    """When each of the patient's open safety tasks was raised, oldest first (one query). A task is open until a
    clinician acknowledges it with what they did (``services.acknowledge_safety_task``)."""
    return list(SafetyTask.objects.filter(patient_id=patient_id, status=SafetyTask.Status.OPEN)
                .order_by("created_at", "pk").values_list("created_at", flat=True))
