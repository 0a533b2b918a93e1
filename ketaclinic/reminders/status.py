"""What the front desk reads about a ride home: ``ride_status(session_or_appointment)``, for the reminders
worklist now and for the Today board or the calendar later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ketaclinic.reminders import contacts
from ketaclinic.reminders.models import Channel, Kind, Reminder, RideReply


@dataclass(frozen=True)
class RideStatus:
    state: str  # "not_needed", "no_sms", "not_asked", "asked", "failed", "yes", "no"
    label: str
    at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.state == "yes"


def ride_status(record) -> RideStatus:
    """The ride confirmation of a dosing session (an appointment that is not a dosing session needs none)."""
    if not hasattr(record, "scheduled_start"):
        return RideStatus("not_needed", "No ride needed")
    reply = RideReply.objects.filter(session=record).order_by("-received_at", "-pk").first()
    if reply is not None:
        return RideStatus(reply.answer, "Ride confirmed (YES)" if reply.answer == "yes" else "No ride (replied NO)",
                          reply.received_at)
    asks = list(Reminder.objects.filter(kind=Kind.RIDE, session=record).order_by("-created_at", "-pk"))
    sent = next((r for r in asks if r.status == Reminder.Status.SENT), None)
    if sent is not None:
        return RideStatus("asked", "Asked, no reply yet", sent.sent_at)
    if any(r.status in (Reminder.Status.GAVE_UP, Reminder.Status.UNKNOWN) for r in asks):
        return RideStatus("failed", "Text could not be sent: call the patient")
    if not contacts.channel_allowed(record.patient, Channel.SMS):
        return RideStatus("no_sms", "Not asked: no SMS consent (call the patient)")
    return RideStatus("not_asked", "Not asked yet")
