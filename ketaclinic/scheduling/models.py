"""The front desk's schedule: appointment types, the clinic's opening hours, each clinician's weekly hours,
appointments with their append-only history of changes, and the waitlist.

Durations here are the clinic's booking choices, not clinical rules. Treatment sessions under a signed order stay
in ``treatments`` and integration sessions in ``integration``; the calendar shows them beside appointments.
"""

from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketaclinic.modelparts import ByAt, Created, PublicId, person


class AppointmentType(models.Model):
    """A kind of appointment the clinic books, with its default length and who may be booked as the clinician."""

    class Code(models.TextChoices):
        CONSULT = "consult", "Consult / psychiatric evaluation"
        FOLLOW_UP = "follow_up", "Follow-up"
        INTEGRATION = "integration", "Integration session"
        TREATMENT = "treatment", "Treatment session (chair time)"
        ESKETAMINE = "esketamine", "Esketamine session (chair time)"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="appointment_types")
    code = models.CharField(max_length=20, choices=Code.choices)
    label = models.CharField(max_length=120)
    minutes = models.PositiveIntegerField(help_text="Default length in minutes: the clinic's choice, not a clinical rule")
    clinician_roles = models.CharField(max_length=100, help_text="Roles that may be booked as the clinician, comma-separated")
    room_kinds = models.CharField(max_length=100, help_text="Room kinds this appointment is held in, comma-separated")
    active = models.BooleanField(default=True)
    self_bookable = models.BooleanField(
        default=False, help_text="Patients may book, move and cancel this kind of appointment themselves in the portal")

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["clinic", "code"], name="unique_appointment_type_code")]

    def __str__(self) -> str:
        return self.label

    def roles(self) -> frozenset[str]:
        return frozenset(r for r in self.clinician_roles.split(",") if r)

    def kinds(self) -> frozenset[str]:
        return frozenset(k for k in self.room_kinds.split(",") if k)


# Time-of-day defaults are functions, not fixed ``time`` values: Django's check W161 warns about a fixed time
# default whenever it is run within 10 seconds of that time of day, which failed CI's ``manage check`` at 21:00:00.
def default_opens() -> time:
    return time(8, 0)


def default_closes() -> time:
    return time(18, 0)


class ClinicHours(models.Model):
    """When the clinic books appointments on its working days (``Clinic.working_weekdays``)."""

    clinic = models.OneToOneField("clinic.Clinic", on_delete=models.CASCADE, related_name="booking_hours")
    opens = models.TimeField(default=default_opens)
    closes = models.TimeField(default=default_closes)
    slot_minutes = models.PositiveIntegerField(default=15, help_text="Rows of the calendar, in minutes")
    # Self-scheduling in the portal: the clinic's booking policy (not clinical rules), with cautious defaults.
    portal_horizon_days = models.PositiveIntegerField(
        default=28, help_text="Patients book in the portal at most this many days ahead")
    portal_notice_hours = models.PositiveIntegerField(
        default=24, help_text="Patients book in the portal at least this many hours before the appointment")
    portal_cancel_hours = models.PositiveIntegerField(
        default=24, help_text="Inside this many hours before the appointment the portal refuses to cancel or move "
                              "it: the patient calls the clinic")

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


class Availability(models.Model):
    """A clinician's weekly hours: on ``weekday`` (0 Monday … 6 Sunday) from ``start`` to ``end``."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="availability")
    weekday = models.PositiveSmallIntegerField()
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["clinician", "weekday", "start"]
        constraints = [models.CheckConstraint(condition=models.Q(start__lt=models.F("end")),
                                              name="availability_start_before_end"),
                       models.CheckConstraint(condition=models.Q(weekday__lte=6), name="availability_weekday")]

    def __str__(self) -> str:
        return f"{self.clinician_id} {self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"


class Appointment(PublicId):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    clinician = person()
    room = models.ForeignKey("clinic.Room", on_delete=models.PROTECT, related_name="+")
    chair = models.ForeignKey("clinic.Chair", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField(db_index=True)
    minutes = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED, db_index=True)
    note = models.CharField(max_length=300, blank=True)
    booked_by = person()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.start:%Y-%m-%d %H:%M}"

    @property
    def end(self):
        return self.start + timedelta(minutes=self.minutes)


class AppointmentChange(ByAt):
    """One step of an appointment's history: booked, rescheduled, cancelled, no-show. Never edited or deleted."""

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    class Reason(models.TextChoices):
        PATIENT_REQUEST = "patient_request", "Patient asked"
        PATIENT_ILL = "patient_ill", "Patient unwell"
        CLINICIAN_UNAVAILABLE = "clinician_unavailable", "Clinician unavailable"
        CLINIC_CLOSED = "clinic_closed", "Clinic closed / room unavailable"
        TRANSPORT = "transport", "No transport or escort"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend"
        BOOKED_IN_ERROR = "booked_in_error", "Booked in error"
        OTHER = "other", "Other"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_start = models.DateTimeField(null=True, blank=True)
    to_start = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    reason_text = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("An appointment's history is append-only: record a new change instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("An appointment's history is append-only: it is never deleted.")


class WaitlistEntry(PublicId, Created):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries")
    type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    weekdays = models.CharField(max_length=20, blank=True, help_text="Preferred days 0-6, comma-separated; blank: any")
    earliest = models.TimeField(null=True, blank=True)
    latest = models.TimeField(null=True, blank=True, help_text="Latest start")
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Waitlist {self.patient_id} {self.type_id}"

    def days(self) -> frozenset[int]:
        return frozenset(int(d) for d in self.weekdays.split(",") if d.strip())

    def matches(self, type_id: int, local_start) -> bool:
        """Whether a slot of ``type_id`` starting at ``local_start`` (clinic wall clock) suits this entry."""
        if type_id != self.type_id:
            return False
        if self.days() and local_start.weekday() not in self.days():
            return False
        t = local_start.time()
        return (self.earliest is None or t >= self.earliest) and (self.latest is None or t <= self.latest)
