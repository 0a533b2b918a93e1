"""Bulk Data $export throughput and memory: N synthetic patients, each with a diagnosis, a desk weight and height,
and a scored PHQ-9 with its nine answers (so each patient gives 1 Patient, 1 Condition, 2 + 10 Observations and
1 QuestionnaireResponse: 15 resources), exported by the same code the background worker runs
(``ketaclinic.fhir.bulk.run_export``) into NDJSON files.

    .venv/bin/python bench/fhir_export.py [--patients 2000]
    .venv/bin/python bench/fhir_export.py --patients 100000          # the figure for the note
    scripts/pg-throwaway .venv/bin/python bench/fhir_export.py       # on PostgreSQL

The data are built fast in a throwaway database: one template patient is written through the app's own use cases
(register, add a diagnosis, record a measurement, record a PHQ-9), then copied row by row with ``bulk_create``.
The export then runs in a fresh Python process, so its peak resident memory (``ru_maxrss``) is the export's own,
not the data building's; the figure printed next to it is that process's resident memory (VmRSS) just before the
export started (Django loaded, the job read), so the growth is at most what the export added. Prints resources per second, the
peak memory and the size of the files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _setup import setup_django

ROOT = Path(__file__).resolve().parent.parent
BATCH = 2000


def rss_mb() -> float:
    """The process's peak resident memory so far (ru_maxrss, kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """The process's resident memory now (Linux /proc; the peak where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss_mb()


def build(patients: int) -> int:
    """The synthetic clinic; returns the export job's id."""
    from datetime import date, timedelta
    from decimal import Decimal

    from django.http import QueryDict
    from django.utils import timezone

    from ketaclinic.accounts.models import RoleGrant, User, grant_clinic_id
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.fhir import bulk
    from ketaclinic.fhir import services as fhir_services
    from ketaclinic.fhir.auth import Grant
    from ketaclinic.measures import services as measures
    from ketaclinic.measures.models import Administration, ItemAnswer
    from ketaclinic.patients import services as registry
    from ketaclinic.patients.models import BodyMeasurement, Diagnosis, Patient, format_mrn, name_key

    clinic = Clinic.objects.create(name="Bench Clinic", time_zone="America/Denver")
    users = {}
    for role in ("clinic_admin", "nurse"):
        users[role] = User.objects.create_user(username=f"bench-{role}", password="bench-password-123",
                                               first_name="Bench", last_name=role)
        RoleGrant.objects.create(user=users[role], clinic_id=grant_clinic_id(), role=role)
    nurse = Actor(user=users["nurse"], roles=frozenset({"nurse"}))
    template = registry.register_patient(actor=nurse, clinic=clinic, confirm_duplicate=True, data={
        "legal_given_name": "Template", "legal_family_name": "Patient", "date_of_birth": date(1980, 1, 1),
        "sex_at_birth": "female"})
    registry.add_diagnosis(actor=nurse, patient=template, code="F33.2")
    registry.record_measurement(actor=nurse, patient=template, unit="metric", weight=Decimal("70.5"),
                                height=Decimal("170"), measured_at=timezone.now() - timedelta(days=3))
    measures.record_administration(actor=nurse, patient=template, scale="phq9",
                                   answers={f"q{i}": i % 4 for i in range(1, 10)},
                                   administered_at=timezone.now() - timedelta(days=2))
    dx = Diagnosis.objects.get(patient=template)
    bm = BodyMeasurement.objects.get(patient=template)
    adm = Administration.objects.get(patient=template)
    answers = list(ItemAnswer.objects.filter(administration=adm))

    def copy(obj, **changes):
        new = type(obj)(**{f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields})
        new.pk = None
        if hasattr(new, "external_id"):
            new.external_id = uuid.uuid4()
        for k, v in changes.items():
            setattr(new, k, v)
        return new

    started = time.perf_counter()
    for first in range(1, patients, BATCH):
        numbers = range(first, min(first + BATCH, patients))
        people = Patient.objects.bulk_create([copy(template, mrn=format_mrn(900_000 + n),
                                                   legal_family_name=f"Synthetic{n}",
                                                   family_key=name_key(f"Synthetic{n}"),
                                                   date_of_birth=date(1940 + n % 60, 1 + n % 12, 1 + n % 28))
                                              for n in numbers])
        Diagnosis.objects.bulk_create([copy(dx, patient_id=p.pk) for p in people])
        BodyMeasurement.objects.bulk_create([copy(bm, patient_id=p.pk) for p in people])
        adms = Administration.objects.bulk_create([copy(adm, patient_id=p.pk) for p in people])
        ItemAnswer.objects.bulk_create([copy(a, administration_id=x.pk) for x in adms for a in answers])
    print(f"built {patients} patients in {time.perf_counter() - started:.1f} s", flush=True)

    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    import jwt

    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    client = fhir_services.register_client(
        actor=Actor(user=users["clinic_admin"], roles=frozenset({"clinic_admin"})), clinic=clinic,
        name="Bench", scopes=["system/*.rs"], keys=json.dumps({"keys": [{**jwk, "kid": "bench"}]}))
    grant = Grant(client_id=client.client_id, client_name=client.name, clinic_id=clinic.pk,
                  scopes=frozenset(client.scope_list))
    job = bulk.start_export(grant=grant, request_url="http://bench/fhir/R4/Patient/$export",
                            kind="patient", params=QueryDict(""))
    return job.pk


def export_only(job_id: int, out_dir: str) -> None:
    """Run in a fresh process: the export alone, with its own peak memory."""
    from django.conf import settings

    settings.FHIR_EXPORT_DIR = out_dir
    from ketaclinic.fhir import bulk
    from ketaclinic.fhir.models import ExportJob
    from ketaclinic.fhir.registry import TYPES  # the FHIR models and mappers loaded before "before"

    ExportJob.objects.get(pk=job_id)
    assert TYPES
    before = current_rss_mb()
    started = time.perf_counter()
    status = bulk.run_export(job_id)
    seconds = time.perf_counter() - started
    job = ExportJob.objects.get(pk=job_id)
    count = sum(o["count"] for o in job.output)
    size = sum(f.stat().st_size for f in (Path(out_dir) / str(job.external_id)).iterdir())
    print(json.dumps({"status": status, "resources": count, "seconds": seconds, "rss_before_mb": before,
                      "peak_rss_mb": rss_mb(), "bytes": size,
                      "by_type": by_type(job.output)}))


def by_type(output: list[dict]) -> dict[str, int]:
    """Resources per type over the manifest's files (a type past 100,000 resources has several)."""
    counts: dict[str, int] = {}
    for o in output:
        counts[o["type"]] = counts.get(o["type"], 0) + o["count"]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--export-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        export_only(args.export_only, args.out)
        return
    if args.patients < 1:
        parser.error("--patients must be 1 or more")
    setup_django()
    job_id = build(args.patients)
    import tempfile

    from django.db import connection

    connection.close()
    out = tempfile.mkdtemp(prefix="ketaclinic-export-")
    run = subprocess.run([sys.executable, __file__, "--export-only", str(job_id), "--out", out],
                         capture_output=True, text=True, env=os.environ, check=False)
    if run.returncode:
        sys.exit(run.stderr[-3000:])
    r = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"$export of {args.patients} patients ({connection.vendor}): {r['resources']} resources in "
          f"{r['seconds']:.1f} s = {r['resources'] / r['seconds']:.0f} resources/s; "
          f"peak RSS {r['peak_rss_mb']:.0f} MB (before the export {r['rss_before_mb']:.0f} MB, "
          f"+{r['peak_rss_mb'] - r['rss_before_mb']:.0f} MB); NDJSON {r['bytes'] / 1e6:.1f} MB")
    print("by type:", r["by_type"])


if __name__ == "__main__":
    main()
