"""Time the custody reconciliation report over 100,000 ledger entries (issue 6 "done when").

Standalone: builds a throwaway SQLite database in a temporary directory, generates a believable hash-chained
ledger (receipts, draws linked to sessions, administrations, witnessed wastes, destructions, losses, returns),
checks it reconciles, then times ``services.reconciliation()`` and prints the figures.

    .venv/bin/python bench/bench_reconciliation.py [--entries 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _timing import timings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="ketaclinic-bench-")
    os.environ.update(DB="sqlite", DB_NAME=str(Path(tmp) / "bench.sqlite3"), KETACLINIC_DATA_DIR=tmp,
                      DJANGO_SETTINGS_MODULE="ketaclinic.settings", SECRET_KEY="bench-only-" + "x" * 40)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    n = generate(args.entries)
    print(f"generated {n} ledger entries in {time.perf_counter() - t0:.1f} s")

    from ketaclinic.custody import services

    rec = services.reconciliation()
    assert rec.balances, "generated ledger does not reconcile"
    times = timings(services.reconciliation, args.runs)
    t = time.perf_counter()
    broken = services.verify_ledger()
    verify_s = time.perf_counter() - t
    print(f"reconciliation over {n} entries, {len(rec.rows)} lots: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; {args.runs} runs); balances={rec.balances}")
    print(f"verify_ledger (hash chain) over {n} entries: {verify_s:.2f} s, intact={broken is None}")


def generate(target: int) -> int:
    from datetime import date, timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from ketaclinic.accounts.models import User
    from ketaclinic.audit import chain
    from ketaclinic.audit.models import ChainHead
    from ketaclinic.clinic.models import Clinic, Room
    from ketaclinic.custody.models import (
        Container,
        LedgerEntry,
        Lot,
        Product,
        Receipt,
        StorageLocation,
        Supplier,
    )
    from ketaclinic.patients.models import Patient
    from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

    D = Decimal
    with transaction.atomic():
        clinic = Clinic.objects.create(name="Bench clinic (synthetic)", dea_registration="FA1234563")
        room = Room.objects.create(clinic=clinic, name="Infusion", kind="infusion")
        nurse = User.objects.create(username="bench-nurse")
        rph = User.objects.create(username="bench-prescriber")
        loc = StorageLocation.objects.create(clinic=clinic, name="Safe")
        supplier = Supplier.objects.create(name="Bench supplier", address="1 Bench Rd", dea_number="PS1234563")
        products = [Product.objects.create(ndc=f"00000-000{i}-01", name=f"Ketamine {s} mg/mL 10 mL", drug="ketamine",
                                           form="vial", strength_mg_per_mL=D(s), container_volume_mL=D(10))
                    for i, s in enumerate((50, 100))]
        patients = Patient.objects.bulk_create([
            Patient(clinic=clinic, mrn=f"B{i:06d}", legal_given_name="Bench", legal_family_name=f"Synthetic{i}",
                    date_of_birth=date(1980, 1, 1), sex_at_birth="unknown") for i in range(200)])
        orders = TreatmentOrder.objects.bulk_create([
            TreatmentOrder(patient=p, drug="ketamine", route="iv", created_by=rph, status="active") for p in patients])
        per_container = 11  # receive, 3 x (draw, administer, waste), destroy or count of nothing
        n_containers = target // (per_container - 1) + 1
        lots = [Lot.objects.create(product=products[i % 2], lot_number=f"BL{i:03d}",
                                   expiry=date.today() + timedelta(days=400)) for i in range(40)]
        receipts = {lot.pk: Receipt.objects.create(
            supplier=supplier, invoice_number=f"I{lot.pk}", invoice_date=date.today(), received_on=date.today(),
            product=lot.product, lot_number=lot.lot_number, expiry=lot.expiry, packages=1, location=loc,
            status="received", entered_by=nurse, countersigned_by=rph) for lot in lots}
        containers = Container.objects.bulk_create([
            Container(lot=lots[i % len(lots)], location=loc, receipt=receipts[lots[i % len(lots)].pk],
                      label=f"B{i:07d}") for i in range(n_containers)], batch_size=2000)
        now = timezone.now()
        sessions = TreatmentSession.objects.bulk_create([
            TreatmentSession(patient=orders[i % 200].patient, order=orders[i % 200], drug="ketamine", route="iv",
                             room=room, scheduled_start=now, status="discharged", prepared_dose_mg=D(35),
                             prepared_by=nurse, verified_by=rph, verified_at=now, administered_mg=D(35),
                             administered_by=nurse) for i in range(n_containers * 3)], batch_size=2000)
        entries = []
        prev = chain.GENESIS
        seq = 0
        balances = []

        def add(kind, bucket, c, q, session=None, source=None, witness=None):
            nonlocal prev, seq
            seq += 1
            product = c.lot.product
            e = LedgerEntry(id=seq, seq=seq, at=now, kind=kind, bucket=bucket, container=c, lot_id=c.lot_id, quantity=q,
                            mg=q * product.strength_mg_per_mL, actor=nurse, actor_label="bench-nurse",
                            witness=witness, session=session, patient_id=session.patient_id if session else None,
                            source_id=source.pk if source else None, details={}, prev_hash=prev)
            e.hash = chain.entry_hash(prev, e.content(), settings.CHAIN_KEY)
            prev = e.hash
            entries.append(e)
            return e

        lot_by_pk = {lot.pk: lot for lot in lots}
        for i, c in enumerate(containers):
            if seq >= target:
                break
            c.lot = lot_by_pk[c.lot_id]
            balance = D("10.00")
            add("receive", "received", c, D("10.00"), witness=rph)
            for k in range(3):
                s = sessions[i * 3 + k]
                mL = D("0.70") if c.lot.product.strength_mg_per_mL == 50 else D("0.35")
                draw = add("draw", "drawn", c, mL + D("0.10"), session=s)
                add("administer", "administered", c, mL, session=s, source=draw)
                add("waste", "wasted", c, D("0.10"), session=s, source=draw, witness=rph)
                balance -= mL + D("0.10")
            kind = ("destroy", "destroyed") if i % 3 == 0 else ("return", "returned") if i % 3 == 1 else None
            if kind and seq < target:
                add(*kind, c, balance, witness=rph)
                balance = D("0.00")
            c.balance = balance
            balances.append(c)
        # the containers the target left untouched gave no dose: their sessions record none (a session with a dose
        # given and nothing drawn for it is what reconciliation refuses)
        TreatmentSession.objects.filter(pk__in=[s.pk for s in sessions[len(balances) * 3:]]).update(
            administered_mg=None, administered_by=None)
        # Primary keys are given (id = seq on an empty table), so a waste can point at its draw in one batch.
        LedgerEntry.objects.bulk_create(entries, batch_size=5000)
        Container.objects.bulk_update(balances, ["balance"], batch_size=2000)
        ChainHead.objects.update_or_create(name="custody", defaults={"last_seq": seq, "last_hash": prev})
    return seq


if __name__ == "__main__":
    main()
