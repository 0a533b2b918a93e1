"""Time the billing aging report over 100,000 invoices (issue 13 "done when").

Standalone: builds a throwaway SQLite database in a temporary directory (``_setup.setup_django``; ``DB=postgres``
with ``DB_NAME`` uses that database instead), bulk-creates synthetic patients, invoices issued over the last 200
days and payments on about two thirds of them (paid in full, in part, and some refunded), checks the report against
a plain recount, then times ``billing.services.aging()`` and prints the figures.

    .venv/bin/python bench/billing_aging.py [--invoices 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta

from _setup import setup_django


def generate(n_invoices: int, n_patients: int, rng: random.Random):
    from django.utils import timezone

    from ketaclinic.billing.models import Invoice, Payment
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.patients.models import Patient

    clinic = Clinic.objects.create(name="Bench clinic (synthetic)", time_zone="America/Denver")
    patients = Patient.objects.bulk_create([
        Patient(clinic=clinic, mrn=f"B{i:08d}", legal_given_name="Bench", legal_family_name=f"Patient{i}",
                given_key="bench", family_key=f"patient{i}", date_of_birth=date(1980, 1, 1) + timedelta(days=i % 9000),
                sex_at_birth="unknown", is_demo=True) for i in range(n_patients)], batch_size=2000)
    now = timezone.now()
    invoices = []
    for i in range(n_invoices):
        invoices.append(Invoice(clinic=clinic, patient=patients[i % n_patients], number=f"INV-B{i:07d}",
                                kind="session", issued_at=now - timedelta(days=rng.randint(0, 200),
                                                                           minutes=rng.randint(0, 600)),
                                service_on=(now - timedelta(days=rng.randint(0, 200))).date(),
                                total_cents=rng.choice((15000, 30000, 45000, 60000, 75000))))
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    invoices = list(Invoice.objects.filter(clinic=clinic).only("pk", "total_cents", "issued_at"))
    payments = []
    n = 0
    for inv in invoices:
        roll = rng.random()
        if roll < 0.45:
            amounts = [("payment", inv.total_cents)]
        elif roll < 0.6:
            amounts = [("payment", inv.total_cents // 2)]
        elif roll < 0.66:
            amounts = [("payment", inv.total_cents), ("refund", inv.total_cents // 3)]
        else:
            amounts = []
        for kind, cents in amounts:
            n += 1
            payments.append(Payment(invoice_id=inv.pk, kind=kind, method="cash", amount_cents=cents,
                                    receipt_number=f"RCP-B{n:07d}", at=inv.issued_at + timedelta(hours=1)))
    Payment.objects.bulk_create(payments, batch_size=5000)
    return clinic, len(payments)


def recount(clinic, today):
    """The same report the slow, obvious way (one invoice at a time in Python, from plain rows)."""
    from django.utils import timezone

    from ketaclinic.billing.models import Invoice, Payment
    from ketaclinic.billing.services.invoices import bucket

    paid: dict[int, int] = {}
    for inv_id, kind, cents in Payment.objects.values_list("invoice_id", "kind", "amount_cents"):
        paid[inv_id] = paid.get(inv_id, 0) + (cents if kind == "payment" else -cents if kind == "refund" else 0)
    totals: dict[str, int] = {}
    for pk, issued_at, total in Invoice.objects.filter(clinic=clinic).values_list("pk", "issued_at", "total_cents"):
        owed = total - paid.get(pk, 0)
        if owed > 0:
            b = bucket((today - timezone.localtime(issued_at, clinic.tz).date()).days)
            totals[b] = totals.get(b, 0) + owed
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from ketaclinic.billing import services
    from ketaclinic.billing.money import dollars

    t0 = time.perf_counter()
    clinic, n_payments = generate(args.invoices, args.patients, random.Random(20261130))
    print(f"generated {args.invoices:,} invoices and {n_payments:,} payments for {args.patients:,} synthetic patients "
          f"in {time.perf_counter() - t0:.1f} s ({connection.vendor})")
    today = timezone.localdate(timezone.now(), clinic.tz)
    times = []
    report = None
    for _ in range(args.runs):
        start = time.perf_counter()
        report = services.aging(clinic, today=today)
        times.append(time.perf_counter() - start)
    expected = recount(clinic, today)
    assert {b: v for b, v in report.totals.items() if v} == expected, (report.totals, expected)
    print(f"aging report over {args.invoices:,} invoices: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms ({args.runs} runs); matches a plain recount")
    for b in services.BUCKETS:
        print(f"  {b:>8}: {report.counts[b]:>7,} invoices  {dollars(report.totals[b]):>16}")
    print(f"  {'total':>8}: {sum(report.counts.values()):>7,} invoices  {dollars(report.total):>16}")


if __name__ == "__main__":
    main()
