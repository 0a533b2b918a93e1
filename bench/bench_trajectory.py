"""Trajectory page with two years of weekly PHQ-9 and GAD-7 (208 scores) and a dosing session every 4 weeks:
queries per render (must not grow with history) and median server render time.

    .venv/bin/python bench/bench_trajectory.py [--weeks 104] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from _setup import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from ketaclinic.accounts.models import RoleGrant, User, grant_clinic_id
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.measures.models import Administration, ItemAnswer
    from ketaclinic.patients.services import register_patient
    from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

    clinic = Clinic.objects.create(name="Bench clinic (synthetic)", time_zone="America/Denver", phone="(303) 555-0100")
    user = User.objects.create_user(username="bench-prescriber", password="bench-password-123")
    RoleGrant.objects.create(user=user, clinic_id=grant_clinic_id(), role="prescriber")
    actor = Actor(user=user, roles=frozenset({"prescriber"}))

    def make(name: str, weeks: int):
        from datetime import date

        patient = register_patient(actor=actor, clinic=clinic, data={
            "legal_given_name": "Bench", "legal_family_name": name, "date_of_birth": date(1980, 1, 1),
            "sex_at_birth": "female"}, confirm_duplicate=True, is_demo=True)
        start = timezone.now() - timedelta(weeks=weeks)
        order = TreatmentOrder.objects.create(patient=patient, drug="ketamine", route="iv", status="completed",
                                              created_by=user)
        for k in range(0, weeks, 4):
            at = start + timedelta(weeks=k, days=1)
            TreatmentSession.objects.create(patient=patient, order=order, sequence=k // 4 + 1, drug="ketamine",
                                            route="iv", scheduled_start=at, status="discharged",
                                            dose_started_at=at, dose_ended_at=at + timedelta(minutes=40),
                                            administered_mg=Decimal("35.5"))
        admins = []
        for w in range(weeks):
            at = start + timedelta(weeks=w)
            admins.append(Administration(patient=patient, scale="phq9", status="final", source="portal",
                                         total=(7 + 11 * w) % 28, band="moderate", administered_at=at, complete=True,
                                         timing="baseline" if w == 0 else "weekly"))
            admins.append(Administration(patient=patient, scale="gad7", status="final", source="staff",
                                         total=(5 + 13 * w) % 22, band="mild", administered_at=at, complete=True))
        admins = Administration.objects.bulk_create(admins)
        ItemAnswer.objects.bulk_create([ItemAnswer(administration=a, item_id=f"q{i}", value=1)
                                        for a in admins for i in range(1, 8)])
        return patient

    short, long = make("Short", 4), make("Long", args.weeks)
    client = Client()
    client.force_login(user)

    def measure(patient):
        url = reverse("measures:trajectory", args=[patient.external_id])
        client.get(url)  # warm-up
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        queries = len(ctx.captured_queries)
        assert response.status_code == 200, response.status_code
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        return queries, statistics.median(times), max(times), len(response.content)

    print(f"database: {connection.vendor}")
    print(f"{'history':<28} {'queries':>7} {'median ms':>10} {'max ms':>8} {'page KB':>8}")
    for label, p in (("4 weeks", short), (f"{args.weeks} weeks (2 scales weekly)", long)):
        q, med, mx, size = measure(p)
        print(f"{label:<28} {q:>7} {med:>10.1f} {mx:>8.1f} {size / 1024:>8.1f}")


if __name__ == "__main__":
    main()
