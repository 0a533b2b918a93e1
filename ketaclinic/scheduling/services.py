"""Use cases of the front desk's calendar. Each is one durable transaction (``ketaclinic.usecases.use_case``):
validate (a refusal maps fields to messages and changes nothing), write, audit.

What is checked before anything is booked: the time is not past, falls on a clinic working day inside the clinic's
booking hours, inside the clinician's weekly hours, and neither the clinician, the room or chair, nor the patient is
already taken then (appointments, treatment sessions and integration sessions all count).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta

from django.db.models import Prefetch, Q
from django.utils import timezone

from ketaclinic.accounts.models import RoleGrant, User
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import formats
from ketaclinic.clinic.hours import outside_hours
from ketaclinic.clinic.models import Chair, Clinic, Room, lock_person_days
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.patients.models import Patient
from ketaclinic.patients.services import RegistryError, register_patient
from ketaclinic.scheduling.defaults import CHAIR_TIME, DEFAULT_TYPES, NOT_SELF_BOOKABLE_WHY, label_for
from ketaclinic.scheduling.models import (
    Appointment,
    AppointmentChange,
    AppointmentType,
    Availability,
    ClinicHours,
    WaitlistEntry,
)
from ketaclinic.treatments.models import TreatmentSession
from ketaclinic.usecases import use_case

BOOKERS = (Role.FRONT_DESK, Role.PRESCRIBER, Role.NURSE, Role.CLINIC_ADMIN)
ADMINS = (Role.CLINIC_ADMIN,)
CLINICIAN_ROLES = (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST)
APPOINTMENT_MINUTES = (5, 600)  # what one booking may hold (a booking limit, not a clinical one)
LONGEST = timedelta(minutes=APPOINTMENT_MINUTES[1])
SESSION_CLOSED = (TreatmentSession.Status.CANCELLED, TreatmentSession.Status.NO_SHOW)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
A = Appointment.Status


class SchedulingError(ValueError):
    """A refused booking or change; ``errors`` maps a field name to its message (``__all__`` for the form)."""

    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


def _roles(actor: Actor, *roles: str, what: str) -> None:
    if not set(actor.roles) & set(roles):
        raise SchedulingError(f"Your role may not {what}.")


# ------------------------------------------------------------------------------------------------ the clinic's setup
def hours_for(clinic: Clinic) -> ClinicHours:
    hours, _ = ClinicHours.objects.get_or_create(clinic=clinic)
    return hours


def types_for(clinic: Clinic, *, active_only: bool = True) -> list[AppointmentType]:
    """The clinic's appointment types, the defaults written the first time they are asked for."""
    types = list(AppointmentType.objects.filter(clinic=clinic))
    if not types:
        AppointmentType.objects.bulk_create([
            AppointmentType(clinic=clinic, code=code, label=label_for(name, minutes), minutes=minutes,
                            clinician_roles=roles, room_kinds=kinds)
            for code, name, minutes, roles, kinds in DEFAULT_TYPES], ignore_conflicts=True)
        types = list(AppointmentType.objects.filter(clinic=clinic))
    return [t for t in types if t.active or not active_only]


def clinicians(clinic: Clinic) -> list[User]:
    """Staff who may be booked as a clinician (prescribers, nurses, therapists) at ``clinic``, with their roles
    there prefetched (a person's roles at another clinic of the network do not make them bookable here)."""
    here = RoleGrant.objects.filter(clinic=clinic)
    users = list(User.objects.filter(is_active=True, role_grants__clinic=clinic, role_grants__role__in=CLINICIAN_ROLES)
                 .distinct().prefetch_related(Prefetch("role_grants", queryset=here))
                 .order_by("last_name", "first_name", "pk"))
    for u in users:
        u._grant_cache = frozenset((g.clinic_id, g.role) for g in u.role_grants.all())
    return users


def local(moment: datetime, clinic: Clinic) -> datetime:
    return timezone.localtime(moment, clinic.tz)


def _hm(t: time) -> str:
    return f"{t:%H:%M}"


# --------------------------------------------------------------------------------------------------- slot checks
def _overlapping(qs, start: datetime, end: datetime, start_field: str = "start"):
    """Rows of ``qs`` whose interval meets [start, end): narrowed in the database, the end compared here."""
    rows = qs.filter(**{f"{start_field}__lt": end, f"{start_field}__gt": start - LONGEST - timedelta(hours=12)})
    return [r for r in rows if getattr(r, start_field) + timedelta(minutes=_minutes(r)) > start]


def _minutes(row) -> int:
    return row.minutes if isinstance(row, Appointment) else row.scheduled_minutes


def _span(row, clinic: Clinic) -> str:
    s = row.start if isinstance(row, Appointment) else row.scheduled_start
    return f"{local(s, clinic):%H:%M}-{local(s + timedelta(minutes=_minutes(row)), clinic):%H:%M}"


def slot_problems(*, clinic: Clinic, type: AppointmentType, start: datetime, minutes: int, clinician: User,
                  room: Room, chair: Chair | None, patient: Patient | None = None,
                  exclude: Appointment | None = None) -> dict[str, str]:
    """Every reason the slot cannot be booked, by form field (empty when it can)."""
    problems: dict[str, str] = {}

    def add(field: str, msg: str) -> None:
        problems[field] = f"{problems[field]} {msg}" if field in problems else msg

    if timezone.is_naive(start):
        return {"start": "Give a date and time."}
    if not APPOINTMENT_MINUTES[0] <= minutes <= APPOINTMENT_MINUTES[1]:
        return {"minutes": f"An appointment lasts from {APPOINTMENT_MINUTES[0]} to {APPOINTMENT_MINUTES[1]} minutes."}
    end = start + timedelta(minutes=minutes)
    now = timezone.now()
    lstart, lend = local(start, clinic), local(end, clinic)
    if start < now:
        add("start", f"{lstart:{formats.DAY_DATETIME}} has passed (it is now {local(now, clinic):%H:%M}): choose a later time.")
    day = lstart.date()
    # the clinic's working days and booking hours: the one rule treatment and integration sessions are held to too
    if outside := outside_hours(clinic, start, minutes, what="appointment"):
        add("start", outside)
    if lstart.weekday() in clinic.weekdays() and (closed := clinic.closed_on(day)):
        add("start", f"The clinic is closed on {lstart:%a %Y-%m-%d} ({closed}).")
    lock_person_days(clinician.pk, day)  # the clinician's bookings at the network's other clinics, read below
    if type.clinic_id != clinic.pk:
        add("type", "Choose an appointment type of this clinic.")
    if not clinician.has_role(*type.roles()):
        wanted = " or ".join(Role(r).label.lower() for r in sorted(type.roles()))
        add("clinician", f"{clinician.label} cannot be booked for a {type.get_code_display().lower()}: "
                         f"it needs a {wanted}.")
    if room.clinic_id != clinic.pk or not room.active:
        add("room", "Choose a room of this clinic.")
    elif room.kind not in type.kinds():
        add("room", f"{room.name} is a {room.get_kind_display().lower()}; a {type.get_code_display().lower()} is "
                    f"held in a {' or '.join(Room.Kind(k).label.lower() for k in sorted(type.kinds()))}.")
    if chair is not None and chair.room_id != room.pk:
        add("chair", f"{chair} is not in {room.name}.")
    elif chair is None and room.chairs.filter(active=True).exists():
        add("chair", f"Choose a chair in {room.name}.")
    if problems:
        return problems

    hours_that_day = [a for a in Availability.objects.filter(clinic=clinic, clinician=clinician,
                                                             weekday=lstart.weekday())]
    if not any(a.start <= lstart.time() and lend.time() <= a.end for a in hours_that_day):
        if hours_that_day:
            spans = ", ".join(f"{_hm(a.start)}-{_hm(a.end)}" for a in hours_that_day)
            add("clinician", f"{clinician.label} is available on {DAY_NAMES[lstart.weekday()]}s {spans} only.")
        else:
            add("clinician", f"{clinician.label} has no hours on {DAY_NAMES[lstart.weekday()]}s "
                             "(the clinic admin sets them under Calendar › Hours).")

    appointments = Appointment.objects.filter(clinic=clinic, status=A.BOOKED).select_related("chair", "room")
    if exclude is not None:
        appointments = appointments.exclude(pk=exclude.pk)
    # a clinician who works at several clinics of the network is one person: their bookings everywhere count
    theirs = Appointment.objects.filter(status=A.BOOKED, clinician=clinician).select_related("clinic")
    if exclude is not None:
        theirs = theirs.exclude(pk=exclude.pk)
    for a in _overlapping(theirs, start, end):
        where = "" if a.clinic_id == clinic.pk else f" at {a.clinic.name}"
        add("clinician", f"{clinician.label} is already booked {_span(a, clinic)}{where}.")
    for i in _overlapping(IntegrationSession.objects.filter(therapist=clinician,
                                                            status=IntegrationSession.Status.BOOKED),
                          start, end, "scheduled_start"):
        add("clinician", f"{clinician.label} has an integration session {_span(i, clinic)}.")

    place = chair or room
    for a in _overlapping(appointments.filter(room=room), start, end):
        if chair is None or a.chair_id is None or a.chair_id == chair.pk:
            add("chair" if chair else "room", f"{place} is already booked {_span(a, clinic)}.")
    sessions = TreatmentSession.objects.filter(room=room).exclude(status__in=SESSION_CLOSED)
    for s in _overlapping(sessions, start, end, "scheduled_start"):
        if chair is None or s.chair_id is None or s.chair_id == chair.pk:
            add("chair" if chair else "room", f"{place} holds a treatment session {_span(s, clinic)}.")
    for i in _overlapping(IntegrationSession.objects.filter(room=room, status=IntegrationSession.Status.BOOKED),
                          start, end, "scheduled_start"):
        add("room", f"{room.name} holds an integration session {_span(i, clinic)}.")

    if patient is not None:
        mine = appointments.filter(patient=patient)
        for a in _overlapping(mine, start, end):
            add("start", f"{patient.display_name} already has an appointment {_span(a, clinic)}.")
        for s in _overlapping(TreatmentSession.objects.filter(patient=patient).exclude(status__in=SESSION_CLOSED),
                              start, end, "scheduled_start"):
            add("start", f"{patient.display_name} has a treatment session {_span(s, clinic)}.")
    return problems


# --------------------------------------------------------------------------------------------------- booking
NEW_PATIENT_FIELDS = ("legal_given_name", "legal_family_name", "date_of_birth", "sex_at_birth", "phone", "email")


@use_case
def book_appointment(*, actor: Actor, clinic: Clinic, type: AppointmentType, start: datetime, clinician: User,
                     room: Room, chair: Chair | None = None, minutes: int | None = None,
                     patient: Patient | None = None, new_patient: Mapping[str, object] | None = None,
                     confirm_duplicate: bool = False, note: str = "",
                     waitlist_entry: WaitlistEntry | None = None) -> Appointment:
    """Book an appointment for an existing patient, or register a new one (the registry's own service, with its
    duplicate check) and book in the same transaction: both or neither."""
    _roles(actor, *BOOKERS, what="book appointments")
    return _book(actor=actor, clinic=clinic, type=type, start=start, clinician=clinician, room=room, chair=chair,
                 minutes=minutes, patient=patient, new_patient=new_patient, confirm_duplicate=confirm_duplicate,
                 note=note, waitlist_entry=waitlist_entry)


def _book(*, actor: Actor, clinic: Clinic, type: AppointmentType, start: datetime, clinician: User, room: Room,
          chair: Chair | None = None, minutes: int | None = None, patient: Patient | None = None,
          new_patient: Mapping[str, object] | None = None, confirm_duplicate: bool = False, note: str = "",
          waitlist_entry: WaitlistEntry | None = None, via: str = "") -> Appointment:
    """The booking itself (inside a use case that has checked who may book)."""
    if (patient is None) == (not new_patient):
        raise SchedulingError({"patient": "Choose the patient, or give a new patient's name, date of birth and sex."})
    if patient is not None and patient.clinic_id != clinic.pk:
        raise SchedulingError({"patient": "Choose a patient of this clinic."})
    minutes = minutes or type.minutes
    problems = slot_problems(clinic=clinic, type=type, start=start, minutes=minutes, clinician=clinician, room=room,
                             chair=chair, patient=patient)
    if problems:
        raise SchedulingError(problems)
    if patient is None:
        data = {k: v for k, v in dict(new_patient or {}).items() if k in NEW_PATIENT_FIELDS and v not in (None, "")}
        try:
            patient = register_patient.within(actor=actor, clinic=clinic, data=data, confirm_duplicate=confirm_duplicate)
        except RegistryError as e:
            raise SchedulingError(e.errors) from None
    appointment = Appointment.objects.create(
        clinic=clinic, patient=patient, type=type, clinician=clinician, room=room, chair=chair, start=start,
        minutes=minutes, note=note.strip(), booked_by=actor.user)
    AppointmentChange.objects.create(appointment=appointment, kind=AppointmentChange.Kind.BOOKED, by=actor.user,
                                     to_start=start, details=_where(appointment))
    audit.record(actor, AuditAction.APPOINTMENT_BOOKED, subject=appointment, patient=patient,
                 details={"type": type.code, "start": start.isoformat(), "minutes": minutes, **_where(appointment),
                          **({"via": via} if via else {})})
    if waitlist_entry is not None:
        entry = WaitlistEntry.objects.select_for_update().get(pk=waitlist_entry.pk)
        if entry.patient_id == patient.pk and entry.status == WaitlistEntry.Status.WAITING:
            entry.status = WaitlistEntry.Status.BOOKED
            entry.save(update_fields=["status"])
            audit.record(actor, AuditAction.WAITLIST_BOOKED, subject=entry, patient=patient,
                         details={"appointment": str(appointment.external_id)})
    return appointment


def _where(a: Appointment) -> dict[str, str]:
    return {"clinician": a.clinician.username, "room": a.room.name, "chair": a.chair.label if a.chair else ""}


def _locked(appointment: Appointment) -> Appointment:
    return (Appointment.objects.select_for_update(of=("self",)).select_related("clinic", "patient", "type", "clinician", "room",
                                                                   "chair").get(pk=appointment.pk))


def _reason(reason: str, reason_text: str) -> dict[str, str]:
    if reason not in AppointmentChange.Reason.values:
        return {"reason": "Choose the reason."}
    if reason == AppointmentChange.Reason.OTHER and not reason_text.strip():
        return {"reason_text": "Say what the reason is."}
    return {}


@use_case
def reschedule(*, actor: Actor, appointment: Appointment, start: datetime, reason: str, reason_text: str = "",
               clinician: User | None = None, room: Room | None = None, chair: Chair | None = None,
               keep_chair: bool = True, minutes: int | None = None) -> Appointment:
    """Move a booked appointment (time, and optionally clinician, room, chair, length); the old time stays in its
    history."""
    _roles(actor, *BOOKERS, what="reschedule appointments")
    return _reschedule(actor=actor, appointment=appointment, start=start, reason=reason, reason_text=reason_text,
                       clinician=clinician, room=room, chair=chair, keep_chair=keep_chair, minutes=minutes)


def _reschedule(*, actor: Actor, appointment: Appointment, start: datetime, reason: str, reason_text: str = "",
                clinician: User | None = None, room: Room | None = None, chair: Chair | None = None,
                keep_chair: bool = True, minutes: int | None = None, via: str = "") -> Appointment:
    a = _locked(appointment)
    if a.status != A.BOOKED:
        raise SchedulingError(f"This appointment is {a.get_status_display().lower()}; book a new one instead.")
    problems = _reason(reason, reason_text)
    clinician = clinician or a.clinician
    new_room = room or a.room
    new_chair = chair if (chair is not None or not keep_chair or room is not None) else a.chair
    minutes = minutes or a.minutes
    problems |= slot_problems(clinic=a.clinic, type=a.type, start=start, minutes=minutes, clinician=clinician,
                              room=new_room, chair=new_chair, patient=a.patient, exclude=a)
    if problems:
        raise SchedulingError(problems)
    before = {"start": a.start.isoformat(), "minutes": a.minutes, **_where(a)}
    old_start = a.start
    a.start, a.minutes, a.clinician, a.room, a.chair = start, minutes, clinician, new_room, new_chair
    a.save(update_fields=["start", "minutes", "clinician", "room", "chair"])
    after = {"start": start.isoformat(), "minutes": minutes, **_where(a)}
    AppointmentChange.objects.create(appointment=a, kind=AppointmentChange.Kind.RESCHEDULED, by=actor.user,
                                     from_start=old_start, to_start=start, reason=reason,
                                     reason_text=reason_text.strip(), details={"before": before, "after": after})
    audit.record(actor, AuditAction.APPOINTMENT_RESCHEDULED, subject=a, patient=a.patient,
                 details={"before": before, "after": after, "reason": reason, "reason_text": reason_text.strip(),
                          **({"via": via} if via else {})})
    return a


@use_case
def cancel(*, actor: Actor, appointment: Appointment, reason: str, reason_text: str = "",
           no_show: bool = False) -> Appointment:
    """Cancel a booked appointment, or record that the patient did not come (once its time has come)."""
    _roles(actor, *BOOKERS, what="cancel appointments")
    return _cancel(actor=actor, appointment=appointment, reason=reason, reason_text=reason_text, no_show=no_show)


def _cancel(*, actor: Actor, appointment: Appointment, reason: str, reason_text: str = "", no_show: bool = False,
            via: str = "") -> Appointment:
    a = _locked(appointment)
    if a.status != A.BOOKED:
        raise SchedulingError(f"This appointment is already {a.get_status_display().lower()}.")
    problems = _reason(reason, reason_text)
    if no_show and a.start > timezone.now():
        problems["__all__"] = (f"The appointment starts at {local(a.start, a.clinic):%H:%M}: a no-show is recorded "
                               "once its time has come.")
    if problems:
        raise SchedulingError(problems)
    a.status = A.NO_SHOW if no_show else A.CANCELLED
    a.save(update_fields=["status"])
    kind = AppointmentChange.Kind.NO_SHOW if no_show else AppointmentChange.Kind.CANCELLED
    AppointmentChange.objects.create(appointment=a, kind=kind, by=actor.user, from_start=a.start, reason=reason,
                                     reason_text=reason_text.strip())
    audit.record(actor, AuditAction.APPOINTMENT_NO_SHOW if no_show else AuditAction.APPOINTMENT_CANCELLED,
                 subject=a, patient=a.patient,
                 details={"start": a.start.isoformat(), "reason": reason, "reason_text": reason_text.strip(),
                          **({"via": via} if via else {})})
    return a


def waitlist_matches(clinic: Clinic, freed: Iterable[Appointment]) -> list[tuple[Appointment, WaitlistEntry]]:
    """(freed appointment, waiting entry) pairs where the entry's type and preferred days and times suit the freed
    slot, oldest entry first (one query whatever the number of slots)."""
    freed = [a for a in freed if a.start > timezone.now()]
    waiting = list(WaitlistEntry.objects.filter(clinic=clinic, status=WaitlistEntry.Status.WAITING)
                   .select_related("patient", "type").order_by("created_at", "pk")[:200])
    return [(a, w) for a in freed for w in waiting
            if w.patient_id != a.patient_id and w.matches(a.type_id, local(a.start, clinic))]


# --------------------------------------------------------------------------------------------------- setup by admin
@use_case
def set_clinic_hours(*, actor: Actor, clinic: Clinic, opens: time, closes: time, slot_minutes: int) -> ClinicHours:
    _roles(actor, *ADMINS, what="set the clinic's hours")
    if opens >= closes:
        raise SchedulingError({"closes": "The clinic must close after it opens."})
    if not 5 <= slot_minutes <= 60:
        raise SchedulingError({"slot_minutes": "Calendar rows are 5 to 60 minutes."})
    hours = hours_for(clinic)
    before = {"opens": _hm(hours.opens), "closes": _hm(hours.closes), "slot_minutes": hours.slot_minutes}
    hours.opens, hours.closes, hours.slot_minutes = opens, closes, slot_minutes
    hours.save()
    audit.record(actor, AuditAction.SCHEDULING_HOURS_SET, subject=clinic,
                 details={"before": before, "after": {"opens": _hm(opens), "closes": _hm(closes),
                                                      "slot_minutes": slot_minutes}})
    return hours


@use_case
def set_availability(*, actor: Actor, clinic: Clinic, clinician: User,
                     rows: Iterable[tuple[int, time, time]]) -> list[Availability]:
    """Replace ``clinician``'s weekly hours with ``rows`` (weekday, start, end), each on a working day inside the
    clinic's hours, none overlapping another on the same day."""
    _roles(actor, *ADMINS, what="set clinicians' hours")
    rows = sorted(rows)
    hours = hours_for(clinic)
    errors: dict[str, str] = {}
    if not clinician.has_role(*CLINICIAN_ROLES):
        errors["clinician"] = f"{clinician.label} is not a prescriber, nurse or therapist."
    for i, (weekday, start, end) in enumerate(rows):
        name = DAY_NAMES[weekday] if 0 <= weekday <= 6 else str(weekday)
        if not 0 <= weekday <= 6:
            errors["rows"] = "Choose a day of the week."
        elif weekday not in clinic.weekdays():
            errors["rows"] = f"{name} is not one of the clinic's working days."
        elif start >= end:
            errors["rows"] = f"{name}: the hours must end after they start ({_hm(start)}-{_hm(end)})."
        elif start < hours.opens or end > hours.closes:
            errors["rows"] = (f"{name} {_hm(start)}-{_hm(end)} is outside the clinic's hours "
                              f"({_hm(hours.opens)}-{_hm(hours.closes)}).")
        elif i and rows[i - 1][0] == weekday and rows[i - 1][2] > start:
            errors["rows"] = f"{name}: {_hm(start)}-{_hm(end)} overlaps {_hm(rows[i - 1][1])}-{_hm(rows[i - 1][2])}."
        if errors:
            break
    if errors:
        raise SchedulingError(errors)
    current = Availability.objects.filter(clinic=clinic, clinician=clinician)
    before = [[a.weekday, _hm(a.start), _hm(a.end)] for a in current]
    current.delete()
    made = Availability.objects.bulk_create([Availability(clinic=clinic, clinician=clinician, weekday=w, start=s,
                                                          end=e) for w, s, e in rows])
    audit.record(actor, AuditAction.SCHEDULING_AVAILABILITY_SET, subject=clinician,
                 details={"clinician": clinician.username, "before": before,
                          "after": [[w, _hm(s), _hm(e)] for w, s, e in rows]})
    return made


@use_case
def update_type(*, actor: Actor, type: AppointmentType, minutes: int, active: bool,
                self_bookable: bool | None = None) -> AppointmentType:
    """Change a type's default length, whether it is offered, and (unless ``None``) whether patients book it
    themselves in the portal: never a dosing session's chair time, which follows a prescriber's signed order."""
    _roles(actor, *ADMINS, what="change appointment types")
    if not APPOINTMENT_MINUTES[0] <= minutes <= APPOINTMENT_MINUTES[1]:
        raise SchedulingError({"minutes": f"From {APPOINTMENT_MINUTES[0]} to {APPOINTMENT_MINUTES[1]} minutes."})
    t = AppointmentType.objects.select_for_update().get(pk=type.pk)
    self_bookable = t.self_bookable if self_bookable is None else self_bookable
    if self_bookable and t.code in CHAIR_TIME:
        raise SchedulingError({"self_bookable": NOT_SELF_BOOKABLE_WHY})
    before = {"minutes": t.minutes, "active": t.active, "self_bookable": t.self_bookable}
    t.minutes, t.active, t.self_bookable = minutes, active, self_bookable
    t.label = label_for(t.get_code_display(), minutes)
    t.save(update_fields=["minutes", "active", "self_bookable", "label"])
    audit.record(actor, AuditAction.SCHEDULING_TYPE_UPDATED, subject=t,
                 details={"type": t.code, "before": before,
                          "after": {"minutes": minutes, "active": active, "self_bookable": self_bookable}})
    return t


# --------------------------------------------------------------------------------------------------- waitlist
@use_case
def add_to_waitlist(*, actor: Actor, clinic: Clinic, patient: Patient, type: AppointmentType,
                    weekdays: Iterable[int] = (), earliest: time | None = None, latest: time | None = None,
                    note: str = "") -> WaitlistEntry:
    _roles(actor, *BOOKERS, what="keep the waitlist")
    days = sorted(set(weekdays))
    if patient.clinic_id != clinic.pk or type.clinic_id != clinic.pk:
        raise SchedulingError({"patient": "Choose a patient of this clinic."})
    if any(not 0 <= d <= 6 for d in days):
        raise SchedulingError({"weekdays": "Choose days of the week."})
    if earliest and latest and earliest > latest:
        raise SchedulingError({"latest": "The latest start must come after the earliest."})
    if WaitlistEntry.objects.filter(clinic=clinic, patient=patient, type=type,
                                    status=WaitlistEntry.Status.WAITING).exists():
        raise SchedulingError({"patient": f"{patient.display_name} is already waiting for a {type.get_code_display().lower()}."})
    entry = WaitlistEntry.objects.create(clinic=clinic, patient=patient, type=type,
                                         weekdays=",".join(str(d) for d in days), earliest=earliest, latest=latest,
                                         note=note.strip(), created_by=actor.user)
    audit.record(actor, AuditAction.WAITLIST_ADDED, subject=entry, patient=patient,
                 details={"type": type.code, "weekdays": entry.weekdays,
                          "earliest": _hm(earliest) if earliest else "", "latest": _hm(latest) if latest else ""})
    return entry


@use_case
def remove_from_waitlist(*, actor: Actor, entry: WaitlistEntry, reason: str) -> WaitlistEntry:
    _roles(actor, *BOOKERS, what="keep the waitlist")
    entry = WaitlistEntry.objects.select_for_update().select_related("patient").get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise SchedulingError("This entry is no longer waiting.")
    if not reason.strip():
        raise SchedulingError({"reason": "Say why the entry is removed."})
    entry.status = WaitlistEntry.Status.REMOVED
    entry.save(update_fields=["status"])
    audit.record(actor, AuditAction.WAITLIST_REMOVED, subject=entry, patient=entry.patient,
                 details={"reason": reason.strip()})
    return entry


def patient_by_mrn(clinic: Clinic, mrn: str) -> Patient | None:
    return Patient.objects.filter(clinic=clinic, mrn__iexact=mrn.strip()).first() if mrn.strip() else None


def upcoming_for(patient: Patient, limit: int = 10) -> list[Appointment]:
    return list(Appointment.objects.filter(patient=patient).filter(Q(start__gte=timezone.now() - timedelta(days=1)))
                .select_related("type", "clinician", "room", "chair").order_by("start")[:limit])
