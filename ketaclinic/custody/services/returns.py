"""Returns of stock to a reverse distributor."""

from __future__ import annotations

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical.identifiers import check_dea_number
from ketaclinic.custody.models import Container, LedgerEntry, Supplier
from ketaclinic.custody.services.common import (
    RETURNERS,
    CustodyError,
    _require,
    parse_quantity,
    removal_problem,
    use_case,
)
from ketaclinic.custody.services.ledger import _lock_container, _post


@use_case
def return_stock(actor: Actor, *, container: Container, quantity, distributor: Supplier, reason: str) -> LedgerEntry:
    """Return to a reverse distributor (which files the Form 41, clinical.md §6)."""
    _require(actor, RETURNERS, "return stock")
    quantity = parse_quantity(quantity)
    container = _lock_container(container)
    errors = {}
    if distributor.kind != Supplier.Kind.REVERSE_DISTRIBUTOR:
        errors["distributor"] = "Returns go to a registered reverse distributor."
    elif not check_dea_number(distributor.dea_number).valid:
        errors["distributor"] = "The reverse distributor's DEA number fails its check digit."
    if problem := removal_problem(container, quantity):
        errors["quantity"] = problem
    if not reason.strip():
        errors["reason"] = "Give the reason (expired, recalled, unwanted)."
    if errors:
        raise CustodyError(errors)
    entry = _post(actor, kind=LedgerEntry.Kind.RETURN, container=container, quantity=quantity, reason=reason.strip(),
                  details={"distributor": distributor.name, "distributor_address": distributor.address,
                           "distributor_dea": distributor.dea_number})
    audit.record(actor, AuditAction.CUSTODY_RETURNED, subject=entry, details={
        "container": container.label, "quantity": str(quantity), "to": distributor.name})
    return entry
