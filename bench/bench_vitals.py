"""Benchmark: time to save one vitals row, and the cockpit's query count as readings accumulate.

Run:  DB_NAME=/tmp/bench-vitals.sqlite3 .venv/bin/python bench/bench_vitals.py
It migrates a throwaway SQLite database (or uses DB=postgres settings), builds a synthetic IV session and saves
50 rows through the service and 50 through the htmx endpoint, printing medians.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")
os.environ.setdefault("DB_NAME", "/tmp/bench-vitals.sqlite3")

import django  # noqa: E402

django.setup()

from datetime import date, timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

N = 50


def main() -> None:
    if connection.vendor == "sqlite" and os.path.exists(os.environ["DB_NAME"]):
        os.remove(os.environ["DB_NAME"])
    call_command("migrate", verbosity=0)
    from ketaclinic.accounts.models import RoleGrant, User
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.patients.services import register_patient
    from ketaclinic.treatments import services
    from tests.treatments.factories import IV, actor, book_now, make_order, make_rooms, ready_to_start

    clinic = Clinic.objects.first() or Clinic.objects.create(name="Bench clinic", time_zone="America/Denver")
    staff = {}
    for role in ("prescriber", "nurse", "front_desk"):
        u = User.objects.create_user(username=f"bench_{role}", password="x")
        RoleGrant.objects.create(user=u, role=role)
        staff[role] = u
    patient = register_patient(actor=actor(staff["front_desk"]), clinic=clinic, data={
        "legal_given_name": "Bench", "legal_family_name": "Synthetic", "date_of_birth": date(1980, 1, 1),
        "sex_at_birth": "male"}, confirm_duplicate=True)
    rooms = make_rooms(clinic)
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff, minutes_ago=120)
    services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=110))
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff["nurse"])
    cockpit = reverse("treatments:cockpit", args=[s.external_id])
    client.get(cockpit)
    with CaptureQueriesContext(connection) as q1:
        client.get(cockpit)
    nurse = actor(staff["nurse"])
    svc = []
    base = timezone.now() - timedelta(minutes=100)
    for k in range(N):
        t0 = time.perf_counter()
        services.add_vitals(actor=nurse, session=s, values={"systolic_mmHg": 128, "diastolic_mmHg": 80,
                                                            "heart_rate_bpm": 74, "spo2_percent": 98},
                            taken_at=base + timedelta(minutes=k))
        svc.append(time.perf_counter() - t0)
    url = reverse("treatments:vitals", args=[s.external_id])
    http = []
    for _ in range(N):
        t0 = time.perf_counter()
        r = client.post(url, {"systolic_mmHg": "128", "diastolic_mmHg": "80", "heart_rate_bpm": "74"},
                        HTTP_HX_REQUEST="true")
        http.append(time.perf_counter() - t0)
        assert r.status_code == 200 and b'data-saved="yes"' in r.content
    with CaptureQueriesContext(connection) as q2:
        client.get(cockpit)
    print(f"database: {connection.vendor}")
    print(f"cockpit GET queries: {len(q1.captured_queries)} with 1 reading, {len(q2.captured_queries)} with "
          f"{s.vitals.count()} readings")
    print(f"save one vitals row (service, incl. classification + audit): median "
          f"{statistics.median(svc) * 1000:.1f} ms over {N}")
    print(f"save one vitals row (htmx POST incl. re-rendered panel): median {statistics.median(http) * 1000:.1f} ms, "
          f"p90 {sorted(http)[int(N * 0.9)] * 1000:.1f} ms over {N} (last rows re-render {s.vitals.count()} rows)")


if __name__ == "__main__":
    main()
