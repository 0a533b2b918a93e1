"""Remove the worker's records of tasks that finished more than ``--keep-days`` days ago (default 14), whichever
task backend runs the work (``crossapp.task_records.prune``); a waiting or running task's record stays. Run daily
(deploy/ketaclinic-task-results.timer), so the status page reads a bounded store."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from ketaclinic.crossapp import task_records


class Command(BaseCommand):
    help = "Remove the records of background tasks that finished more than --keep-days days ago."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--keep-days", type=int, default=14, choices=range(1, 3651), metavar="DAYS",
                            help="keep the records of tasks finished in the last DAYS days (default 14)")

    def handle(self, *args, keep_days: int, **options) -> None:
        removed = task_records.prune(timezone.now(), keep_days)
        self.stdout.write(f"{removed} finished task record(s) older than {keep_days} days removed.")
