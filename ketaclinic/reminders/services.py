"""The reminders' use cases: staff record a patient's channel consent and time zone, the clinic admin sets the
reminder settings, and a patient's text reply (YES/NO to a ride confirmation, STOP/START) is recorded."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import time

from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.patients.models import Patient
from ketaclinic.reminders import contacts
from ketaclinic.reminders.models import Channel, ChannelConsent, Kind, PatientContact, Reminder, RideReply
from ketaclinic.treatments.models import TreatmentSession
from ketaclinic.usecases import use_case

CONTACT_ROLES = (Role.FRONT_DESK, Role.NURSE, Role.PRESCRIBER, Role.CLINIC_ADMIN)
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP"}
YES_WORDS = {"YES", "Y"}
NO_WORDS = {"NO", "N"}
SETTINGS_FIELDS = ("quiet_start", "quiet_end", "appointment_lead_hours", "session_lead_hours",
                   "preparation_lead_hours", "ride_lead_hours", "max_attempts", "retry_minutes")


class ReminderError(ValueError):
    """A refused change; ``errors`` maps a field name to its message (``__all__`` for the form)."""

    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


def _roles(actor: Actor, *roles: str, what: str) -> None:
    if not set(actor.roles) & set(roles):
        raise ReminderError(f"Your role may not {what}.")


@use_case
def record_consent(*, actor: Actor, patient: Patient, channel: str, allowed: bool, note: str = "") -> ChannelConsent:
    """Staff record that the patient gave (or withdrew) consent to reminders by ``channel``."""
    _roles(actor, *CONTACT_ROLES, what="record reminder consent")
    if channel not in Channel.values:
        raise ReminderError({"channel": "Choose e-mail or SMS."})
    if allowed and channel == Channel.SMS and not contacts.phone_number(patient.phone):
        raise ReminderError({"channel": "The patient's details hold no phone number a text can go to."})
    if allowed and channel == Channel.EMAIL and not contacts.email_address(patient):
        raise ReminderError({"channel": "The patient's details hold no e-mail address."})
    row = ChannelConsent.objects.create(patient=patient, channel=channel, allowed=allowed,
                                        source=ChannelConsent.Source.STAFF, recorded_by=actor.user, note=note[:200])
    audit.record(actor, AuditAction.REMINDER_CONSENT_RECORDED, subject=patient, patient=patient,
                 details={"channel": channel, "allowed": allowed, "source": "staff", "note": note[:200]})
    return row


@use_case
def set_time_zone(*, actor: Actor, patient: Patient, time_zone: str) -> PatientContact:
    """The patient's own time zone for quiet hours ("" for the clinic's)."""
    _roles(actor, *CONTACT_ROLES, what="change a patient's time zone")
    if time_zone and time_zone not in zoneinfo.available_timezones():
        raise ReminderError({"time_zone": "Give a time zone by its name, e.g. America/Chicago."})
    contact, _ = PatientContact.objects.get_or_create(patient=patient)
    before = contact.time_zone
    contact.time_zone, contact.updated_at, contact.updated_by = time_zone, timezone.now(), actor.user
    contact.save()
    audit.record(actor, AuditAction.REMINDER_TIME_ZONE_SET, subject=patient, patient=patient,
                 details={"from": before, "to": time_zone})
    return contact


@use_case
def update_settings(*, actor: Actor, clinic, values: dict):
    """The clinic admin changes the reminder settings (quiet hours, lead times, retries)."""
    _roles(actor, Role.CLINIC_ADMIN, what="change the reminder settings")
    cfg = contacts.settings_for(clinic)
    errors = {}
    for name in SETTINGS_FIELDS:
        value = values.get(name)
        if name.startswith("quiet_"):
            if not isinstance(value, time):
                errors[name] = "Give a time of day (HH:MM)."
        elif not isinstance(value, int) or not (1 <= value <= (24 * 14 if name.endswith("hours") else 1440)):
            errors[name] = "Give a whole number in range."
    if errors:
        raise ReminderError(errors)
    changes = {n: [str(getattr(cfg, n)), str(values[n])] for n in SETTINGS_FIELDS if getattr(cfg, n) != values[n]}
    for name in SETTINGS_FIELDS:
        setattr(cfg, name, values[name])
    cfg.updated_at, cfg.updated_by = timezone.now(), actor.user
    cfg.save()
    audit.record(actor, AuditAction.REMINDER_SETTINGS_UPDATED, subject=clinic, details={"changes": changes})
    return cfg


def patients_with_number(number: str) -> list[Patient]:
    if not number:
        return []
    return [p for p in Patient.objects.filter(phone__contains=number[-4:]).select_related("clinic")
            if contacts.phone_number(p.phone) == number]


def pending_ride_request(number: str, now) -> Reminder | None:
    """The newest ride confirmation texted to ``number`` whose session is still booked ahead."""
    return (Reminder.objects.filter(kind=Kind.RIDE, channel=Channel.SMS, status=Reminder.Status.SENT, to=number,
                                    session__status=TreatmentSession.Status.BOOKED, session__scheduled_start__gt=now)
            .select_related("session", "patient").order_by("-sent_at", "-pk").first())


@use_case
def receive_sms(*, from_number: str, text: str, via: str) -> str:
    """A text from a patient: STOP/START set the SMS opt-out of every patient with that number; YES/NO answers the
    newest pending ride confirmation sent to it. Returns what happened, in a sentence (nothing changes for a number
    no patient has, or a YES/NO with no ride confirmation waiting)."""
    number = contacts.phone_number(from_number)
    word = " ".join((text or "").split()).upper().rstrip(".!")
    now = timezone.now()
    actor = Actor.system(f"text reply ({via})")
    if word in STOP_WORDS or word in START_WORDS:
        allowed = word in START_WORDS
        patients = patients_with_number(number)
        for p in patients:
            ChannelConsent.objects.create(patient=p, channel=Channel.SMS, allowed=allowed,
                                          source=ChannelConsent.Source.KEYWORD, note=f"{word} from {number}")
            audit.record(actor, AuditAction.REMINDER_CONSENT_RECORDED, subject=p, patient=p,
                         details={"channel": "sms", "allowed": allowed, "source": "keyword", "word": word})
        if not patients:
            return "No patient has that number; nothing changed."
        return "Texts stopped." if not allowed else "Texts started again."
    if word in YES_WORDS or word in NO_WORDS:
        if len(patients_with_number(number)) > 1:  # a family's shared phone: whose ride is it?
            return ("That number belongs to more than one patient, so the reply cannot be matched to a ride; nothing "
                    "changed. Phone the patient.")
        request = pending_ride_request(number, now)
        if request is None:
            return "No ride confirmation is waiting for that number; nothing changed."
        answer = RideReply.Answer.YES if word in YES_WORDS else RideReply.Answer.NO
        reply = RideReply.objects.create(reminder=request, session=request.session, patient=request.patient,
                                         answer=answer, from_number=number, text=(text or "")[:160], via=via[:20])
        audit.record(actor, AuditAction.REMINDER_RIDE_REPLIED, subject=request.session, patient=request.patient,
                     details={"answer": answer, "reminder": str(request.external_id), "via": via})
        start = timezone.localtime(request.session.scheduled_start, request.patient.clinic.tz)
        return f"Ride {reply.get_answer_display().lower()} recorded for the session on {start:%Y-%m-%d %H:%M}."
    return "Not a keyword (YES, NO, STOP, START); nothing changed."
