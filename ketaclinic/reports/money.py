"""Money: what each service and package brought in over the period, what came in and went out, and what is still
owed.

Money is whole cents in the database (ketaclinic/billing/money.py); the tables show US dollars with two decimals
(a Decimal, unit "USD"). ``build`` makes the same six queries whatever the data: the clinic, charges by service,
what packages paid of them by service, packages sold, money received by method, and billing's own aging report
(one query).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum

from ketaclinic.billing.models import Invoice, InvoiceLine, Payment, Service
from ketaclinic.billing.services import BUCKETS, aging
from ketaclinic.reports.base import Chart, Column, Report, ReportFilters, Section, Series, Table
from ketaclinic.reports.filters import DIAGNOSIS_NOTE, in_group, in_period, not_applied, notes, session_q
from ketaclinic.reports.scope import Scope

CENTS = Decimal("0.01")


def usd(cents) -> Decimal:
    """Whole cents as dollars with two decimals (exact: a Decimal, never a float)."""
    return (Decimal(int(cents or 0)) / 100).quantize(CENTS)


def _session_only(filters: ReportFilters) -> bool:
    return bool(filters.prescriber_id or filters.room_id or filters.route)


def _invoice_q(filters: ReportFilters, clinics: Scope, prefix: str = "") -> Q:
    """Live invoices issued in the period; prescriber, room and route select treatment-session invoices by their
    session."""
    q = Q(**{f"{prefix}voided_at__isnull": True}) & in_period(f"{prefix}issued_at", filters, clinics.tz)
    if _session_only(filters):
        q &= session_q(filters, clinics, f"{prefix}treatment_session__", dated=False)
    return q


def build(filters: ReportFilters, clinics: Scope | None = None) -> Report:
    """The report of the clinic acting now, or of a pool of a network's clinics (``clinics``: reports/scope.py)."""
    clinics = clinics or Scope.current()
    sections = [_by_service(filters, clinics), _packages(filters, clinics), _received(filters, clinics),
                _outstanding(filters, clinics)]
    return Report(slug="money", title="Money",
                  question="What did each service and package bring in, and what is still owed?",
                  filters=filters, sections=sections, notes=notes(
                      "Amounts in US dollars (USD), from whole cents. Voided invoices never count; a refund is "
                      "money out and is taken off what came in.",
                      "Prescriber, room and route filters keep only treatment-session invoices (the session's "
                      "prescriber who signed its order, its room, its route); visits, integration sessions, "
                      "fees for missed visits and package sales have none." if _session_only(filters) else "",
                      f"Days are the clinic's calendar days ({clinics.tz}).",
                      DIAGNOSIS_NOTE if filters.diagnosis else ""))


def _by_service(filters: ReportFilters, clinics: Scope) -> Section:
    lines = InvoiceLine.objects.filter(_invoice_q(filters, clinics, "invoice__"),
                                       clinics.q("invoice__clinic_id")).exclude(
        invoice__kind=Invoice.Kind.PACKAGE)
    if filters.diagnosis:
        lines = lines.filter(in_group(filters.diagnosis, "invoice__patient"))
    # what a package paid (a draw-down) by service, apart: the lines of the invoices a package paid, a semi-join
    # (IN) over those few invoices. Inside the totals' aggregate (FILTER (WHERE EXISTS ...)) it was a look-up per
    # line, and any subquery there keeps PostgreSQL from splitting the totals over parallel workers.
    drawn = Payment.objects.filter(method=Payment.Method.PACKAGE, kind=Payment.Kind.PAYMENT).values("invoice_id")
    rows = {r["service"]: r for r in lines.values("service").annotate(
        n=Count("pk"), charged=Sum("amount_cents")).order_by()}
    for r in lines.filter(invoice_id__in=drawn).values("service").annotate(package=Sum("amount_cents")).order_by():
        rows[r["service"]]["package"] = r["package"]
    for r in rows.values():
        r.setdefault("package", None)
    table_rows = []
    for code in [s.value for s in Service] + sorted(set(rows) - set(Service.values)):
        if code not in rows:
            continue
        r = rows[code]
        label = Service(code).label if code in Service.values else (code or "Other")
        table_rows.append((label, r["n"], usd(r["charged"]), usd(r["package"]),
                           usd((r["charged"] or 0) - (r["package"] or 0))))
    table_rows.append(("All services", sum(r[1] for r in table_rows), sum((r[2] for r in table_rows), Decimal("0.00")),
                       sum((r[3] for r in table_rows), Decimal("0.00")), sum((r[4] for r in table_rows),
                                                                              Decimal("0.00"))))
    return Section(
        title="Revenue by service",
        table=Table([Column("service", "Service"), Column("n", "Charges", "lines"),
                     Column("charged", "Charged", "USD"), Column("package", "Of which paid from a package", "USD"),
                     Column("direct", "Charged outside packages", "USD")], table_rows),
        chart=Chart("bar", "Service", "Charged (USD)",
                    [Series("charged", [(r[0], float(r[2])) for r in table_rows[:-1]])]),
        notes=["Charges on the live invoices issued in the period (InvoiceLine.amount_cents: the price the invoice "
               "was issued with, billing/services/invoices.py), by the service charged, package sales left out (see "
               "the next table). A session paid from a package is charged at the package's share of one session and "
               "paid by a package draw-down, so the package's price is counted once: as it is used, here."])


def _packages(filters: ReportFilters, clinics: Scope) -> Section:
    sold = Invoice.objects.filter(clinics.q("clinic_id"), kind=Invoice.Kind.PACKAGE, voided_at__isnull=True).filter(
        in_period("issued_at", filters, clinics.tz))
    if filters.diagnosis:
        sold = sold.filter(in_group(filters.diagnosis))
    rows = list(sold.values("package__name", "package__service").annotate(
        n=Count("pk"), sessions=Sum("package__sessions"), price=Sum("total_cents")).order_by("package__name"))
    table_rows = [(r["package__name"], Service(r["package__service"]).label if r["package__service"] in Service.values
                   else r["package__service"], r["n"], r["sessions"], usd(r["price"])) for r in rows]
    table_rows.append(("All packages", "", sum(r[2] for r in table_rows), sum(r[3] or 0 for r in table_rows),
                       sum((r[4] for r in table_rows), Decimal("0.00"))))
    return Section(
        title="Packages sold",
        table=Table([Column("package", "Package"), Column("service", "Service"), Column("n", "Sold", "packages"),
                     Column("sessions", "Sessions sold", "sessions"), Column("price", "Sold for", "USD")],
                    table_rows),
        chart=Chart("bar", "Package", "Sold for (USD)",
                    [Series("sold for", [(r[0], float(r[4])) for r in table_rows[:-1]])]),
        notes=notes("Packages sold in the period: their live invoices (Invoice kind 'package', the price copied "
                    "from the offer when sold, billing/services/packages.py sell_package). Money given back for "
                    "unused sessions is in 'Money received' below.",
                    not_applied(filters, "prescriber", "room", "route")))


def _received(filters: ReportFilters, clinics: Scope) -> Section:
    pays = Payment.objects.filter(in_period("at", filters, clinics.tz), clinics.q("invoice__clinic_id"),
                                  invoice__voided_at__isnull=True)
    if _session_only(filters):
        pays = pays.filter(session_q(filters, clinics, "invoice__treatment_session__", dated=False))
    if filters.diagnosis:
        pays = pays.filter(in_group(filters.diagnosis, "invoice__patient"))
    sums = {(r["method"], r["kind"]): r for r in pays.values("method", "kind").annotate(
        n=Count("pk"), cents=Sum("amount_cents")).order_by()}
    K = Payment.Kind
    table_rows = []
    net_total = 0
    for method in Payment.Method:
        got = sums.get((method.value, K.PAYMENT.value), {})
        back = sums.get((method.value, K.REFUND.value), {})
        unused = sums.get((method.value, K.UNUSED_REFUND.value), {})
        if not (got or back or unused):
            continue
        net = (got.get("cents") or 0) - (back.get("cents") or 0) - (unused.get("cents") or 0)
        if method != Payment.Method.PACKAGE:
            net_total += net
        table_rows.append((method.label, got.get("n", 0), usd(got.get("cents")), usd(back.get("cents")),
                           usd(unused.get("cents")), usd(net)))
    table_rows.append(("Money in, cash and card", None, None, None, None, usd(net_total)))
    return Section(
        title="Money received",
        table=Table([Column("method", "Method"), Column("n", "Payments", "payments"),
                     Column("paid", "Paid", "USD"), Column("refunded", "Refunded", "USD"),
                     Column("unused", "Unused package sessions refunded", "USD"), Column("net", "Net", "USD")],
                    table_rows),
        chart=Chart("bar", "Method", "Net (USD)", [Series("net", [(r[0], float(r[5])) for r in table_rows[:-1]])]),
        notes=["Payments and refunds made in the period (Payment.at, clinic-local day) on live invoices "
               "(billing.Payment: append-only, a payment taken in error is refunded). A package draw-down moves "
               "money already paid for a package onto a session's invoice: it is listed, but it is not money in."])


def _outstanding(filters: ReportFilters, clinics: Scope) -> Section:
    report = aging(clinics.clinics[0], clinic_ids=clinics.ids)
    rows = [(name, report.counts[name], usd(report.totals[name])) for name in BUCKETS]
    rows.append(("All", sum(report.counts.values()), usd(report.total)))
    return Section(
        title="Outstanding balances (aging, as of today)",
        table=Table([Column("bucket", "Days since the invoice was issued", "days"),
                     Column("n", "Invoices with money owed", "invoices"), Column("owed", "Owed", "USD")], rows),
        chart=Chart("bar", "Days since issued", "Owed (USD)",
                    [Series("owed", [(r[0], float(r[2])) for r in rows[:-1]])]),
        notes=notes("Billing's own aging report (billing/services/invoices.py aging): every live invoice of the "
                    "clinic with money owed today (its total less payments plus refunds), by how many clinic days "
                    "ago it was issued.",
                    not_applied(filters, "dates", "prescriber", "room", "route", "diagnosis")))
