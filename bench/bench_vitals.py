"""Saving one vitals row at the chair (the cockpit's htmx POST) and opening the cockpit, against the framework
floor (a trivial signed-in view behind the same middleware), interleaved in one run, with about 20 and about 400
readings in the session. Prints medians, p90 and the ratio to the floor, and the answer's size.

    .venv/bin/python bench/bench_vitals.py [--repeat 60]
    scripts/pg-throwaway .venv/bin/python bench/bench_vitals.py     # on PostgreSQL

In-process (Django's test client, no HTTP server): what is measured is the application's own work per request
(middleware, view, queries, template); a production server adds the same socket and worker cost to both sides.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from _setup import dosing_world, setup_django

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_floor_urls


def _median_p90(xs: list[float]) -> tuple[float, float]:
    ys = sorted(xs)
    return statistics.median(ys) * 1000, ys[int(len(ys) * 0.9)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from ketaclinic.treatments import services
    from tests.factories import actor

    clinic, staff, patient, session, rooms = dosing_world("bench", minutes_ago=600)
    nurse = actor(staff["nurse"])

    def readings(count: int, first_minutes_ago: int) -> None:
        for k in range(count):
            services.add_vitals(actor=nurse, session=session, taken_at=timezone.now() - timedelta(
                minutes=first_minutes_ago) + timedelta(seconds=k), values={
                "systolic_mmHg": 126, "diastolic_mmHg": 80, "heart_rate_bpm": 74, "spo2_percent": 98})

    client = Client()
    client.force_login(staff["nurse"])
    save_url = reverse("treatments:vitals", args=[session.external_id])
    cockpit_url = reverse("treatments:cockpit", args=[session.external_id])

    def floor() -> None:
        assert client.get("/bench-floor/").status_code == 200

    shown = {}

    def save() -> int:
        # As the cockpit's row form sends it: htmx, targeted at the form, with the newest reading the screen shows
        # (the blank form in each answer carries the new one, as in the browser).
        if "pk" not in shown:
            shown["pk"] = session.vitals.order_by("-taken_at", "-pk").values_list("pk", flat=True).first()
        r = client.post(save_url, {"systolic_mmHg": "128", "diastolic_mmHg": "82", "heart_rate_bpm": "76",
                                   "shown_through": shown["pk"]}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="vitals-form")
        assert r.status_code == 200 and b'data-saved="yes"' in r.content, r.content[:300]
        assert "HX-Retarget" not in r.headers, "the bench's save should take the in-place path"
        shown["pk"] = int(re.search(rb'name="shown_through" value="(\d+)"', r.content).group(1))
        return len(r.content)

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    print(f"database: {connection.vendor}; {args.repeat} interleaved repetitions per figure; in-process")
    with override_settings(ROOT_URLCONF="bench_floor_urls"):
        readings(9, first_minutes_ago=590)
        for history in (10, 400):
            if history == 400:
                readings(400 - session.vitals.count(), first_minutes_ago=500)
                shown.clear()
            for _ in range(5):  # warm up
                floor()
                save()
                client.get(cockpit_url)
            floors, saves, cockpits = [], [], []
            for _ in range(args.repeat):
                floors.append(timed(floor))
                saves.append(timed(save))
                cockpits.append(timed(lambda: client.get(cockpit_url)))
            with CaptureQueriesContext(connection) as q_save:
                size = save()
            with CaptureQueriesContext(connection) as q_cockpit:
                client.get(cockpit_url)
            f50, f90 = _median_p90(floors)
            s50, s90 = _median_p90(saves)
            c50, c90 = _median_p90(cockpits)
            n = session.vitals.count()
            print(f"\n{n} readings in the session")
            print(f"  floor (signed-in trivial view)  p50 {f50:6.1f} ms  p90 {f90:6.1f} ms")
            print(f"  save one vitals row (htmx)      p50 {s50:6.1f} ms  p90 {s90:6.1f} ms  "
                  f"{s50 / f50:4.1f}x floor  {len(q_save.captured_queries)} queries  answer {size} bytes")
            print(f"  open the cockpit                p50 {c50:6.1f} ms  p90 {c90:6.1f} ms  "
                  f"{c50 / f50:4.1f}x floor  {len(q_cockpit.captured_queries)} queries")


if __name__ == "__main__":
    main()
