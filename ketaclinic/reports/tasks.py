"""The reports' background work, on Django's task framework (``manage.py worker`` runs it).
Tasks take ids only, and are enqueued once the transaction that wrote their job commits."""

from __future__ import annotations

from django.tasks import task


@task
def run_report_job(job_id: int) -> str:
    """Write a report job's file (``jobs.run_job``: the research export or a whole report as CSV); returns its
    final status."""
    from ketaclinic.reports.jobs import run_job

    return str(run_job(job_id))
