"""Treatment journey use cases: orders, series booking, the session (check-in, pre-checks, monitoring), the dose,
discharge, the REMS form and signing, one module each.

Every use case validates, writes and audits in one durable transaction (:func:`~._common.use_case`) and raises
:class:`TreatmentError` (a ``ValueError`` carrying ``errors: {field: message}``) for anything refused; nothing is
changed then. Clinical rules come from :mod:`ketaclinic.clinical` with the clinic's limits passed as ``settings``.
Callers import from this package (``from ketaclinic.treatments import services``); the modules are its sections.
"""

from ketaclinic.clinical import session as rules
from ketaclinic.treatments.services._common import (
    CLOCK_SKEW,
    CLOSED,
    DECIMAL_FIELDS,
    FINISHED,
    READY_TO_LEAVE_MAX_MINUTES,
    ROUTES_FOR_DRUG,
    VITAL_FIELDS,
    VITAL_LABELS,
    Refused,
    S,
    TreatmentError,
    _clinical,
    _dec,
    _lock,
    _phase_for,
    _reading,
    _roles,
    limits_for,
    use_case,
)
from ketaclinic.treatments.services.booking import (
    BOOKING_MINUTES,
    book_series,
    book_session,
    booking_conflicts,
    cancel_session,
    default_minutes,
    propose_series,
)
from ketaclinic.treatments.services.consent import (
    add_consent_document,
    consent_missing,
    current_consent,
    sign_consent,
    valid_consent,
)
from ketaclinic.treatments.services.discharge import (
    discharge,
    discharge_hard_limits,
    esketamine_discharge_limits,
    record_recovery,
    transfer_to_emergency,
)
from ketaclinic.treatments.services.dose import (
    compute_dose,
    dose_given,
    dosing_event,
    prepare_dose,
    prepared_entries,
    prescribed_dose,
    start_blockers,
    start_dose,
    verify_dose,
    weight_guard,
)
from ketaclinic.treatments.services.monitoring import (
    acknowledge_alert,
    add_adverse_event,
    add_observation,
    add_rating,
    add_vitals,
    next_vitals_due,
    resolve_adverse_event,
)
from ketaclinic.treatments.services.orders import (
    INDICATIONS,
    ORDER_COUNTS,
    dosing_blockers,
    latest_weight,
    sign_order,
    stop_for_contraindication,
    stop_order,
    write_order,
)
from ketaclinic.treatments.services.readiness import (
    _refresh_readiness,
    discharge_decision,
    observation_clock,
    ready_from,
)
from ketaclinic.treatments.services.rems import (
    _complete_rems,
    mark_rems_submitted,
    predose_vitals_acceptable,
    rems_bp_points,
    rems_due,
    update_rems,
)
from ketaclinic.treatments.services.session import (
    PRECHECK_BOOLS,
    _has_bp,
    check_in,
    confirm_weight,
    override_predose_hold,
    precheck_missing,
    predose_hold,
    save_prechecks,
)
from ketaclinic.treatments.services.signing import add_addendum, sign_note
from ketaclinic.treatments.services.titration import propose_for, sign_dose

__all__ = [
    "BOOKING_MINUTES", "CLOCK_SKEW", "CLOSED", "DECIMAL_FIELDS", "FINISHED", "INDICATIONS", "ORDER_COUNTS",
    "PRECHECK_BOOLS", "READY_TO_LEAVE_MAX_MINUTES", "ROUTES_FOR_DRUG", "VITAL_FIELDS", "VITAL_LABELS", "Refused",
    "S", "TreatmentError", "_clinical", "_complete_rems", "_dec", "_has_bp", "_lock", "_phase_for", "_reading",
    "_refresh_readiness", "_roles", "add_addendum", "add_adverse_event", "add_observation", "add_rating",
    "add_vitals", "book_series", "book_session", "booking_conflicts", "cancel_session", "check_in", "compute_dose",
    "default_minutes", "discharge", "discharge_decision", "dosing_blockers", "dose_given", "dosing_event",
    "acknowledge_alert", "discharge_hard_limits", "esketamine_discharge_limits", "ready_from", "latest_weight", "limits_for", "mark_rems_submitted", "next_vitals_due",
    "override_predose_hold", "precheck_missing", "predose_hold", "predose_vitals_acceptable", "prepare_dose",
    "propose_series", "record_recovery", "rems_bp_points", "rems_due", "resolve_adverse_event", "rules",
    "save_prechecks", "sign_note", "add_consent_document", "consent_missing", "current_consent", "sign_consent", "valid_consent", "confirm_weight", "observation_clock", "prepared_entries", "prescribed_dose", "weight_guard",
    "sign_order", "start_blockers", "start_dose", "stop_for_contraindication",
    "stop_order", "transfer_to_emergency", "update_rems", "use_case", "verify_dose", "write_order",
    "propose_for", "sign_dose",
]
