"""Care-team hook (patients/careteam.py): a prescriber who wrote or signed one of the patient's orders, and a
clinician who prepared, checked, gave, discharged or signed one of the patient's sessions, treats the patient. So
does every nurse and prescriber on the day the patient is booked for a dosing session: the patient in the chair is
the case of whoever is on shift, named or not (the cockpit, the chart and the session's papers open without
breaking the glass that day)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

_SESSION_ROLES = ("prepared_by", "verified_by", "administered_by", "discharged_by", "nurse_signed_by",
                  "prescriber_signed_by")


_NOT_COMING = (TreatmentSession.Status.CANCELLED, TreatmentSession.Status.NO_SHOW)


def treats(user, patient) -> bool:
    if user.has_role("nurse", "prescriber"):
        # the clinic's day (its time zone is active for the request), whatever the day's length
        S = TreatmentSession.Status
        today = Q(scheduled_start__date=timezone.localdate())
        in_the_chair = Q(status__in=(S.CHECKED_IN, S.PRE_CHECKS, S.DOSING, S.OBSERVATION, S.READY))  # past midnight too
        if TreatmentSession.objects.filter(today | in_the_chair, patient=patient).exclude(status__in=_NOT_COMING) \
                .exists():
            return True
    if TreatmentOrder.objects.filter(Q(created_by=user) | Q(signed_by=user), patient=patient).exists():
        return True
    involved = Q()
    for field in _SESSION_ROLES:
        involved |= Q(**{field: user})
    return TreatmentSession.objects.filter(involved, patient=patient).exists()
