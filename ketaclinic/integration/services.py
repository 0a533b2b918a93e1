"""Integration use cases: offer after dosing, book, complete, write notes, read notes (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import formats
from ketaclinic.clinic.hours import first_bookable, last_bookable, outside_hours
from ketaclinic.clinic.models import Room
from ketaclinic.clinical.schedules import integration_window
from ketaclinic.inputs import InputError, check_text
from ketaclinic.integration.models import IntegrationSession, TherapistNote
from ketaclinic.usecases import use_case

#: The longest therapist's note kept, in characters: a long session written up in full. A longer note is refused
#: with a message (never cut short silently).
NOTE_MAX = 20000
#: An integration session's length when none is given, in minutes (a booking default, not a clinical rule).
DEFAULT_MINUTES = 50
NOTE_READERS = frozenset({Role.PRESCRIBER, Role.NURSE, Role.THERAPIST})
#: The audit action of each status ``set_status`` may set (its keys are the statuses it accepts).
STATUS_ACTIONS = {
    IntegrationSession.Status.COMPLETED: AuditAction.INTEGRATION_COMPLETED,
    IntegrationSession.Status.DECLINED: AuditAction.INTEGRATION_DECLINED,
    IntegrationSession.Status.CANCELLED: AuditAction.INTEGRATION_CANCELLED,
}


class IntegrationError(ValueError):
    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


@use_case
def offer_after(*, actor: Actor, session) -> IntegrationSession | None:
    """Offer an integration session in the window after a dosing session (once per dosing session)."""
    end = session.dose_ended_at or session.discharged_at
    if end is None:
        return None
    existing = IntegrationSession.objects.filter(dosing_session=session).first()
    if existing:
        return existing
    start, finish = integration_window(end, settings=session.patient.clinic.limits())
    offer = IntegrationSession.objects.create(patient=session.patient, dosing_session=session, window_start=start,
                                              window_end=finish)
    audit.record(actor, AuditAction.INTEGRATION_OFFERED, subject=offer, patient=session.patient,
                 details={"window": [start.isoformat(), finish.isoformat()]})
    return offer


def window_opens(offer: IntegrationSession) -> datetime:
    """The window's start to the minute: a booking is typed to the minute, so the minute the window opens in may be
    booked (the window itself, the core's ``integration_window``, is counted to the second from the dose's end)."""
    return offer.window_start.replace(second=0, microsecond=0)


def first_slot(offer: IntegrationSession, minutes: int = DEFAULT_MINUTES) -> datetime | None:
    """The first start inside the offer's window at which a session of ``minutes`` fits the clinic's booking hours
    on a working day it has not closed, on the calendar's grid (``clinic.hours``); None when there is none."""
    return first_bookable(offer.patient.clinic, window_opens(offer), offer.window_end, minutes)


def last_slot(offer: IntegrationSession, minutes: int = DEFAULT_MINUTES) -> datetime | None:
    """The last such start inside the offer's window; None when there is none."""
    return last_bookable(offer.patient.clinic, window_opens(offer), offer.window_end, minutes)


@use_case
def book(*, actor: Actor, offer: IntegrationSession, start: datetime, therapist, room: Room | None = None,
         minutes: int = DEFAULT_MINUTES) -> IntegrationSession:
    """Book the offered session at ``start``: inside its window (to the minute), on a working day the clinic has not
    closed, within the clinic's booking hours (``clinic.hours``, the calendar's), with a therapist who is free."""
    offer = IntegrationSession.objects.select_for_update(of=("self",)).select_related("patient__clinic").get(
        pk=offer.pk)
    if offer.status not in (IntegrationSession.Status.OFFERED, IntegrationSession.Status.BOOKED):
        raise IntegrationError(f"This integration session is {offer.get_status_display().lower()}.")
    clinic = offer.patient.clinic
    tz = clinic.tz
    if timezone.is_naive(start):
        raise IntegrationError({"start": "Give a date and time."})
    day = start.astimezone(tz).date()
    if closed := clinic.closed_on(day):  # a holiday or the like (scheduling.closures)
        raise IntegrationError({"start": f"The clinic is closed on {day:%a %Y-%m-%d} ({closed})."})
    if not (window_opens(offer) <= start <= offer.window_end):
        first = first_slot(offer, minutes)
        raise IntegrationError({"start": f"Book within the window {offer.window_start.astimezone(tz):{formats.DAY_DATETIME}}"
                                f" to {offer.window_end.astimezone(tz):{formats.DAY_DATETIME}} (24-72 h after dosing)"
                                + (f": the first time the clinic books in it is "
                                   f"{first.astimezone(tz):{formats.DAY_DATETIME}}." if first else
                                   ": the clinic books at no time in it.")})
    if outside := outside_hours(clinic, start, minutes, what="integration session"):
        raise IntegrationError({"start": outside})
    if therapist is None or not therapist.has_role(Role.THERAPIST):
        raise IntegrationError({"therapist": "Choose a therapist."})
    end = start + timedelta(minutes=minutes)
    clash = [o for o in IntegrationSession.objects.filter(
        therapist=therapist, status=IntegrationSession.Status.BOOKED, scheduled_start__lt=end,
        scheduled_start__gte=start - timedelta(hours=8)).exclude(pk=offer.pk)
        if o.scheduled_start + timedelta(minutes=o.scheduled_minutes) > start]
    if clash:
        raise IntegrationError({"start": f"{therapist.label} is already booked at that time."})
    offer.status = IntegrationSession.Status.BOOKED
    offer.scheduled_start, offer.therapist, offer.room, offer.scheduled_minutes = start, therapist, room, minutes
    offer.save()
    audit.record(actor, AuditAction.INTEGRATION_BOOKED, subject=offer, patient=offer.patient,
                 details={"start": start.isoformat(), "therapist": therapist.username})
    return offer


@use_case
def set_status(*, actor: Actor, offer: IntegrationSession, status: str) -> IntegrationSession:
    if status not in STATUS_ACTIONS:
        raise IntegrationError("Unknown status.")
    offer = IntegrationSession.objects.select_for_update().select_related("patient").get(pk=offer.pk)
    if status == IntegrationSession.Status.COMPLETED and offer.status != IntegrationSession.Status.BOOKED:
        raise IntegrationError("Only a booked session can be completed.")
    offer.status = status
    offer.save(update_fields=["status"])
    audit.record(actor, STATUS_ACTIONS[status], subject=offer, patient=offer.patient)
    return offer


@use_case
def write_note(*, actor: Actor, offer: IntegrationSession, text: str) -> TherapistNote:
    """A therapist's note on an integration session: at most NOTE_MAX characters, no control characters (tabs and
    line breaks are kept); signed with a seal in the audit entry."""
    if Role.THERAPIST not in actor.roles:
        raise IntegrationError("Only a therapist writes integration notes.")
    text = (text or "").strip()
    if not text:
        raise IntegrationError({"text": "Write the note."})
    try:
        check_text(text, "The note", multiline=True, max_length=NOTE_MAX)
    except InputError as refused:
        raise IntegrationError({"text": refused.message}) from None
    note = TherapistNote.objects.create(session=offer, text=text, author=actor.user)
    seals.record(actor, AuditAction.INTEGRATION_NOTE_WRITTEN, note, subject=offer, patient=offer.patient)
    return note


def read_notes(*, actor: Actor, offer: IntegrationSession) -> list[TherapistNote]:
    """Therapist notes for clinical roles only; every read is audited (even when there are none)."""
    if not (NOTE_READERS & set(actor.roles)):
        raise IntegrationError("Integration notes are visible to clinical roles only.")
    with transaction.atomic():
        notes = list(offer.notes.select_related("author"))
        audit.record(actor, AuditAction.INTEGRATION_NOTE_VIEWED, subject=offer, patient=offer.patient,
                     details={"notes": [n.pk for n in notes]})
    return notes


def due_offers(clinic, now=None):
    now = now or timezone.now()
    return (IntegrationSession.objects.filter(patient__clinic=clinic, status=IntegrationSession.Status.OFFERED,
                                              window_end__gte=now)
            .select_related("patient", "dosing_session").order_by("window_start"))
