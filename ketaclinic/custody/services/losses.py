"""Theft or significant loss (DEA Form 106 data): the loss entry, the notice deadlines, and recording the notice
and the filed form."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical import custody as rules
from ketaclinic.custody.models import Container, LedgerEntry, LossReport
from ketaclinic.custody.services.common import (
    DISPOSERS,
    CustodyError,
    _require,
    parse_quantity,
    removal_problem,
    use_case,
)
from ketaclinic.custody.services.ledger import _lock_container, _post


def received_at(container: Container, clinic: Clinic) -> datetime:
    """The earliest moment ``container`` was in the clinic's hands: the start (clinic time) of the day its
    delivery was received, or its receive entry in the ledger if that is earlier."""
    day_start = datetime.combine(container.receipt.received_on, datetime.min.time(), clinic.tz)
    first = (LedgerEntry.objects.filter(container=container, kind=LedgerEntry.Kind.RECEIVE)
             .order_by("seq").values_list("at", flat=True).first())
    return min(day_start, first) if first is not None else day_start


@use_case
def report_loss(actor: Actor, *, container: Container, quantity, kind: str, discovered_at: datetime,
                circumstances: str, police_notified: bool = False, police_report: str = "",
                clinic: Clinic | None = None) -> LossReport:
    """Theft or significant loss: DEA Form 106 data; the written notice is due within 1 business day."""
    _require(actor, DISPOSERS, "report a theft or loss")
    clinic = clinic or current_clinic()
    quantity = parse_quantity(quantity)
    container = _lock_container(container)
    errors = {}
    received = received_at(container, clinic)
    if discovered_at > timezone.now():
        errors["discovered_at"] = "Discovery cannot be in the future."
    elif discovered_at < received:
        errors["discovered_at"] = (f"Discovery cannot be before {container.label} was received "
                                   f"({received.astimezone(clinic.tz):%Y-%m-%d}); check the date and time.")
    if not circumstances.strip():
        errors["circumstances"] = "Describe what happened (DEA Form 106)."
    if kind not in LossReport.Kind.values:
        errors["kind"] = "Choose theft, significant loss or lost in transit."
    if problem := removal_problem(container, quantity):
        errors["quantity"] = problem
    if errors:
        raise CustodyError(errors)
    limits = clinic.limits()
    report = LossReport.objects.create(
        clinic=clinic, kind=kind, discovered_at=discovered_at, circumstances=circumstances.strip(), police_notified=police_notified,
        police_report=police_report.strip(), reported_by=actor.user,
        notice_due_at=rules.theft_notice_due(discovered_at, int(limits["custody.theft_notice_business_days"]),
                                             clinic.tz),
        form106_due_on=rules.form106_due(discovered_at.astimezone(clinic.tz).date(), int(limits["custody.dea106_days"])),
    )
    product = container.lot.product
    entry = _post(actor, kind=LedgerEntry.Kind.LOSS, container=container, quantity=quantity,
                  reason=circumstances.strip(), details={
                      "report": str(report.external_id), "type": report.get_kind_display(),
                      "discovered_at": discovered_at.isoformat(), "ndc": product.ndc,
                      "lot": container.lot.lot_number, "police_notified": police_notified,
                      "police_report": report.police_report})
    audit.record(actor, AuditAction.CUSTODY_LOSS_REPORTED, subject=report, details={
        "container": container.label, "quantity": str(quantity), "entry": entry.seq,
        "notice_due_at": report.notice_due_at.isoformat()})
    return report


@use_case
def record_loss_notice(actor: Actor, report: LossReport, *, notice_sent_at: datetime | None = None,
                       form106_filed_on: date | None = None, form106_reference: str = "") -> LossReport:
    _require(actor, DISPOSERS, "update a loss report")
    report = LossReport.objects.select_for_update().get(pk=report.pk)
    changed = {}
    if notice_sent_at is not None:
        if notice_sent_at > timezone.now():
            raise CustodyError({"notice_sent_at": "Cannot be in the future."})
        report.notice_sent_at, report.notice_sent_by = notice_sent_at, actor.user
        changed["notice_sent_at"] = notice_sent_at.isoformat()
    if form106_filed_on is not None:
        if not form106_reference.strip():
            raise CustodyError({"form106_reference": "Enter the DEA Form 106 confirmation number."})
        report.form106_filed_on, report.form106_reference = form106_filed_on, form106_reference.strip()
        changed.update(form106_filed_on=form106_filed_on.isoformat(), form106_reference=report.form106_reference)
    if not changed:
        raise CustodyError({"__all__": "Nothing to record."})
    report.save()
    audit.record(actor, AuditAction.CUSTODY_LOSS_UPDATED, subject=report, details=changed)
    return report
