"""What the clinic's background machinery is doing, for the clinic admin and the compliance lead: the task worker
(Django's task framework on the configured backend, django-tasks-db or huey: what waits, runs, succeeded and failed,
and whether a worker has taken anything lately), the chain checkpoints kept outside the database, and the newest
backup.

A task that waits longer than ``STALE_MINUTES`` while no task has started in that time means no worker is running
(``./dev worker`` / ``ketaclinic-worker.service``); a checkpoint older than ``CHAIN_CHECKPOINT_MAX_AGE_MINUTES`` (or
15 minutes) means the timer stopped. Errors show the exception's class only: a traceback may quote a patient's
record, and it stays in the database and the worker's log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ketaclinic.audit import checkpoints
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.crossapp import task_records
from ketaclinic.crossapp.task_records import TaskLine, TaskRecord

# a worker looks for work every second, or is woken: ten minutes without a start while work waits is a stopped worker
STALE_MINUTES = 10
RECENT = 50


@dataclass(frozen=True)
class Status:
    now: datetime
    lines: list[TaskLine]
    recent: list[TaskRecord]
    oldest_waiting: datetime | None
    last_started: datetime | None
    worker_warning: str
    checkpoint_at: datetime | None
    checkpoint_warning: str
    backup: AuditEntry | None
    backup_warning: str


def status() -> Status:
    now = timezone.now()
    tasks = task_records.summary(now, since=now - timedelta(days=1), recent=RECENT)
    oldest, last_started = tasks.oldest_waiting, tasks.last_started
    stale = timedelta(minutes=STALE_MINUTES)
    worker_warning = ""
    if oldest is not None and now - oldest > stale and (last_started is None or now - last_started > stale):
        worker_warning = (f"Work has waited since {timezone.localtime(oldest):%Y-%m-%d %H:%M} and no task has started "
                          f"for over {STALE_MINUTES} minutes: the background worker is not running "
                          "(./dev worker, or systemctl status ketaclinic-worker).")
    points, problems = checkpoints.read()
    checkpoint_at = max((datetime.fromisoformat(p.at) for p in points), default=None)
    max_age = getattr(settings, "CHAIN_CHECKPOINT_MAX_AGE_MINUTES", 0) or 15
    checkpoint_warning = "; ".join(problems)
    if checkpoint_at is None:
        checkpoint_warning = checkpoint_warning or ("No checkpoint of the audit and custody chains has been written: "
                                                    "schedule manage.py checkpoint_chains every 5 minutes.")
    elif now - checkpoint_at > timedelta(minutes=max_age):
        checkpoint_warning = checkpoint_warning or (f"The newest checkpoint is more than {max_age} minutes old: the "
                                                    "checkpoint timer has stopped.")
    backup = AuditEntry.objects.filter(action=AuditAction.BACKUP_MADE).order_by("-seq").first()
    backup_warning = ""
    if backup is None:
        backup_warning = "No backup has been made on this install (manage.py backup; docs/operations.md)."
    elif now - backup.at > timedelta(days=2):
        backup_warning = "The newest backup is more than two days old: check the backup timer."
    return Status(now=now, lines=tasks.lines, recent=tasks.recent, oldest_waiting=oldest, last_started=last_started,
                  worker_warning=worker_warning, checkpoint_at=checkpoint_at, checkpoint_warning=checkpoint_warning,
                  backup=backup, backup_warning=backup_warning)
