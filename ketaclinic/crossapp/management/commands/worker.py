"""Run the background worker of the configured task backend (``KETACLINIC_TASK_BACKEND``; ``./dev worker`` and
deploy/ketaclinic-worker.service call this):

- ``database`` (the default): django-tasks-db's ``db_worker`` on every queue, looking for work every ``--interval``
  seconds. Start one per machine that should share the work; a task is claimed in the database by one worker only.
- ``huey``: makes huey's tables if they are missing (``create_huey_tables``), then runs huey's consumer
  (``run_huey``) with ``HUEY_WORKERS`` threads. Waiting consumers are woken by PostgreSQL's LISTEN/NOTIFY; a task is
  taken (``DELETE … FOR UPDATE SKIP LOCKED``) by one consumer only.

Stop it with SIGINT (what the systemd unit sends) to let running tasks finish first."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker of the configured task backend (KETACLINIC_TASK_BACKEND)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=1.0,
                            help="database backend: seconds between looks for new work (default 1)")
        parser.add_argument("--no-startup-delay", action="store_true",
                            help="database backend: start looking at once (tests, a worker started by hand)")

    def handle(self, *args, interval: float, no_startup_delay: bool, **options) -> None:
        if settings.TASK_BACKEND == "huey":
            from psycopg.errors import UniqueViolation

            try:
                call_command("create_huey_tables", verbosity=0)
            except UniqueViolation:  # two workers started at once: PostgreSQL's CREATE … IF NOT EXISTS can collide
                call_command("create_huey_tables", verbosity=0)
            self.stderr.write("Background worker: huey on PostgreSQL "
                              f"({settings.HUEY['consumer']['workers']} threads).")
            call_command("run_huey")
            return
        extra = ["--no-startup-delay"] if no_startup_delay else []
        call_command("db_worker", "--queue-name", "*", "--no-reload", "--interval", str(interval), *extra)
