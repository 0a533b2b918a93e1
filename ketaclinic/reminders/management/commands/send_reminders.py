"""Enqueue one reminder run for the task worker (``manage.py worker``); run it every few minutes from cron or a
systemd timer. ``--now`` runs it in this process instead (no worker needed)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ketaclinic.reminders import engine
from ketaclinic.reminders.tasks import run_reminders


class Command(BaseCommand):
    help = "Enqueue a reminder run for the task worker (or run it here with --now)."

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Plan and send in this process, not on the worker.")

    def handle(self, *args, **opts):
        if opts["now"]:
            r = engine.run()
            self.stdout.write(f"Reminders: {r.planned} planned, {r.sent} sent, {r.failed} failed, "
                              f"{r.skipped} not needed any more.")
            return
        result = run_reminders.enqueue()
        self.stdout.write(f"Reminder run enqueued ({result.id}); the task worker (manage.py worker) runs it.")
