"""What the front desk reads about a ride home: ``ride_status(session_or_appointment)``, for the reminders
worklist now and for the Today board or the calendar later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ketaclinic.reminders import contacts
from ketaclinic.reminders.models import Channel, ChannelConsent, Kind, Reminder, RideReply


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
    return ride_statuses([record])[record.pk]


def ride_statuses(sessions) -> dict[int, RideStatus]:
    """:func:`ride_status` of each of ``sessions`` (dosing sessions), keyed by session id, in a fixed number of
    queries whatever their number."""
    sessions = list(sessions)
    ids = [s.pk for s in sessions]
    replies: dict[int, RideReply] = {}
    for reply in RideReply.objects.filter(session_id__in=ids).order_by("received_at", "pk"):
        replies[reply.session_id] = reply  # the newest answer wins
    asks: dict[int, list[Reminder]] = {}
    for r in Reminder.objects.filter(kind=Kind.RIDE, session_id__in=ids).order_by("-created_at", "-pk"):
        asks.setdefault(r.session_id, []).append(r)
    patients = {s.patient_id: s.patient for s in sessions}
    choices: dict[int, dict] = {pid: {} for pid in patients}
    for row in ChannelConsent.objects.filter(patient_id__in=patients, channel=Channel.SMS).order_by("recorded_at", "pk"):
        choices[row.patient_id][row.channel] = row
    out: dict[int, RideStatus] = {}
    for s in sessions:
        reply = replies.get(s.pk)
        if reply is not None:
            out[s.pk] = RideStatus(reply.answer, "Ride confirmed (YES)" if reply.answer == "yes"
                                   else "No ride (replied NO)", reply.received_at)
            continue
        mine = asks.get(s.pk, [])
        sent = next((r for r in mine if r.status == Reminder.Status.SENT), None)
        if sent is not None:
            out[s.pk] = RideStatus("asked", "Asked, no reply yet", sent.sent_at)
        elif any(r.status in (Reminder.Status.GAVE_UP, Reminder.Status.UNKNOWN) for r in mine):
            out[s.pk] = RideStatus("failed", "Text could not be sent: call the patient")
        elif not contacts.channel_allowed(s.patient, Channel.SMS, choices[s.patient_id]):
            out[s.pk] = RideStatus("no_sms", "Not asked: no SMS consent (call the patient)")
        else:
            out[s.pk] = RideStatus("not_asked", "Not asked yet")
    return out
