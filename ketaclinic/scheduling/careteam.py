"""Care-team hook (patients/careteam.py): the clinician an appointment is booked with (a consult, a follow-up)
treats the patient, so a new patient's first consult opens without breaking the glass."""

from __future__ import annotations

from ketaclinic.scheduling.models import Appointment


def treats(user, patient) -> bool:
    return Appointment.objects.filter(patient=patient, clinician=user).exclude(
        status__in=(Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW)).exists()
