"""Self-scheduling in the patient portal, within the clinic's rules (issue 18 point 2).

A patient books, moves and cancels only the appointment types the clinic marks self-bookable (a follow-up, an
integration visit), at the times the clinic opens: its working days and booking hours, on the calendar's rows
(``ClinicHours.slot_minutes``), at least ``portal_notice_hours`` ahead and at most ``portal_horizon_days`` ahead.
Whether a clinician, a room (and chair) and the patient are free at a time is decided by the calendar's own
:func:`ketaclinic.scheduling.services.slot_problems`, and the booking is written by the calendar's own booking
steps: there is no second copy of those rules here. Inside ``portal_cancel_hours`` before an appointment the portal
refuses to cancel or move it and gives the clinic's phone number instead.

Dosing sessions (IV/IM ketamine, esketamine) are never offered: each is booked from a prescriber's signed order
(``treatments``), whose series spacing (``clinical/schedules.py``) and chair time come from the order; a patient
picking a chair time without that order would skip the prescriber's decision. The chair-time appointment types
cannot be marked self-bookable.

Every step is one durable transaction, audited with the patient's own portal account as the actor and
``"via": "portal"`` in the entry's details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import formats
from ketaclinic.clinic.models import Chair, Clinic, Room
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import services
from ketaclinic.scheduling.defaults import CHAIR_TIME, NOT_SELF_BOOKABLE_WHY
from ketaclinic.scheduling.models import Appointment, AppointmentChange, AppointmentType, Availability
from ketaclinic.scheduling.services import SchedulingError, local
from ketaclinic.usecases import use_case

#: (horizon days, notice hours, cancel hours): what the clinic admin may set (booking policy, not clinical rules).
LIMITS = {"portal_horizon_days": (1, 365), "portal_notice_hours": (0, 336), "portal_cancel_hours": (0, 336)}
VIA = "portal"


@dataclass(frozen=True)
class Place:
    clinician: object
    room: Room
    chair: Chair | None


def rules(clinic: Clinic):
    """The clinic's portal booking rules (``ClinicHours``: horizon, notice, cancellation window)."""
    return services.hours_for(clinic)


def window(clinic: Clinic) -> tuple[datetime, datetime]:
    """The earliest and the latest start a patient may book now."""
    hours = rules(clinic)
    now = timezone.now()
    return now + timedelta(hours=hours.portal_notice_hours), now + timedelta(days=hours.portal_horizon_days)


def self_bookable_types(clinic: Clinic) -> list[AppointmentType]:
    return [t for t in services.types_for(clinic) if t.self_bookable and t.code not in CHAIR_TIME]


def bookable_days(clinic: Clinic) -> list[date]:
    """The clinic's working days (clinic time) from the earliest to the latest bookable moment, less the days it
    is closed."""
    earliest, latest = window(clinic)
    first, last = local(earliest, clinic).date(), local(latest, clinic).date()
    working = clinic.weekdays()
    closed = clinic.closed_days(first, last)
    return [first + timedelta(days=k) for k in range((last - first).days + 1)
            if (first + timedelta(days=k)).weekday() in working and first + timedelta(days=k) not in closed]


def candidate_starts(clinic: Clinic, day: date, minutes: int) -> list[datetime]:
    """The calendar's rows on ``day`` from opening, each ending by closing, inside the booking window (a wall-clock
    time the clocks skip on a daylight-saving night is left out)."""
    hours = rules(clinic)
    earliest, latest = window(clinic)
    if day.weekday() not in clinic.weekdays() or clinic.closed_days(day, day):
        return []
    out = []
    at = datetime.combine(day, hours.opens)
    close = datetime.combine(day, hours.closes)
    step = timedelta(minutes=hours.slot_minutes)
    while at + timedelta(minutes=minutes) <= close:
        moment = wall_clock_moment(day, at.time(), clinic.tz)
        if moment is not None and earliest <= moment <= latest:
            out.append(moment)
        at += step
    return out


def _places(clinic: Clinic, type: AppointmentType) -> tuple[list, list[tuple[Room, Chair | None]]]:
    people = [u for u in services.clinicians(clinic) if u.has_role(*type.roles())]
    rooms = []
    for room in Room.objects.filter(clinic=clinic, active=True, kind__in=type.kinds()).order_by("pk"):
        chairs = list(room.chairs.filter(active=True).order_by("label"))
        rooms += [(room, c) for c in chairs] if chairs else [(room, None)]
    return people, rooms


def _free_place(clinic: Clinic, type: AppointmentType, start: datetime, patient: Patient, people, rooms,
                weekly: dict, exclude: Appointment | None = None) -> Place | None:
    """The first clinician, room and chair free at ``start`` by ``slot_problems``; ``weekly`` (clinician id ->
    weekday -> spans) only narrows whom to ask, ``slot_problems`` decides."""
    lstart = local(start, clinic)
    lend = local(start + timedelta(minutes=type.minutes), clinic)
    for person in people:
        spans = weekly.get(person.pk, {}).get(lstart.weekday(), [])
        if not any(s <= lstart.time() and lend.time() <= e for s, e in spans):
            continue
        for room, chair in rooms:
            problems = services.slot_problems(clinic=clinic, type=type, start=start, minutes=type.minutes,
                                              clinician=person, room=room, chair=chair, patient=patient,
                                              exclude=exclude)
            if not problems:
                return Place(person, room, chair)
            if "start" in problems:  # the time itself (the patient busy, the clinic closed): no place helps
                return None
    return None


def _weekly(clinic: Clinic) -> dict:
    weekly: dict = {}
    for a in Availability.objects.filter(clinic=clinic):
        weekly.setdefault(a.clinician_id, {}).setdefault(a.weekday, []).append((a.start, a.end))
    return weekly


def open_slots(clinic: Clinic, type: AppointmentType, day: date, patient: Patient,
               exclude: Appointment | None = None) -> list[datetime]:
    """The starts on ``day`` the patient may book ``type`` at: inside the window, with someone and somewhere free."""
    if not type.self_bookable or type.code in CHAIR_TIME:
        return []
    people, rooms = _places(clinic, type)
    weekly = _weekly(clinic)
    return [s for s in candidate_starts(clinic, day, type.minutes)
            if _free_place(clinic, type, s, patient, people, rooms, weekly, exclude) is not None]


def upcoming(patient: Patient) -> list[Appointment]:
    """The patient's booked appointments from now on, each with ``can_change`` (self-bookable, outside the
    cancellation window) and ``change_until`` (the last moment the portal moves or cancels it)."""
    hours = rules(patient.clinic)
    now = timezone.now()
    out = list(Appointment.objects.filter(patient=patient, status=Appointment.Status.BOOKED, start__gte=now)
               .select_related("type", "clinician", "room").order_by("start")[:20])
    for a in out:
        a.change_until = a.start - timedelta(hours=hours.portal_cancel_hours)
        a.self_bookable = a.type.self_bookable and a.type.code not in CHAIR_TIME
        a.can_change = a.self_bookable and now < a.change_until
    return out


# ------------------------------------------------------------------------------------------------ checks
def _own(actor: Actor, patient: Patient) -> None:
    account = getattr(actor.user, "patient_account", None)
    if account is None or account.patient_id != patient.pk:
        raise SchedulingError("Only the patient may book for themselves in the portal.")


def _bookable_type(type: AppointmentType, patient: Patient) -> None:
    if type.clinic_id != patient.clinic_id or not type.active:
        raise SchedulingError({"type": "Choose one of the appointments offered here."})
    if type.code in CHAIR_TIME:
        raise SchedulingError({"type": NOT_SELF_BOOKABLE_WHY})
    if not type.self_bookable:
        raise SchedulingError({"type": f"A {type.get_code_display().lower()} is booked by the clinic: please call "
                                       "or ask at the front desk."})


def _in_window(clinic: Clinic, type: AppointmentType, start: datetime) -> None:
    hours = rules(clinic)
    earliest, latest = window(clinic)
    if start < earliest:
        raise SchedulingError({"start": f"Appointments are booked here at least {hours.portal_notice_hours} hours "
                                        f"ahead; for an earlier time please call the clinic."})
    if start > latest:
        raise SchedulingError({"start": f"Appointments are booked here up to {hours.portal_horizon_days} days "
                                        "ahead; choose an earlier day."})
    if start not in candidate_starts(clinic, local(start, clinic).date(), type.minutes):
        raise SchedulingError({"start": "Choose one of the times offered."})


def _place_for(clinic: Clinic, type: AppointmentType, start: datetime, patient: Patient,
               exclude: Appointment | None = None) -> Place:
    people, rooms = _places(clinic, type)
    place = _free_place(clinic, type, start, patient, people, rooms, _weekly(clinic), exclude)
    if place is None:
        raise SchedulingError({"start": f"{local(start, clinic):{formats.DAY_DATETIME}} is no longer free: "
                                        "choose another time."})
    return place


def _outside_cancel_window(a: Appointment) -> None:
    clinic = a.clinic
    hours = rules(clinic)
    if not a.type.self_bookable or a.type.code in CHAIR_TIME:
        raise SchedulingError(f"This appointment is changed by the clinic: please call {clinic.phone}.")
    if timezone.now() >= a.start - timedelta(hours=hours.portal_cancel_hours):
        raise SchedulingError(f"It is less than {hours.portal_cancel_hours} hours before this appointment, so it "
                              f"cannot be changed here: please call the clinic on {clinic.phone}.")


def _locked_own(actor: Actor, patient: Patient, appointment: Appointment) -> Appointment:
    _own(actor, patient)
    a = services._locked(appointment)
    if a.patient_id != patient.pk:
        raise SchedulingError("This is not your appointment.")
    if a.status != Appointment.Status.BOOKED:
        raise SchedulingError(f"This appointment is already {a.get_status_display().lower()}.")
    return a


# ------------------------------------------------------------------------------------------------ use cases
@use_case
def book(*, actor: Actor, patient: Patient, type: AppointmentType, start: datetime) -> Appointment:
    """The patient books ``type`` at ``start``, one of the offered times; the clinician, room and chair are the
    first free by the calendar's rules."""
    _own(actor, patient)
    clinic = patient.clinic
    _bookable_type(type, patient)
    _in_window(clinic, type, start)
    held = Appointment.objects.filter(patient=patient, type=type, status=Appointment.Status.BOOKED,
                                      start__gte=timezone.now()).order_by("start").first()
    if held is not None:
        raise SchedulingError({"type": f"You already have a {type.get_code_display().lower()} booked for "
                                       f"{local(held.start, clinic):{formats.DAY_DATETIME}}: move that one instead."})
    place = _place_for(clinic, type, start, patient)
    return services._book(actor=actor, clinic=clinic, type=type, start=start, clinician=place.clinician,
                          room=place.room, chair=place.chair, patient=patient,
                          note="Booked by the patient in the portal", via=VIA)


@use_case
def cancel(*, actor: Actor, patient: Patient, appointment: Appointment) -> Appointment:
    """The patient cancels their own self-bookable appointment, outside the cancellation window."""
    a = _locked_own(actor, patient, appointment)
    _outside_cancel_window(a)
    return services._cancel(actor=actor, appointment=a, reason=AppointmentChange.Reason.PATIENT_REQUEST,
                            reason_text="Cancelled by the patient in the portal", via=VIA)


@use_case
def reschedule(*, actor: Actor, patient: Patient, appointment: Appointment, start: datetime) -> Appointment:
    """The patient moves their own self-bookable appointment to another offered time, outside the cancellation
    window; the old time stays in its history."""
    a = _locked_own(actor, patient, appointment)
    _outside_cancel_window(a)
    _in_window(a.clinic, a.type, start)
    if start == a.start:
        raise SchedulingError({"start": "Choose a different time."})
    place = _place_for(a.clinic, a.type, start, patient, exclude=a)
    return services._reschedule(actor=actor, appointment=a, start=start, clinician=place.clinician,
                                room=place.room, chair=place.chair, keep_chair=False, minutes=a.type.minutes,
                                reason=AppointmentChange.Reason.PATIENT_REQUEST,
                                reason_text="Moved by the patient in the portal", via=VIA)


# ------------------------------------------------------------------------------------------------ clinic setup
@use_case
def set_portal_rules(*, actor: Actor, clinic: Clinic, portal_horizon_days: int, portal_notice_hours: int,
                     portal_cancel_hours: int):
    """The clinic admin sets how far ahead and how soon patients book in the portal, and the cancellation window."""
    services._roles(actor, *services.ADMINS, what="set the portal's booking rules")
    values = {"portal_horizon_days": portal_horizon_days, "portal_notice_hours": portal_notice_hours,
              "portal_cancel_hours": portal_cancel_hours}
    errors = {k: f"From {lo} to {hi}." for k, (lo, hi) in LIMITS.items() if not lo <= values[k] <= hi}
    if not errors and portal_notice_hours > portal_horizon_days * 24:
        errors["portal_notice_hours"] = "The notice must be shorter than the booking horizon."
    if errors:
        raise SchedulingError(errors)
    hours = services.hours_for(clinic)
    before = {k: getattr(hours, k) for k in values}
    for k, v in values.items():
        setattr(hours, k, v)
    hours.save(update_fields=list(values))
    audit.record(actor, AuditAction.SCHEDULING_PORTAL_RULES_SET, subject=clinic,
                 details={"before": before, "after": values})
    return hours

