"""``manage.py prune_report_exports``: delete the files of report jobs (research exports, whole reports as CSV)
finished more than REPORT_EXPORT_KEEP_DAYS ago.

Every job already prunes when it starts, and a download past the keep time is refused; run this from cron (daily,
say) so files do not outlive their expiry on a clinic that exports rarely."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Delete the files of report jobs finished more than REPORT_EXPORT_KEEP_DAYS (default 7) days ago."

    def handle(self, *args, **options):
        from ketaclinic.reports.jobs import keep_for, prune_jobs

        pruned = prune_jobs()
        self.stdout.write(f"Pruned {pruned} expired report export(s) (kept for {keep_for()}).")
