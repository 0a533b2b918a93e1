"""Generate N synthetic patients quickly, for scale tests (e.g. search at 100,000 patients)."""

from __future__ import annotations

import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, record
from ketaclinic.clinic.demo_data import synthetic_person
from ketaclinic.clinic.models import current_clinic, next_number
from ketaclinic.patients.models import Patient, format_mrn, name_key

BATCH = 5000


class Command(BaseCommand):
    help = "Generate N synthetic patients (marked synthetic) for scale testing."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, count: int, seed: int, **opts):
        if not 1 <= count <= 2_000_000:
            raise CommandError("Choose a count between 1 and 2,000,000.")
        rng = random.Random(seed)
        clinic = current_clinic()
        started = time.perf_counter()
        now = timezone.now()
        done = 0
        while done < count:
            n = min(BATCH, count - done)
            with transaction.atomic():
                first = next_number("mrn", n)
                rows = []
                for i in range(n):
                    data = synthetic_person(rng, varied=True)
                    rows.append(Patient(
                        clinic=clinic, mrn=format_mrn(first + i), created_at=now, is_demo=True,
                        family_key=name_key(data["legal_family_name"]), given_key=name_key(data["legal_given_name"]),
                        preferred_key=name_key(data["preferred_name"]), **data,
                    ))
                Patient.objects.bulk_create(rows, batch_size=1000)
            done += n
        with transaction.atomic():
            record(Actor.system("generate_patients"), AuditAction.PATIENT_BULK_GENERATED, details={"count": count})
        if connection.vendor == "sqlite":
            with connection.cursor() as cur:
                cur.execute("PRAGMA optimize")  # refresh the planner's statistics after a bulk load
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Generated {count} synthetic patients in {elapsed:.1f} s ({count / elapsed:,.0f}/s).")
