"""What a signed session note and a signed order hold (``ketaclinic/audit/seals.py``)."""

from ketaclinic.audit import seals
from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession


def session_content(s: TreatmentSession) -> dict[str, object]:
    """The session as the nurse signed it, with its own records. Left out: the prescriber's co-signature (written
    after, and recorded in the audit trail), an adverse event's resolution time (set once, later), and what is
    added to a signed note by design (addenda, alert acknowledgements, the REMS form)."""
    return {
        "session": seals.fields_of(s, exclude=("prescriber_signed_by", "prescriber_signed_at")),
        "vitals": seals.rows_of(s.vitals.all()),
        "predose_overrides": seals.rows_of(s.predose_overrides.all()),
        "events": seals.rows_of(s.events.all()),
        "adverse_events": seals.rows_of(s.adverse_events.all(), exclude=("resolved_at",)),
        "ratings": seals.rows_of(s.ratings.all()),
        "observations": seals.rows_of(s.observations.all()),
        "dose_decisions": seals.rows_of(s.dose_decisions.all()),
    }


def order_content(o: TreatmentOrder) -> dict[str, object]:
    """The order as signed; its status moves on (completed, stopped, entered in error) by design."""
    return {"order": seals.fields_of(o, exclude=("status",))}


seals.register(TreatmentSession, session_content)
seals.register(TreatmentOrder, order_content)
