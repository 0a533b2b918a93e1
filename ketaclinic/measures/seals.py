"""What a submitted questionnaire holds (``ketaclinic/audit/seals.py``): the answers and the score."""

from ketaclinic.audit import seals
from ketaclinic.measures.models import Administration


def administration_content(a: Administration) -> dict[str, object]:
    return {"administration": seals.fields_of(a, exclude=("updated_at",)), "answers": seals.rows_of(a.answers.all())}


seals.register(Administration, administration_content, signed={"finalized_at__isnull": False},
               prefetch=("answers",))
