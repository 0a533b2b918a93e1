"""``manage.py prune_fhir_exports``: delete the NDJSON files of bulk exports older than FHIR_EXPORT_KEEP_HOURS.

Every export already prunes when it starts; run this from cron (hourly, say) so files do not outlive their
expiry on a clinic that exports rarely. While documents an export named wait to be drawn, it also asks the
background worker to draw them (``fhir.tasks.draw_reserved_documents``), so a worker restarted mid-way takes the
work up again within the hour."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Delete the files of completed FHIR bulk exports older than FHIR_EXPORT_KEEP_HOURS (default 24)."

    def handle(self, *args, **options):
        from ketaclinic.fhir.bulk import keep_for, prune_exports, waiting_documents
        from ketaclinic.fhir.tasks import draw_reserved_documents

        pruned = prune_exports()
        self.stdout.write(f"Pruned {pruned} expired export(s) (kept for {keep_for()}).")
        if waiting_documents():
            draw_reserved_documents.enqueue()
            self.stdout.write("Documents named by an export wait to be drawn: the worker was asked to draw them.")
