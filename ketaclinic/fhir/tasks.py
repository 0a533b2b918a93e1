"""The FHIR facade's background work, on Django's task framework (django-tasks-db; ``manage.py db_worker`` runs
it). Tasks take ids only, and are enqueued once the transaction that wrote their job commits."""

from __future__ import annotations

from django.tasks import task


@task
def run_export_job(job_id: int) -> str:
    """Write a bulk export job's NDJSON files (``bulk.run_export``); returns its final status."""
    from ketaclinic.fhir.bulk import run_export

    return str(run_export(job_id))
