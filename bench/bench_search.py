"""Patient search at scale: generate N synthetic patients, then time typical searches.

    .venv/bin/python bench/bench_search.py --patients 100000
"""

from __future__ import annotations

import argparse
import statistics
import time

from _setup import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from ketaclinic.clinic.models import current_clinic
    from ketaclinic.patients.models import Patient
    from ketaclinic.patients.services import search

    t0 = time.perf_counter()
    call_command("generate_patients", args.patients)
    print(f"generated {args.patients:,} patients in {time.perf_counter() - t0:.1f} s ({connection.vendor})")
    clinic = current_clinic()
    sample = Patient.objects.order_by("?").first()
    terms = {
        "family-name prefix": sample.legal_family_name[:4],
        "given + family": f"{sample.legal_given_name} {sample.legal_family_name[:3]}",
        "family, given": f"{sample.legal_family_name}, {sample.legal_given_name[:2]}",
        "MRN": sample.mrn,
        "date of birth": sample.date_of_birth.isoformat(),
    }
    print(f"{'search':<20} {'term':<28} {'results':>7} {'median ms':>10} {'p95 ms':>8}")
    for label, term in terms.items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            results = list(search(clinic, term))
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{label:<20} {term:<28} {len(results):>7} {statistics.median(times):>10.2f} {p95:>8.2f}")
    if connection.vendor == "sqlite":
        from ketaclinic.patients.services import _prefix

        t = terms["given + family"].lower().split()
        qs = Patient.objects.filter(clinic=clinic).filter(_prefix("given_key", t[0]) & _prefix("family_key", t[1]))
        sql, params = qs.order_by("given_key", "family_key")[:50].query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            print("query plan (given + family):", "; ".join(str(r[-1]) for r in cur.fetchall()))


if __name__ == "__main__":
    main()
