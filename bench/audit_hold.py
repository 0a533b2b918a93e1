"""How long one vitals save holds the audit chain's head row: from taking the head's lock (audit.services.lock_chain,
one row for every clinic) to the end of the commit that releases it, against the whole request, in-process.
Every audited write in every clinic waits for this hold, so it bounds the writes per second of the whole system
(one over the hold).

    .venv/bin/python bench/audit_hold.py [--repeat 100]
    scripts/pg-throwaway .venv/bin/python bench/audit_hold.py     # on PostgreSQL
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time

from _setup import dosing_world, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse

    from ketaclinic.audit import services as audit

    clinic, staff, patient, session, rooms = dosing_world("hold", minutes_ago=300)

    holds: list[float] = []
    original = audit.lock_chain

    def timed_lock(name):
        head = original(name)
        taken = time.perf_counter()
        transaction.on_commit(lambda: holds.append(time.perf_counter() - taken))
        return head

    audit.lock_chain = timed_lock
    client = Client()
    client.force_login(staff["nurse"])
    url = reverse("treatments:vitals", args=[session.external_id])
    shown = session.vitals.order_by("-taken_at", "-pk").values_list("pk", flat=True).first()
    requests: list[float] = []
    for k in range(args.repeat + 5):
        t0 = time.perf_counter()
        r = client.post(url, {"systolic_mmHg": "126", "diastolic_mmHg": "80", "heart_rate_bpm": "74",
                              "shown_through": shown}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="vitals-form")
        took = time.perf_counter() - t0
        assert r.status_code == 200 and b'data-saved="yes"' in r.content, r.content[:200]
        shown = int(re.search(rb'name="shown_through" value="(\d+)"', r.content).group(1))
        if k >= 5:
            requests.append(took)
    holds = holds[-args.repeat:]
    h50, r50 = statistics.median(holds) * 1000, statistics.median(requests) * 1000
    print(f"database: {connection.vendor}; {args.repeat} vitals saves, in-process")
    print(f"  audit chain head held   p50 {h50:6.2f} ms  p95 {sorted(holds)[int(len(holds) * .95)] * 1000:6.2f} ms"
          f"  ({h50 / r50:.0%} of the request; at most {1000 / h50:,.0f} audited writes/s across all clinics)")
    print(f"  whole request           p50 {r50:6.2f} ms")


if __name__ == "__main__":
    main()
