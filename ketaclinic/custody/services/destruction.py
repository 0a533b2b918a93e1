"""Destruction of expired or unwanted stock (DEA Form 41): recorded as a pending event that posts once two
witnesses have signed (``witnessing.attest``)."""

from __future__ import annotations

from django.db.models import Sum
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Container, PendingEvent
from ketaclinic.custody.services.common import (
    DISPOSERS,
    CustodyError,
    _dec,
    _require,
    parse_quantity,
    removal_problem,
    use_case,
)
from ketaclinic.custody.services.ledger import _lock_container


@use_case
def request_destruction(actor: Actor, *, container: Container, quantity, method: str, place: str,
                        clinic: Clinic | None = None) -> PendingEvent:
    """Destroy expired or unwanted stock: DEA Form 41 data, posted once two witnesses have signed."""
    _require(actor, DISPOSERS, "destroy stock")
    clinic = clinic or current_clinic()
    quantity = parse_quantity(quantity)
    container = _lock_container(container)
    errors = {}
    if not method.strip():
        errors["method"] = "Say how it is made non-retrievable (DEA Form 41 'method of destruction')."
    if not place.strip():
        errors["place"] = "Say where it is destroyed (DEA Form 41 'location')."
    pending = _dec(PendingEvent.objects.filter(container=container, status=PendingEvent.Status.PENDING).aggregate(
        t=Sum("quantity"))["t"])
    if problem := removal_problem(container, quantity, pending=pending):
        errors["quantity"] = problem
    if errors:
        raise CustodyError(errors)
    event = PendingEvent.objects.create(kind=PendingEvent.Kind.DESTROY, container=container, quantity=quantity,
                                        method=method.strip(), details={"place": place.strip()},
                                        witnesses_required=rules.DESTRUCTION_WITNESSES, requested_by=actor.user)
    audit.record(actor, AuditAction.CUSTODY_DESTRUCTION_REQUESTED, subject=event,
                 details={"container": container.label, "quantity": str(quantity), "method": event.method})
    return event



def form41_details(container: Container, event: PendingEvent, witnesses: list) -> dict:
    """The DEA Form 41 fields (clinical.md §6 'Destruction of inventory' row, status C)."""
    clinic = container.location.clinic
    product = container.lot.product
    per_container = product.units_per_container
    full = event.quantity == per_container and container.balance == per_container
    return {
        "registrant": {"name": clinic.name, "address": clinic.address, "dea_registration": clinic.dea_registration},
        "ndc": product.ndc, "batch": container.lot.lot_number, "name": product.name,
        "strength": f"{product.mg_per_unit} mg/{'device' if product.unit == 'device' else 'mL'}",
        "form": product.get_form_display(), "package_quantity": f"{per_container} {product.unit}",
        "full_packages": 1 if full else 0, "partial_count": "" if full else f"{event.quantity} {product.unit}",
        "total_destroyed_mg": str(rules.q2(event.quantity * product.mg_per_unit)),
        "date": timezone.localdate().isoformat(), "method": event.method, "location": event.details.get("place", ""),
        "witnesses": [w.label for w in witnesses], "container": container.label,
    }
