"""What a signed eligibility assessment holds (``ketaclinic/audit/seals.py``)."""

from ketaclinic.audit import seals
from ketaclinic.screening.models import EligibilityAssessment

seals.register(EligibilityAssessment, lambda a: {"assessment": seals.fields_of(a)}, signed={"signed_at__isnull": False})
