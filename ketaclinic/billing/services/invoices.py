"""Invoices: for a completed treatment session, a visit, an integration session, or a no-show / late-cancellation
fee; never twice for the same thing (a database constraint as well as the check); voided with a reason, never
deleted. Balances, statements and the aging report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, Value, When
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.billing.models import (
    Estimate,
    Invoice,
    InvoiceBalance,
    InvoiceLine,
    PatientPackage,
    Payment,
    PriceVersion,
    Service,
)
from ketaclinic.billing.money import dollars
from ketaclinic.billing.services._common import (
    MONEY_ROLES,
    BillingError,
    Figures,
    _roles,
    annotate_figures,
    annotated_figures,
    figures,
    number,
    profile_for,
    use_case,
)
from ketaclinic.billing.services.prices import price_for
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.patients.models import Diagnosis
from ketaclinic.scheduling.models import Appointment, AppointmentChange, AppointmentType
from ketaclinic.treatments.models import Drug, Route, TreatmentSession

S = TreatmentSession.Status
#: A session the patient came to and was treated in: discharged home, or transferred to emergency care after
#: dosing began (the care was given).
DONE = (S.DISCHARGED, S.TRANSFERRED)
#: The most esketamine a G2082 session covers (clinical.md §5d: "Spravato session <= 56 mg", status C).
ESKETAMINE_LOWER_BAND_MG = Decimal(56)
VISIT_SERVICES = {AppointmentType.Code.CONSULT: Service.CONSULT, AppointmentType.Code.FOLLOW_UP: Service.FOLLOW_UP,
                  AppointmentType.Code.INTEGRATION: Service.INTEGRATION}
#: A cancellation for the clinic's own reasons is never charged.
CLINIC_SIDE_REASONS = {AppointmentChange.Reason.CLINICIAN_UNAVAILABLE, AppointmentChange.Reason.CLINIC_CLOSED,
                       AppointmentChange.Reason.BOOKED_IN_ERROR}
#: How far back the worklist looks for things to invoice (a page size, not a rule).
WORKLIST_DAYS = 120


def session_service(session: TreatmentSession) -> str:
    if session.drug == Drug.ESKETAMINE:
        dose = session.administered_mg or session.prepared_dose_mg or session.order.fixed_dose_mg
        # a dose not recorded bills the lower band (G2082): never the higher code without the dose to show for it
        return Service.ESKETAMINE_84 if dose is not None and dose > ESKETAMINE_LOWER_BAND_MG else Service.ESKETAMINE_56
    return Service.IM_INJECTION if session.route == Route.IM else Service.IV_INFUSION


def diagnoses_of(patient) -> list[dict]:
    """The chart's active diagnoses (ICD-10-CM), as the invoice and superbill keep them."""
    return [{"code": d.code, "label": d.label} for d in Diagnosis.objects.filter(
        patient=patient, status=Diagnosis.Status.ACTIVE).order_by("noted_on", "pk")]


def _session_cancellation(session: TreatmentSession) -> AuditEntry | None:
    return (AuditEntry.objects.filter(action=AuditAction.SESSION_CANCELLED, subject_type="treatments.TreatmentSession",
                                      subject_id=str(session.external_id)).order_by("-seq").first())


def session_cancelled_at(session: TreatmentSession) -> datetime | None:
    entry = _session_cancellation(session)
    return entry.at if entry is not None else None


def session_cancelled_by_clinic(session: TreatmentSession) -> bool:
    """Whether the clinic's system cancelled ``session`` (e.g. every booked session of a patient with a signed
    absolute contraindication, audited with ``{"automatic": True}``). Treatments records no structured
    patient/clinic reason for a cancellation by a person, so only the automatic kind is known to be the clinic's."""
    entry = _session_cancellation(session)
    return entry is not None and bool((entry.details or {}).get("automatic"))


def fee_applies(*, start: datetime, status: str, cancelled_at: datetime | None, hours: int,
                clinic_side: bool = False) -> bool:
    """A no-show is charged the fee; a cancellation only when it came fewer than ``hours`` before the start and
    not for the clinic's own reasons."""
    if status == "no_show":
        return True
    if status != "cancelled" or clinic_side or cancelled_at is None:
        return False
    return start - cancelled_at < timedelta(hours=hours)


def covering_estimate(patient, day: date) -> Estimate | None:
    return (Estimate.objects.filter(patient=patient, status=Estimate.Status.ISSUED, service_on__lte=day,
                                    covers_until__gte=day).order_by("-issued_at").first())


def active_package(patient, service: str) -> PatientPackage | None:
    from ketaclinic.billing.services.packages import remaining_sessions

    for package in PatientPackage.objects.filter(patient=patient, service=service,
                                                 status=PatientPackage.Status.ACTIVE).order_by("created_at", "pk"):
        if remaining_sessions(package) > 0 and figures(package_invoice(package)).balance == 0:
            return package
    return None


def package_invoice(package: PatientPackage) -> Invoice:
    return Invoice.objects.filter(package=package, voided_at__isnull=True).get()


@dataclass
class Line:
    description: str
    amount_cents: int
    price: PriceVersion | None = None
    service: str = ""
    code: str = ""
    modifiers: str = ""
    units: int = 1


def _issue(actor: Actor, *, patient, kind: str, service_on: date, lines: list[Line], source: dict,
           rendering_provider=None) -> Invoice:
    taken = {k: v for k, v in source.items() if v is not None}
    existing = Invoice.objects.filter(voided_at__isnull=True, **taken).first() if taken else None
    if existing is not None:
        raise BillingError(f"This is already invoiced ({existing.number}); void that invoice first to reissue it.")
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                clinic=patient.clinic, patient=patient, number=number("INV"), kind=kind, issued_at=timezone.now(),
                issued_by=actor.user if actor.user_id else None, service_on=service_on,
                estimate=None if kind == Invoice.Kind.PACKAGE else covering_estimate(patient, service_on),
                rendering_provider=rendering_provider,
                diagnoses=diagnoses_of(patient), total_cents=sum(x.amount_cents for x in lines), **taken)
    except IntegrityError:
        raise BillingError("This is already invoiced (just now, by someone else).") from None
    InvoiceLine.objects.bulk_create([InvoiceLine(
        invoice=invoice, price_version=x.price, service=x.service, description=x.description, code=x.code,
        modifiers=x.modifiers, units=x.units, amount_cents=x.amount_cents) for x in lines])
    audit.record(actor, AuditAction.BILLING_INVOICE_ISSUED, subject=invoice, patient=patient,
                 details={"number": invoice.number, "kind": kind, "total_cents": invoice.total_cents,
                          "lines": [[x.service, x.code, x.amount_cents] for x in lines],
                          **{k: str(getattr(v, "external_id", v)) for k, v in taken.items()}})
    return invoice


def _priced(clinic, service: str, description: str | None = None) -> Line:
    pv = price_for(clinic, service)
    return Line(description or Service(service).label, pv.amount_cents, pv, service, pv.code, pv.modifiers, pv.units)


def _fee_line(clinic, what: str) -> Line:
    line = _priced(clinic, Service.NO_SHOW_FEE)
    line.description = f"{Service.NO_SHOW_FEE.label}: {what}"
    return line


@use_case
def invoice_session(*, actor: Actor, session: TreatmentSession, patient_cancelled: bool = False) -> Invoice:
    """Invoice a treatment session: its service if the patient was treated; the fee if they did not come, or if
    they cancelled late. Paid at once from the patient's package for that service, if they have one with sessions
    left (at the package's share per session).

    A late cancellation is never charged automatically: the session's record does not say who cancelled it, so a
    person confirms that the patient did (``patient_cancelled``); a session the clinic's system cancelled (an
    automatic cancellation) is never charged."""
    _roles(actor, MONEY_ROLES, what="issue invoices")
    session = TreatmentSession.objects.select_related("patient__clinic", "order").get(pk=session.pk)
    clinic, patient = session.patient.clinic, session.patient
    day = timezone.localtime(session.scheduled_start, clinic.tz).date()
    source = {"treatment_session": session}
    if session.status in DONE:
        service = session_service(session)
        line = _priced(clinic, service)
        package = active_package(patient, service)
        if package is not None:
            from ketaclinic.billing.services.packages import next_draw_cents, remaining_sessions

            # the line's amount is the share computed under the package's lock (draw_within draws it in this same
            # transaction): two sessions invoiced at once never both price the same share
            package = PatientPackage.objects.select_for_update().get(pk=package.pk)
            if package.status != PatientPackage.Status.ACTIVE or remaining_sessions(package) <= 0:
                package = None
        if package is not None:
            line.amount_cents = next_draw_cents(package)
            line.description = f"{line.description} (package: {package.name})"
        invoice = _issue(actor, patient=patient, kind=Invoice.Kind.SESSION, service_on=day, lines=[line],
                         source=source, rendering_provider=session.order.signed_by)
        if package is not None:
            from ketaclinic.billing.services.packages import draw_within

            draw_within(actor, invoice=invoice, package=package)
        return invoice
    profile = profile_for(clinic)
    clinic_side = session.status == S.CANCELLED and session_cancelled_by_clinic(session)
    late = fee_applies(start=session.scheduled_start, status=session.status, clinic_side=clinic_side,
                       cancelled_at=session_cancelled_at(session) if session.status == S.CANCELLED else None,
                       hours=profile.late_cancel_hours)
    if late and session.status == S.CANCELLED and not patient_cancelled:
        raise BillingError("This session was cancelled late, but its record does not say whether the patient or the "
                           "clinic cancelled it: no fee is charged unless you confirm the patient cancelled.")
    if late:
        what = "no-show" if session.status == S.NO_SHOW else "late cancellation"
        return _issue(actor, patient=patient, kind=Invoice.Kind.FEE, service_on=day,
                      lines=[_fee_line(clinic, f"{what}, {session}")], source=source)
    if clinic_side:
        raise BillingError("The clinic cancelled this session (automatically): no fee applies and there is nothing "
                           "to invoice.")
    if session.status == S.CANCELLED:
        raise BillingError(f"This session was cancelled at least {profile.late_cancel_hours} hours ahead: no fee "
                           "applies and there is nothing to invoice.")
    raise BillingError("Only a session the patient was treated in (or missed) can be invoiced.")


def _appointment_cancellation(appointment: Appointment) -> AppointmentChange | None:
    return (AppointmentChange.objects.filter(appointment=appointment, kind=AppointmentChange.Kind.CANCELLED)
            .order_by("-at", "-pk").first())


@use_case
def invoice_visit(*, actor: Actor, appointment: Appointment) -> Invoice:
    """Invoice a visit on the calendar (consult, follow-up, integration) once its time has passed, or its fee."""
    _roles(actor, MONEY_ROLES, what="issue invoices")
    a = Appointment.objects.select_related("patient__clinic", "type", "clinician").get(pk=appointment.pk)
    clinic = a.patient.clinic
    day = timezone.localtime(a.start, clinic.tz).date()
    service = VISIT_SERVICES.get(a.type.code)
    source = {"appointment": a}
    if a.status == Appointment.Status.BOOKED:
        if service is None:
            raise BillingError("Chair time is invoiced from its treatment session, not from the calendar.")
        if a.start > timezone.now():
            raise BillingError("This visit has not happened yet.")
        return _issue(actor, patient=a.patient, kind=Invoice.Kind.VISIT, service_on=day,
                      lines=[_priced(clinic, service, a.type.label)], source=source, rendering_provider=a.clinician)
    if service is None:
        # chair time: its no-show or late-cancellation fee is charged from its treatment session, once
        raise BillingError("Chair time is invoiced from its treatment session, not from the calendar.")
    change = _appointment_cancellation(a) if a.status == Appointment.Status.CANCELLED else None
    if fee_applies(start=a.start, status=a.status, cancelled_at=change.at if change else None,
                   hours=profile_for(clinic).late_cancel_hours,
                   clinic_side=change is not None and change.reason in CLINIC_SIDE_REASONS):
        what = "no-show" if a.status == Appointment.Status.NO_SHOW else "late cancellation"
        return _issue(actor, patient=a.patient, kind=Invoice.Kind.FEE, service_on=day,
                      lines=[_fee_line(clinic, f"{what}, {a.type.label} on {day.isoformat()}")], source=source)
    raise BillingError("This visit was cancelled in time (or by the clinic): no fee applies.")


@use_case
def invoice_integration(*, actor: Actor, integration: IntegrationSession) -> Invoice:
    """Invoice a completed integration session."""
    _roles(actor, MONEY_ROLES, what="issue invoices")
    i = IntegrationSession.objects.select_related("patient__clinic").get(pk=integration.pk)
    if i.status != IntegrationSession.Status.COMPLETED or i.scheduled_start is None:
        raise BillingError("Only a completed integration session can be invoiced.")
    clinic = i.patient.clinic
    day = timezone.localtime(i.scheduled_start, clinic.tz).date()
    return _issue(actor, patient=i.patient, kind=Invoice.Kind.INTEGRATION, service_on=day,
                  lines=[_priced(clinic, Service.INTEGRATION)], source={"integration_session": i},
                  rendering_provider=i.therapist)


@use_case
def void_invoice(*, actor: Actor, invoice: Invoice, reason: str) -> Invoice:
    """Void an invoice with the reason. Refused while money paid on it has not been refunded: refund first."""
    _roles(actor, MONEY_ROLES, what="void invoices")
    if not reason.strip():
        raise BillingError({"reason": "Give the reason for voiding."})
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_void:
        raise BillingError("This invoice is already void.")
    fig = figures(invoice)
    if fig.net_paid > 0:
        raise BillingError(f"{dollars(fig.net_paid)} has been paid on this invoice: refund it before voiding.")
    if invoice.kind == Invoice.Kind.PACKAGE and Payment.objects.filter(package=invoice.package).exists():
        raise BillingError("Sessions have been drawn from this package: it cannot be voided.")
    invoice.voided_at, invoice.voided_by, invoice.void_reason = timezone.now(), actor.user, reason.strip()
    invoice.save(update_fields=["voided_at", "voided_by", "void_reason"])
    audit.record(actor, AuditAction.BILLING_INVOICE_VOIDED, subject=invoice, patient=invoice.patient,
                 details={"number": invoice.number, "reason": invoice.void_reason,
                          "total_cents": invoice.total_cents})
    return invoice


# ------------------------------------------------------------------------------------------- reading the books
def invoices_of(patient):
    return annotate_figures(Invoice.objects.filter(patient=patient)).order_by("-issued_at", "-pk")


def balance_of(patient) -> int:
    """What the patient owes on their live invoices, in cents."""
    return sum(annotated_figures(i).balance for i in invoices_of(patient).filter(voided_at__isnull=True))


@dataclass
class StatementRow:
    at: datetime
    text: str
    charge: int = 0
    credit: int = 0
    balance: int = 0
    reference: str = ""


def statement(patient, *, start: date | None = None) -> list[StatementRow]:
    """Every charge and payment on the patient's live invoices in order, with the running balance (two
    queries)."""
    rows: list[StatementRow] = []
    invoices = list(Invoice.objects.filter(patient=patient, voided_at__isnull=True))
    for inv in invoices:
        rows.append(StatementRow(inv.issued_at, f"Invoice {inv.number} ({inv.get_kind_display()}, "
                                                f"{inv.service_on.isoformat()})", charge=inv.total_cents,
                                 reference=inv.number))
    for p in Payment.objects.filter(invoice__in=invoices).select_related("invoice"):
        effect = p.balance_effect_cents
        if effect == 0:
            continue
        text = f"{p.get_kind_display()} ({p.get_method_display()}) on {p.invoice.number}"
        rows.append(StatementRow(p.at, text, credit=effect, reference=p.receipt_number))
    rows.sort(key=lambda r: (r.at, r.reference))
    running = 0
    for r in rows:
        running += r.charge - r.credit
        r.balance = running
    if start is not None:
        rows = [r for r in rows if timezone.localtime(r.at, patient.clinic.tz).date() >= start]
    return rows


BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


@dataclass
class Aging:
    """Open balances by how many days since the invoice was issued: current (today), 1-30, 31-60, 61-90, 90+."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def bucket(days: int) -> str:
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


def aging(clinic, *, today: date | None = None, clinic_ids: Sequence[int] = ()) -> Aging:
    """The aging report over the clinic's live invoices with money owed: one query over their kept balances
    (``InvoiceBalance``, read on its partial index of the invoices with money owed), summed by bucket in the
    database. ``clinic_ids``: the clinics counted together when several of a network are pooled (the reports'
    network page; they share ``clinic``'s time zone); by default ``clinic`` alone.

    A bucket is the number of days between the clinic-calendar day an invoice was issued and ``today``; the
    buckets' edges are the starts of those days in the clinic's time zone, so the database compares moments."""
    from ketaclinic.inputs import wall_clock_moment

    tz = clinic.tz
    today = today or timezone.localdate(timezone.now(), tz)
    edges = [("current", 0), ("1-30", 30), ("31-60", 60), ("61-90", 90)]
    by_age = Case(*(When(issued_at__gte=wall_clock_moment(today - timedelta(days=days), datetime.min.time(), tz),
                         then=Value(name)) for name, days in edges), default=Value("90+"))
    report = Aging()
    # (read from the replica inside on_replica, as every report's queries are)
    for row in (InvoiceBalance.objects.filter(clinic_id__in=list(clinic_ids) or [clinic.pk], owed_cents__gt=0)
                .annotate(bucket=by_age).values("bucket").annotate(owed=Sum("owed_cents"), n=Count("pk"))
                .order_by()):
        report.totals[row["bucket"]] += int(row["owed"])
        report.counts[row["bucket"]] += int(row["n"])
    return report


def balances_out_of_step(clinic=None) -> list[str]:
    """The numbers of the invoices whose kept balance (``InvoiceBalance``, kept by the database's triggers) is not
    what their total and payments make it (0 for a voided invoice), names another clinic or issue time, or is
    missing: an empty list unless rows were written behind the application's back (or its triggers taken off).
    ``clinic``: its invoices only (default: every clinic's)."""
    invoices = Invoice.objects.all() if clinic is None else Invoice.objects.filter(clinic=clinic)
    should = Case(When(voided_at__isnull=False, then=Value(0)),
                  default=F("total_cents") - F("paid_cents") + F("refunded_cents"))
    return list(annotate_figures(invoices).annotate(should=should).filter(
        Q(balance__isnull=True) | ~Q(balance__owed_cents=F("should")) | ~Q(balance__clinic_id=F("clinic_id"))
        | ~Q(balance__issued_at=F("issued_at"))).order_by("pk").values_list("number", flat=True))


# ------------------------------------------------------------------------------------------------- the worklist
def to_invoice(clinic, *, now: datetime | None = None) -> dict[str, list]:
    """What is waiting to be invoiced (sessions, visits, integration sessions, fees to consider), over the last
    :data:`WORKLIST_DAYS` days (one query per list)."""
    now = now or timezone.now()
    since = now - timedelta(days=WORKLIST_DAYS)
    live = Invoice.objects.filter(voided_at__isnull=True)
    sessions = list(TreatmentSession.objects.filter(patient__clinic=clinic, status__in=DONE,
                                                    scheduled_start__gte=since)
                    .exclude(Exists(live.filter(treatment_session=OuterRef("pk"))))
                    .select_related("patient").order_by("scheduled_start"))
    missed = list(TreatmentSession.objects.filter(patient__clinic=clinic, status__in=(S.NO_SHOW, S.CANCELLED),
                                                  scheduled_start__gte=since, scheduled_start__lte=now)
                  .exclude(Exists(live.filter(treatment_session=OuterRef("pk"))))
                  .select_related("patient").order_by("scheduled_start"))
    visits = list(Appointment.objects.filter(clinic=clinic, status=Appointment.Status.BOOKED, start__gte=since,
                                             start__lte=now, type__code__in=list(VISIT_SERVICES))
                  .exclude(Exists(live.filter(appointment=OuterRef("pk"))))
                  .select_related("patient", "type").order_by("start"))
    missed_visits = list(Appointment.objects.filter(clinic=clinic, status=Appointment.Status.NO_SHOW, start__gte=since,
                                                    type__code__in=list(VISIT_SERVICES))
                         .exclude(Exists(live.filter(appointment=OuterRef("pk"))))
                         .select_related("patient", "type").order_by("start"))
    integration = list(IntegrationSession.objects.filter(patient__clinic=clinic,
                                                         status=IntegrationSession.Status.COMPLETED,
                                                         scheduled_start__gte=since)
                       .exclude(Exists(live.filter(integration_session=OuterRef("pk"))))
                       .select_related("patient").order_by("scheduled_start"))
    return {"sessions": sessions, "missed": missed, "visits": visits, "missed_visits": missed_visits,
            "integration": integration}


def unpaid(clinic, limit: int = 200) -> list[tuple[Invoice, Figures]]:
    """Live invoices with money owed, oldest first (one query: the oldest ``limit`` of the kept balances with money
    owed, on their partial index, and those invoices' figures)."""
    owing = (InvoiceBalance.objects.filter(clinic=clinic, owed_cents__gt=0).order_by("issued_at", "invoice_id")
             .values("invoice_id")[:limit])
    invoices = annotate_figures(Invoice.objects.filter(pk__in=owing).select_related("patient"))
    return [(inv, annotated_figures(inv)) for inv in invoices.order_by("issued_at", "pk")]

