"""Calendar page for a week with 9 chairs fully booked (08:00-18:00, Monday to Friday, back to back: appointments
in five chairs, treatment sessions under an order in four): queries per render (must not grow with bookings) and
median server render time of the day view (by room and chair, by clinician) and the week view.

    .venv/bin/python bench/bench_calendar.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, datetime, timedelta

from _setup import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from ketaclinic.accounts.models import RoleGrant, User, grant_clinic_id
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Chair, Clinic, Room
    from ketaclinic.patients.services import register_patient
    from ketaclinic.scheduling import services
    from ketaclinic.scheduling.models import Appointment
    from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

    clinic = Clinic.objects.create(name="Bench clinic (synthetic)", time_zone="America/Denver")
    desk = User.objects.create_user(username="bench-desk", password="bench-password-123")
    RoleGrant.objects.create(user=desk, clinic_id=grant_clinic_id(), role="front_desk")
    nurses = []
    for k in range(5):
        nurse = User.objects.create_user(username=f"bench-nurse{k}", password="bench-password-123",
                                         last_name=f"Nurse{k}")
        RoleGrant.objects.create(user=nurse, clinic_id=grant_clinic_id(), role="nurse")
        nurses.append(nurse)
    actor = Actor(user=desk, roles=frozenset({"front_desk"}))
    chairs = []
    for r in range(3):
        room = Room.objects.create(clinic=clinic, name=f"Infusion Room {'ABC'[r]}", kind=Room.Kind.INFUSION)
        chairs += [Chair.objects.create(room=room, label=f"Chair {c + 1}") for c in range(3)]
    Room.objects.create(clinic=clinic, name="Consult Room", kind=Room.Kind.CONSULT)
    hours = services.hours_for(clinic)
    treatment = {t.code: t for t in services.types_for(clinic)}["treatment"]
    patients = [register_patient(actor=actor, clinic=clinic, data={
        "legal_given_name": "Bench", "legal_family_name": f"Patient{i}", "date_of_birth": date(1980, 1, 1 + i % 28),
        "sex_at_birth": "female"}, confirm_duplicate=True, is_demo=True) for i in range(40)]
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    tz = clinic.tz
    appointments, sessions, n = [], [], 0
    orders = {}
    for d in range(5):
        day = monday + timedelta(days=d)
        for ci, chair in enumerate(chairs):
            at = datetime.combine(day, hours.opens, tzinfo=tz)
            while (at + timedelta(minutes=120)).time() <= hours.closes and (at + timedelta(minutes=120)).date() == day:
                patient = patients[n % len(patients)]
                n += 1
                if ci < 5:
                    appointments.append(Appointment(clinic=clinic, patient=patient, type=treatment,
                                                    clinician=nurses[ci], room=chair.room, chair=chair, start=at,
                                                    minutes=120, booked_by=desk))
                else:
                    order = orders.get(patient.pk) or orders.setdefault(patient.pk, TreatmentOrder.objects.create(
                        patient=patient, drug="ketamine", route="iv", status="active", created_by=desk))
                    sessions.append(TreatmentSession(patient=patient, order=order, sequence=n, drug="ketamine",
                                                     route="iv", room=chair.room, chair=chair, scheduled_start=at,
                                                     scheduled_minutes=120))
                at += timedelta(minutes=120)
    Appointment.objects.bulk_create(appointments)
    TreatmentSession.objects.bulk_create(sessions)
    client = Client()
    client.force_login(desk)
    print(f"{len(appointments)} appointments + {len(sessions)} treatment sessions in 9 chairs, "
          f"week of {monday:%Y-%m-%d}, rows every {hours.slot_minutes} min {hours.opens:%H:%M}-{hours.closes:%H:%M}")
    for label, params in (("day by room and chair", {"view": "day", "by": "place"}),
                          ("day by clinician", {"view": "day", "by": "clinician"}),
                          ("week", {"view": "week", "by": "place"})):
        params["date"] = (monday + timedelta(days=2)).isoformat()
        url = reverse("scheduling:calendar")
        client.get(url, params)
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url, params)
        assert response.status_code == 200
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{label:>24}: {len(queries)} queries, median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms over {args.repeat} renders, {len(response.content) // 1024} KiB")


if __name__ == "__main__":
    main()
