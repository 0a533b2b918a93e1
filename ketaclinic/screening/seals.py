"""What a signed eligibility assessment holds (``ketaclinic/audit/seals.py``)."""

from ketaclinic.audit import seals
from ketaclinic.screening.models import EligibilityAssessment


def assessment_content(a: EligibilityAssessment) -> dict[str, object]:
    """The assessment as signed; a retraction of its absolute contraindication is written later, by design."""
    return {"assessment": seals.fields_of(a, exclude=("absolute_retracted_at", "absolute_retracted_by",
                                                      "absolute_retraction_reason"))}


seals.register(EligibilityAssessment, assessment_content)
