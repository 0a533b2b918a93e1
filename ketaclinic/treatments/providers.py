"""What the treatments app provides to the apps below it (registered in ``TreatmentsConfig.ready()``).

A lower app that needs treatment data defines the interface it needs in its own terms and never imports
treatments; this module fills it in.
"""

from __future__ import annotations

from datetime import datetime

from ketaclinic.measures import dosing_sessions
from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession
from ketaclinic.treatments.services._common import CLOSED, FINISHED

S = TreatmentSession.Status
UPCOMING = (S.BOOKED, S.CHECKED_IN, S.PRE_CHECKS)
#: Called off; and sessions in which a dose was given and the session is over: discharged home, or transferred to
#: emergency care (an emergency transfer ends dosing; the dose given still counts for induction and boosters).
CALLED_OFF, DOSE_GIVEN = CLOSED, FINISHED


class TreatmentSessions:
    """Dosing sessions for measurement-based care (``ketaclinic/measures/dosing_sessions.py``)."""

    def scheduled_since(self, patient, since: datetime):
        return TreatmentSession.objects.filter(patient=patient, scheduled_start__gte=since)

    def not_called_off(self, patient):
        return TreatmentSession.objects.filter(patient=patient).exclude(status__in=CALLED_OFF)

    def first_order_id(self, patient) -> int | None:
        return TreatmentOrder.objects.filter(patient=patient).exclude(
            status__in=[TreatmentOrder.Status.ENTERED_IN_ERROR, TreatmentOrder.Status.DRAFT]
        ).order_by("created_at").values_list("pk", flat=True).first()

    def is_upcoming(self, session: TreatmentSession) -> bool:
        return session.status in UPCOMING

    def is_called_off(self, session: TreatmentSession) -> bool:
        return session.status in CALLED_OFF

    def dose_given(self, session: TreatmentSession) -> bool:
        return session.dose_ended_at is not None or session.status in DOSE_GIVEN


def register() -> None:
    dosing_sessions.register(TreatmentSessions())
