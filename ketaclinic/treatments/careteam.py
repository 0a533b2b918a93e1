"""Care-team hook (patients/careteam.py): a prescriber who wrote or signed one of the patient's orders, and a
clinician who prepared, checked, gave, discharged or signed one of the patient's sessions, treats the patient."""

from __future__ import annotations

from django.db.models import Q

from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

_SESSION_ROLES = ("prepared_by", "verified_by", "administered_by", "discharged_by", "nurse_signed_by",
                  "prescriber_signed_by")


def treats(user, patient) -> bool:
    if TreatmentOrder.objects.filter(Q(created_by=user) | Q(signed_by=user), patient=patient).exists():
        return True
    involved = Q()
    for field in _SESSION_ROLES:
        involved |= Q(**{field: user})
    return TreatmentSession.objects.filter(involved, patient=patient).exists()
