"""What a submitted questionnaire holds (``ketaclinic/audit/seals.py``)."""

from ketaclinic.audit import seals
from ketaclinic.measures.models import Administration


def administration_content(a: Administration) -> dict[str, object]:
    """The answers and the score as submitted; its status may later become amended or entered in error, with a
    reason, by design."""
    return {"administration": seals.fields_of(a, exclude=("status", "error_reason", "updated_at")),
            "answers": seals.rows_of(a.answers.all())}


seals.register(Administration, administration_content)
