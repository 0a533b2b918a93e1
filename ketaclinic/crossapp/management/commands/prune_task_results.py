"""Remove the worker's records of tasks that finished more than ``--keep-days`` days ago (default 14), whichever
task backend runs the work (django-tasks-db's ``prune_db_task_results``, or ``crossapp.task_records.prune_huey``); a
waiting or running task's record stays. Run daily
(deploy/ketaclinic-task-results.timer), so the status page reads a bounded store."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from ketaclinic.crossapp import task_records


class Command(BaseCommand):
    help = "Remove the records of background tasks that finished more than --keep-days days ago."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--keep-days", type=int, default=14, choices=range(1, 3651), metavar="DAYS",
                            help="keep the records of tasks finished in the last DAYS days (default 14)")

    def handle(self, *args, keep_days: int, **options) -> None:
        if settings.TASK_BACKEND != "huey":
            call_command("prune_db_task_results", queue_name="*", min_age_days=keep_days,
                         verbosity=options["verbosity"])
            return
        removed = task_records.prune_huey(timezone.now(), keep_days)
        self.stdout.write(f"{removed} finished task record(s) older than {keep_days} days removed.")
