"""The FHIR facade's background work, on Django's task framework (django-tasks-db; ``manage.py db_worker`` runs
it). Tasks take ids only, and are enqueued once the transaction that wrote their job commits."""

from __future__ import annotations

from django.tasks import task


@task
def run_export_job(job_id: int) -> str:
    """Write a bulk export job's NDJSON files (``bulk.run_export``); returns its final status."""
    from ketaclinic.fhir.bulk import run_export

    return str(run_export(job_id))


#: Copies drawn per run of :func:`draw_reserved_documents` (about a third of a second each) before it hands the
#: worker back to the queue and enqueues itself again, so other work is never held up for long.
DRAW_BATCH = 50


@task
def draw_reserved_documents() -> str:
    """Draw the copies a bulk export reserved (``documents.draw_reserved_batch``), a batch at a time, so a client
    fetching them later is served at once and the DocumentReferences carry size and hash; enqueued when an export
    that reserved any completes."""
    from django.db import transaction

    from ketaclinic.fhir.documents import draw_reserved_batch

    drawn, superseded, more = draw_reserved_batch(DRAW_BATCH)
    if more:
        transaction.on_commit(draw_reserved_documents.enqueue)
    return f"{drawn} drawn, {superseded} superseded" + (", more waiting" if more else "")
