"""Demo integration sessions after past dosing sessions, with therapist notes (synthetic)."""

from __future__ import annotations

from datetime import timedelta

from ketaclinic.audit import seals
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.hours import first_bookable
from ketaclinic.integration import services
from ketaclinic.integration.models import IntegrationSession, TherapistNote

NOTES = ["Synthetic note: explored themes from the session (felt 'lighter'); set an intention for next week.",
         "Synthetic note: processed a difficult emergence moment; grounding practice reviewed.",
         "Synthetic note: reflected on connection with family; journaling prompt agreed."]


def seed(ctx) -> None:
    therapist = ctx.users["therapist"]
    rooms = list(ctx.clinic.rooms.filter(kind="therapy"))
    now = ctx.now
    for n, s in enumerate(ctx.extra.get("past_sessions", [])):
        start, end = s.dose_ended_at + timedelta(hours=24), s.dose_ended_at + timedelta(hours=72)
        offer = IntegrationSession(patient=s.patient, dosing_session=s, window_start=start, window_end=end)
        # attended at a time the clinic books inside the window (its hours on a working day), a few hours in
        at = (first_bookable(ctx.clinic, start + timedelta(hours=2 + n % 5), end, services.DEFAULT_MINUTES)
              or first_bookable(ctx.clinic, start, end, services.DEFAULT_MINUTES))
        if end < now and n % 5 != 4 and at is not None:
            offer.status = IntegrationSession.Status.COMPLETED
            offer.scheduled_start = at
            offer.therapist = therapist
            offer.room = rooms[0] if rooms else None
        elif end < now:
            offer.status = IntegrationSession.Status.DECLINED
        offer.save()
        if offer.status == IntegrationSession.Status.COMPLETED:
            note = TherapistNote.objects.create(session=offer, text=NOTES[n % len(NOTES)], author=therapist,
                                                written_at=offer.scheduled_start + timedelta(minutes=55))
            seals.seal_demo_history(Actor.for_user(therapist), note)
