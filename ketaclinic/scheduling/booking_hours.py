"""The clinic's booking hours, for the apps below the calendar (``ketaclinic.clinic.hours`` finds this module
through ``app_hooks("booking_hours", ...)``): treatment and integration sessions are booked inside the same hours
as the calendar's appointments."""

from __future__ import annotations

from datetime import time

from ketaclinic.scheduling.models import ClinicHours


def booking_hours(clinic) -> tuple[time, time, int]:
    """(opens, closes, slot minutes) of ``clinic``: its ``ClinicHours``, or their defaults while the admin has set
    none (read only: nothing is written)."""
    hours = ClinicHours.objects.filter(clinic=clinic).first() or ClinicHours(clinic=clinic)
    return hours.opens, hours.closes, hours.slot_minutes
