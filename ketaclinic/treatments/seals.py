"""What a signed session note and a signed order hold (``ketaclinic/audit/seals.py``)."""

from ketaclinic.audit import seals
from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession


def session_content(s: TreatmentSession) -> dict[str, object]:
    """The session with its own records. Rows added to a signed note by design are records of their own: addenda,
    alert acknowledgements, the REMS form."""
    return {
        "session": seals.fields_of(s),
        "vitals": seals.rows_of(s.vitals.all()),
        "predose_overrides": seals.rows_of(s.predose_overrides.all()),
        "events": seals.rows_of(s.events.all()),
        "adverse_events": seals.rows_of(s.adverse_events.all()),
        "ratings": seals.rows_of(s.ratings.all()),
        "observations": seals.rows_of(s.observations.all()),
        "dose_decisions": seals.rows_of(s.dose_decisions.all()),
    }


seals.register(TreatmentSession, session_content, signed={"nurse_signed_at__isnull": False},
               prefetch=("vitals", "predose_overrides", "events", "adverse_events", "ratings", "observations",
                         "dose_decisions"))
seals.register(TreatmentOrder, lambda o: {"order": seals.fields_of(o)}, signed={"signed_at__isnull": False})
