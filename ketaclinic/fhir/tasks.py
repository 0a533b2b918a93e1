"""The FHIR facade's background work, on Django's task framework (``manage.py worker`` runs
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
    """Draw the copies bulk exports reserved (``documents.draw_reserved_batch``), a batch at a time, so a client
    fetching them later is served at once and the DocumentReferences carry size and hash. Enqueued when an export
    that left copies waiting completes, and by ``manage.py prune_fhir_exports`` (hourly) while any wait, so a worker
    restarted mid-way picks the work up again. Several runs at once draw different copies on PostgreSQL."""
    from ketaclinic.fhir.documents import draw_reserved_batch

    drawn, skipped, more = draw_reserved_batch(DRAW_BATCH)
    if more:
        draw_reserved_documents.enqueue()  # the task runs outside any transaction: nothing to wait for
    return f"{drawn} drawn, {skipped} skipped" + (", more waiting" if more else "")
