"""Good Faith Estimates for self-pay patients (No Surprises Act, 45 CFR 149.610): recorded as due when a service
is scheduled or the patient asks (the deadline from :func:`ketaclinic.clinical.gfe.estimate_due`), issued with
itemised expected charges, codes and the chart's diagnoses; flagged when the final bill is $400 or more above
the estimate (45 CFR 149.620, :func:`ketaclinic.clinical.gfe.exceeds_estimate`).

Every patient is taken as self-pay: the chart records no insurance (an insured patient's estimate goes to their
plan, which this app does not do).
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, Sum
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.billing.models import Estimate, EstimateLine, Service
from ketaclinic.billing.services._common import (
    MONEY_ROLES,
    BillingError,
    _roles,
    author,
    number,
    profile_for,
    use_case,
)
from ketaclinic.billing.services.invoices import diagnoses_of
from ketaclinic.billing.services.prices import current_prices
from ketaclinic.clinical import gfe


@use_case
def record_due(*, actor: Actor, patient, reason: str, asked_on: date, service_on: date | None = None,
               note: str = "") -> Estimate:
    """An estimate owed to ``patient``: for a service scheduled on ``asked_on`` for ``service_on``, or asked for on
    ``asked_on``. Its deadline is the regulation's (``clinical.gfe``)."""
    _roles(actor, MONEY_ROLES + ("front_desk",), what="record estimates")
    if reason not in Estimate.Reason.values:
        raise BillingError({"reason": "Scheduled or requested."})
    if reason == Estimate.Reason.SCHEDULED and service_on is None:
        raise BillingError({"service_on": "Give the day the service is scheduled."})
    if service_on is not None and service_on < asked_on:
        raise BillingError({"service_on": "The service cannot come before it was scheduled."})
    due = gfe.estimate_due(reason=reason, asked_on=asked_on, service_on=service_on,
                          open_weekdays=patient.clinic.weekdays())
    estimate = Estimate.objects.create(clinic=patient.clinic, patient=patient, number=number("GFE"), reason=reason,
                                       asked_on=asked_on, service_on=service_on, due_on=due.due_on,
                                       due_rule=due.rule, note=note.strip(), created_by=author(actor),
                                       created_at=timezone.now())
    audit.record(actor, AuditAction.BILLING_ESTIMATE_DUE, subject=estimate, patient=patient,
                 details={"number": estimate.number, "reason": reason, "asked_on": asked_on.isoformat(),
                          "service_on": service_on.isoformat() if service_on else None,
                          "due_on": due.due_on.isoformat(), "rule": due.rule, "source": due.source})
    return estimate


@use_case
def issue_estimate(*, actor: Actor, estimate: Estimate, items: list[tuple[str, int]], service_on: date,
                   covers_until: date) -> Estimate:
    """Give the estimate: each (service, quantity) at today's price with its code, the chart's diagnoses, and
    the period it covers (from the first service to ``covers_until``)."""
    _roles(actor, MONEY_ROLES, what="issue estimates")
    estimate = Estimate.objects.select_for_update().select_related("patient__clinic").get(pk=estimate.pk)
    if estimate.status != Estimate.Status.DUE:
        raise BillingError(f"This estimate is {estimate.get_status_display().lower()}.")
    errors = {}
    items = [(s, q) for s, q in items if q]
    if not items:
        errors["items"] = "List at least one expected service."
    if covers_until < service_on:
        errors["covers_until"] = "The end of the period comes before its start."
    prices = current_prices(estimate.patient.clinic)
    missing = [Service(s).label for s, _ in items if s not in prices]
    if missing:
        errors["items"] = f"No price is set for {', '.join(missing)}."
    if any(not 1 <= q <= 52 for _, q in items):
        errors["items"] = "Quantities from 1 to 52."
    if errors:
        raise BillingError(errors)
    lines = [EstimateLine(estimate=estimate, service=s, description=Service(s).label, code=prices[s].code,
                          modifiers=prices[s].modifiers, quantity=q, unit_cents=prices[s].amount_cents,
                          amount_cents=q * prices[s].amount_cents) for s, q in items]
    EstimateLine.objects.bulk_create(lines)
    estimate.status, estimate.issued_at, estimate.issued_by = Estimate.Status.ISSUED, timezone.now(), author(actor)
    estimate.service_on, estimate.covers_until = service_on, covers_until
    estimate.diagnoses = diagnoses_of(estimate.patient)
    estimate.total_cents = sum(x.amount_cents for x in lines)
    estimate.save()
    late = timezone.localdate(estimate.issued_at, estimate.patient.clinic.tz) > estimate.due_on
    audit.record(actor, AuditAction.BILLING_ESTIMATE_ISSUED, subject=estimate, patient=estimate.patient,
                 details={"number": estimate.number, "total_cents": estimate.total_cents, "late": late,
                          "lines": [[x.service, x.code, x.quantity, x.amount_cents] for x in lines]})
    return estimate


@use_case
def withdraw_estimate(*, actor: Actor, estimate: Estimate, reason: str) -> Estimate:
    """Withdraw an estimate that is still due (not yet given to the patient)."""
    _roles(actor, MONEY_ROLES, what="withdraw estimates")
    if not reason.strip():
        raise BillingError({"reason": "Give the reason."})
    estimate = Estimate.objects.select_for_update().get(pk=estimate.pk)
    if estimate.status == Estimate.Status.WITHDRAWN:
        raise BillingError("This estimate is already withdrawn.")
    if estimate.status != Estimate.Status.DUE:
        # the patient holds it, and a bill $400 or more above it stays flagged (45 CFR 149.620): issue a new one
        # when the care changes, but the one given stays as it was
        raise BillingError("An issued estimate cannot be withdrawn: the patient has it, and bills are still "
                           "measured against it. Record a new estimate when the expected care changes.")
    estimate.status, estimate.note = Estimate.Status.WITHDRAWN, reason.strip()[:300]
    estimate.save(update_fields=["status", "note"])
    audit.record(actor, AuditAction.BILLING_ESTIMATE_WITHDRAWN, subject=estimate, patient=estimate.patient,
                 details={"number": estimate.number, "reason": reason.strip()})
    return estimate


def due_list(clinic) -> list[Estimate]:
    """Estimates owed and not yet given, the soonest deadline first (one query)."""
    return list(Estimate.objects.filter(clinic=clinic, status=Estimate.Status.DUE).select_related("patient")
                .order_by("due_on", "pk"))


def exceeded(clinic) -> list[Estimate]:
    """Issued estimates whose live invoices come to $400 or more above them (one query), with ``billed_cents``."""
    rows = (Estimate.objects.filter(clinic=clinic, status=Estimate.Status.ISSUED).select_related("patient")
            .annotate(billed_cents=Sum("invoices__total_cents", filter=Q(invoices__voided_at__isnull=True),
                                       default=0)).order_by("issued_at"))
    return [e for e in rows if gfe.exceeds_estimate(billed_cents=e.billed_cents, estimated_cents=e.total_cents)]


#: How far ahead the worklist looks for bookings without an estimate (a page size, not a rule).
LOOKAHEAD_DAYS = 60


def uncovered_bookings(clinic, *, now=None) -> list[dict]:
    """Upcoming treatment sessions and billable visits of patients with no estimate for that day (due or issued,
    not withdrawn), each with the deadline the regulation gives from the day it was booked (four queries)."""
    from datetime import timedelta

    from ketaclinic.billing.services.invoices import VISIT_SERVICES
    from ketaclinic.scheduling.models import Appointment
    from ketaclinic.treatments.models import TreatmentSession

    now = now or timezone.now()
    tz, open_days = clinic.tz, clinic.weekdays()
    horizon = now + timedelta(days=LOOKAHEAD_DAYS)
    bookings = [(s.patient, s.scheduled_start, s.created_at, f"{s.get_drug_display()} session {s.sequence}")
                for s in TreatmentSession.objects.filter(patient__clinic=clinic, status=TreatmentSession.Status.BOOKED,
                                                         scheduled_start__gte=now, scheduled_start__lte=horizon)
                .select_related("patient")]
    bookings += [(a.patient, a.start, a.created_at, a.type.label)
                 for a in Appointment.objects.filter(clinic=clinic, status=Appointment.Status.BOOKED, start__gte=now,
                                                     start__lte=horizon, type__code__in=list(VISIT_SERVICES))
                 .select_related("patient", "type")]
    estimates: dict[int, list[Estimate]] = {}
    today = timezone.localtime(now, tz).date()
    for e in (Estimate.objects.filter(clinic=clinic).exclude(status=Estimate.Status.WITHDRAWN)
              .filter(Q(covers_until__isnull=True) | Q(covers_until__gte=today))):  # one query, whatever is booked
        estimates.setdefault(e.patient_id, []).append(e)
    out: dict[int, dict] = {}
    for patient, start, booked_at, what in sorted(bookings, key=lambda b: b[1]):
        day = timezone.localtime(start, tz).date()
        covered = any((e.service_on or e.asked_on) <= day and (e.covers_until is None or day <= e.covers_until)
                      for e in estimates.get(patient.pk, []))
        if covered or patient.pk in out:
            continue
        asked = min(timezone.localtime(booked_at, tz).date(), day)
        due = gfe.estimate_due(reason="scheduled", asked_on=asked, service_on=day, open_weekdays=open_days)
        out[patient.pk] = {"patient": patient, "what": what, "day": day, "booked_on": asked, "due_on": due.due_on,
                           "explanation": due.explanation}
    return sorted(out.values(), key=lambda r: r["due_on"])


def gfe_context(estimate: Estimate) -> dict:
    """What the estimate shown to the patient must carry besides its lines (45 CFR 149.610(c)): the provider (the
    clinic, its NPI and TIN from the billing profile), where care is given, and the disclaimers."""
    clinic = estimate.patient.clinic
    return {"gfe_clinic": clinic, "gfe_profile": profile_for(clinic), "gfe_disclaimers": gfe.GFE_DISCLAIMERS}
