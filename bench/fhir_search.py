"""FHIR search latency: one patient's vital signs (~400 readings in one session) searched by a backend client with a
bearer token, against a framework floor measured in the same run (a trivial view behind the same middleware that
checks the same bearer token and answers "{}"), interleaved. Prints p50 and p95, the ratio to the floor, the
queries and the answer's size.

    .venv/bin/python bench/fhir_search.py [--repeat 60]
    scripts/pg-throwaway .venv/bin/python bench/fhir_search.py     # on PostgreSQL

In-process (Django's test client, no HTTP server): what is measured is the application's own work per request
(middleware, token check, queries, mapping to FHIR R4B models, serialising, the audit entry each request writes);
a production server adds the same socket and worker cost to both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from _setup import dosing_world, setup_django

ROOT = Path(__file__).resolve().parent.parent


def _p50_p95(xs: list[float]) -> tuple[float, float]:
    ys = sorted(xs)
    return statistics.median(ys) * 1000, ys[min(len(ys) - 1, int(len(ys) * 0.95))] * 1000


def floor_urls():
    """The project's URLs plus the floor view (a module object for ROOT_URLCONF)."""
    import types

    from django.http import HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from ketaclinic import access
    from ketaclinic.fhir import auth
    from ketaclinic.urls import urlpatterns as project_urlpatterns

    access.POLICY["fhir_bench_floor"] = access.BACKEND_CLIENT

    @csrf_exempt
    def floor(request):
        auth.authorize(request, "Observation", "s")
        return HttpResponse("{}", content_type="application/fhir+json")

    module = types.ModuleType("fhir_bench_urls")
    module.urlpatterns = [path("fhir-bench-floor/", floor, name="fhir_bench_floor"), *project_urlpatterns]
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--readings", type=int, default=400)
    parser.add_argument("--profile", action="store_true", help="print where one search of each case spends its time")
    args = parser.parse_args()
    if args.repeat < 1 or args.readings < 1:
        parser.error("--repeat and --readings must be 1 or more")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    sys.path.insert(0, str(ROOT))
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ketaclinic.audit.services import Actor
    from ketaclinic.fhir import services as fhir_services
    from ketaclinic.treatments import services
    from tests.factories import actor
    from tests.fhir.conftest import TOKEN_URL, RegisteredClient, ec_key, public_jwks

    clinic, staff, patient, session, rooms = dosing_world("bench", minutes_ago=600)
    nurse = actor(staff["nurse"])
    for k in range(args.readings - session.vitals.count()):
        services.add_vitals(actor=nurse, session=session, taken_at=timezone.now() - timedelta(minutes=590)
                            + timedelta(seconds=k), values={"systolic_mmHg": 126, "diastolic_mmHg": 80,
                                                            "heart_rate_bpm": 74, "spo2_percent": 98,
                                                            "respiratory_rate_per_min": 14})
    admin = staff["clinic_admin"]
    key = ec_key()
    backend = fhir_services.register_client(actor=Actor(user=admin, roles=admin.role_set()), clinic=clinic,
                                            name="Bench backend", scopes=["system/*.rs"], keys=public_jwks(key))
    registered = RegisteredClient(client=backend, private_key=key)
    headers: dict[str, str] = {}

    def new_token() -> None:
        """Tokens live minutes (as issued to any client): a fresh one before each round, outside the timings."""
        token = fhir_services.exchange_assertion(
            grant_type="client_credentials", assertion_type=fhir_services.ASSERTION_TYPE,
            assertion=registered.assertion(aud=TOKEN_URL), scope=None, token_url=TOKEN_URL).access_token
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    new_token()
    client = Client()
    pid = patient.external_id
    cases = {
        "vital signs, first page (_count=50)": f"/fhir/R4/Observation?patient={pid}&category=vital-signs",
        "blood pressure, all (_count=500)": f"/fhir/R4/Observation?patient={pid}&code=http://loinc.org|85354-9"
                                            "&_count=500",
        "heart rate, one day (date=eq)": f"/fhir/R4/Observation?patient={pid}&code=8867-4&_count=500&date=eq"
                                         f"{timezone.localtime(session.vitals.first().taken_at).date().isoformat()}",
    }

    def floor() -> None:
        assert client.get("/fhir-bench-floor/", **headers).status_code == 200

    def timed(url: str) -> float:
        t0 = time.perf_counter()
        r = client.get(url, **headers)
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200, r.content[:300]
        return elapsed

    print(f"database: {connection.vendor}; {session.vitals.count()} vitals readings in the session; "
          f"{args.repeat} interleaved repetitions per figure; in-process")
    with override_settings(ROOT_URLCONF=floor_urls()):
        if args.profile:
            import cProfile
            import pstats

            for name, url in cases.items():
                timed(url)
                profiler = cProfile.Profile()
                profiler.runcall(timed, url)
                print(f"\n--- {name}")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
            return
        for _ in range(5):  # warm up
            floor()
            for url in cases.values():
                timed(url)
        floors: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            new_token()
            t0 = time.perf_counter()
            floor()
            floors.append(time.perf_counter() - t0)
            for name, url in cases.items():
                times[name].append(timed(url))
        new_token()
        f50, f95 = _p50_p95(floors)
        print(f"  floor (bearer-token trivial view)       p50 {f50:6.1f} ms  p95 {f95:6.1f} ms")
        for name, url in cases.items():
            with CaptureQueriesContext(connection) as q:
                r = client.get(url, **headers)
            entries = len(json.loads(r.content).get("entry", []))
            p50, p95 = _p50_p95(times[name])
            print(f"  {name:<40} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {p50 / f50:5.1f}x floor  "
                  f"{len(q.captured_queries)} queries  {entries} resources  {len(r.content)} bytes")


if __name__ == "__main__":
    main()
