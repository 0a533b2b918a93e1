"""Blind counts and inventories (21 CFR 1304.11), and the incidents a discrepancy opens, which only the
compliance lead resolves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Container, Count, CountLine, Incident, LedgerEntry, StorageLocation
from ketaclinic.custody.services.common import (
    COMPLIANCE,
    HANDLERS,
    INVENTORY_TAKERS,
    CustodyError,
    _require,
    parse_quantity,
    use_case,
)
from ketaclinic.custody.services.ledger import _lock_container, _post, held_here

# A count may find more than the book balance (that is a discrepancy to record), but never more than this many
# times a full container's labelled content: input sanity against typing errors, not a clinical number.
COUNT_MAXIMUM_FACTOR = 2
#: The audit action of each kind of count.
COUNT_ACTIONS = {
    Count.Kind.ROUTINE: AuditAction.CUSTODY_COUNT_ROUTINE,
    Count.Kind.INITIAL: AuditAction.CUSTODY_COUNT_INITIAL,
    Count.Kind.BIENNIAL: AuditAction.CUSTODY_COUNT_BIENNIAL,
}


def count_maximum(container: Container) -> Decimal:
    """The most a count line may record for ``container`` (twice its labelled content, in its unit)."""
    return rules.q2(container.lot.product.units_per_container * COUNT_MAXIMUM_FACTOR)


@dataclass(frozen=True)
class CountInput:
    container: Container
    counted: Decimal
    method: str = CountLine.Method.EXACT


@use_case
def submit_count(actor: Actor, *, location: StorageLocation, kind: str, lines: list[CountInput],
                 taken_on: date | None = None, timing: str = "", at: datetime | None = None) -> Count:
    """A blind count: the counter enters what they find; the book balance is read only now, under lock."""
    roles = HANDLERS if kind == Count.Kind.ROUTINE else INVENTORY_TAKERS
    _require(actor, roles, "record a count")
    held_here(location)
    today = timezone.localdate()
    taken_on = taken_on or today
    errors: dict[str, str] = {}
    if kind not in COUNT_ACTIONS:
        errors["kind"] = "Choose a routine count, an initial inventory or a biennial inventory."
    if taken_on > today:
        errors["taken_on"] = "A count cannot be dated in the future."
    if kind in (Count.Kind.INITIAL, Count.Kind.BIENNIAL) and timing not in Count.Timing.values:
        errors["timing"] = "Say whether the inventory was taken at opening or close of business (21 CFR 1304.11)."
    in_stock = {c.pk for c in Container.objects.filter(location=location, balance__gt=0)}
    given = {line.container.pk for line in lines}
    if in_stock - given:
        errors["__all__"] = "Count every container in the store (some were left out)."
    for line in lines:
        key = line.container.external_id
        try:
            parse_quantity(line.counted, f"c_{key}", allow_zero=True, maximum=count_maximum(line.container),
                           unit=line.container.lot.product.unit)
        except CustodyError as e:
            errors.update(e.errors)
        if line.method not in CountLine.Method.values:
            errors[f"m_{key}"] = "Choose exact or estimated."
    if errors:
        raise CustodyError(errors)
    locked = {c.pk: c for c in Container.objects.select_for_update(of=("self",)).select_related("lot__product")
              .filter(pk__in=sorted(given)).order_by("pk")}
    count = Count.objects.create(kind=kind, location=location, taken_on=taken_on, timing=timing,
                                 counted_by=actor.user, signed_at=at or timezone.now())
    discrepancies = 0
    for line in sorted(lines, key=lambda item: item.container.pk):
        c = locked[line.container.pk]
        if c.location_id != location.pk:
            raise CustodyError({"__all__": f"{c.label} is not kept in {location.name}."})
        method = line.method
        if method == CountLine.Method.ESTIMATED and not rules.estimate_allowed(c.lot.product.dea_schedule,
                                                                              c.opened_at is not None):
            raise CustodyError({f"c_{c.external_id}": f"{c.label} is unopened: count it exactly "
                                                     "(21 CFR 1304.11(e))."})
        cl = CountLine.objects.create(count=count, container=c, counted=line.counted, expected=c.balance,
                                      method=method)
        if cl.counted != cl.expected:
            discrepancies += 1
            incident = Incident.objects.create(count_line=cl)
            audit.record(actor, AuditAction.CUSTODY_INCIDENT_OPENED, subject=incident, details={
                "container": c.label, "counted": str(cl.counted), "expected": str(cl.expected)})
    count.discrepancies = discrepancies
    count.save(update_fields=["discrepancies"])
    audit.record(actor, COUNT_ACTIONS[kind], subject=count, details={
        "location": location.name, "lines": len(lines), "discrepancies": discrepancies, "timing": timing})
    return count


@use_case
def resolve_incident(actor: Actor, incident: Incident, *, resolution: str, reason: str) -> Incident:
    """Only the compliance lead closes a discrepancy, always with a reason."""
    _require(actor, COMPLIANCE, "resolve a count discrepancy")
    incident = Incident.objects.select_for_update(of=("self",)).select_related("count_line__container").get(pk=incident.pk)
    if incident.status != Incident.Status.OPEN:
        raise CustodyError({"__all__": "This incident is already resolved."})
    if resolution not in Incident.Resolution.values:
        raise CustodyError({"resolution": "Choose how it is resolved."})
    if len(reason.strip()) < 10:
        raise CustodyError({"reason": "Explain the discrepancy (at least a sentence)."})
    line = incident.count_line
    if resolution == Incident.Resolution.ADJUST:
        container = _lock_container(line.container_id)
        delta = line.counted - line.expected
        incident.entry = _post(actor, kind=LedgerEntry.Kind.COUNT_ADJUST, container=container, quantity=delta,
                               reason=reason.strip(), details={"incident": str(incident.external_id),
                                                               "counted": str(line.counted),
                                                               "expected": str(line.expected)})
    incident.status = Incident.Status.RESOLVED
    incident.resolution = resolution
    incident.reason = reason.strip()
    incident.resolved_by = actor.user
    incident.resolved_at = timezone.now()
    incident.save()
    audit.record(actor, AuditAction.CUSTODY_INCIDENT_RESOLVED, subject=incident,
                 details={"resolution": resolution, "reason": incident.reason,
                          "entry": incident.entry.seq if incident.entry else None})
    return incident
