"""AuditEvent (audit.AuditEntry: the hash-chained audit trail), for entries about one of the clinic's patients."""

from __future__ import annotations

from fhir.resources.R4B.auditevent import AuditEvent

from ketaclinic.fhir import codes
from ketaclinic.fhir.mappers.common import UUID_RE, instant, patient_ref, practitioner_ref


def _action(action: str) -> str:
    """AuditEvent.action (required binding audit-event-action: C R U D E) from our "noun.verb"."""
    verb = action.rsplit(".", 1)[-1]
    if verb in ("view", "read", "viewed", "opened", "search", "searched", "printed", "exported", "downloaded"):
        return "R"
    if verb in ("create", "created", "add", "added", "record", "recorded", "register", "registered", "write",
                "written", "book", "booked"):
        return "C"
    return "E" if verb in ("sent", "send", "run") else "U"


def audit_event(e) -> list[AuditEvent]:
    agent = {"requestor": True, "name": e.actor_label}
    if e.actor_id is not None:
        agent["who"] = practitioner_ref(e.actor)
    if e.client_ip:
        agent["network"] = {"address": e.client_ip, "type": "2"}
    entity = [{"what": patient_ref(e.patient), "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                                                         "code": "1", "display": "Person"}}]
    if e.subject_type:
        # The subject's public id only (a record without one is named by its kind, never its database key).
        public = e.subject_id if UUID_RE.match(e.subject_id or "") else ""
        entity.append({"name": f"{e.subject_type} {public}".strip(), "description": e.subject_type})
    return [AuditEvent(
        id=f"audit-{e.seq}",
        type=codes.AUDIT_REST.coding(),
        subtype=[{"system": codes.LOCAL_AUDIT_ACTION, "code": e.action}],
        action=_action(e.action),
        recorded=instant(e.at),
        outcome="0",
        agent=[agent],
        source={"observer": {"display": "KetaClinic"}},
        entity=entity,
    )]
