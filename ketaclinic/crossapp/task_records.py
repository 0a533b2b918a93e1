"""The task worker's records, read the same way whichever backend runs the work (``settings.TASK_BACKEND``):

- ``database``: django-tasks-db's ``DBTaskResult`` rows, counted by the database;
- ``huey``: the record huey's ``django.tasks`` backend keeps for each task (``djt.<id>`` in huey's key-value table,
  written when the task is enqueued, started and finished), read from the queue database.

``summary`` feeds the status page; ``prune_huey`` removes huey's finished records past their keep (``manage.py
prune_task_results``, daily, which prunes the database backend's with django-tasks-db's own command), so neither
store grows without end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min
from django.tasks import TaskResultStatus

HUEY_KEY_PREFIX = "djt."  # huey.contrib.djhuey.tasks_backend.KEY


def short_name(task_path: str) -> str:
    """``ketaclinic.reminders.tasks.run_reminders`` -> ``reminders: run_reminders``."""
    parts = task_path.split(".")
    return f"{parts[1]}: {parts[-1]}" if len(parts) > 2 and parts[0] == "ketaclinic" else task_path


@dataclass(frozen=True)
class TaskLine:
    name: str
    waiting: int
    running: int
    succeeded: int
    failed: int
    last_finished: datetime | None


@dataclass(frozen=True)
class TaskRecord:
    id: str
    task_path: str
    status: str  # a TaskResultStatus value
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker_ids: list[str]
    queue_name: str
    run_after: datetime | None
    exception_class_path: str

    @property
    def short_name(self) -> str:
        return short_name(self.task_path)

    def get_status_display(self) -> str:
        return str(TaskResultStatus(self.status).label)

    @property
    def error(self) -> str:
        """The error's kind only: a traceback may quote a patient's record."""
        return self.exception_class_path.rsplit(".", 1)[-1] if self.exception_class_path else ""


@dataclass(frozen=True)
class Summary:
    lines: list[TaskLine]
    recent: list[TaskRecord]
    oldest_waiting: datetime | None  # the oldest task due now that no worker has taken
    last_started: datetime | None


def summary(now: datetime, since: datetime, recent: int) -> Summary:
    """Per task, what waits, runs, succeeded and failed among the tasks enqueued since ``since``; the newest
    ``recent`` tasks; the oldest task due and waiting; when a worker last started one."""
    if settings.TASK_BACKEND == "huey":
        return _summarise(huey_records(), now, since, recent)
    return _database_summary(since, recent)


def _lines(counts: dict[str, dict[str, int]], last: dict[str, datetime | None]) -> list[TaskLine]:
    return [TaskLine(name=short_name(path),
                     waiting=c.get("READY", 0), running=c.get("RUNNING", 0), succeeded=c.get("SUCCESSFUL", 0),
                     failed=c.get("FAILED", 0), last_finished=last.get(path))
            for path, c in sorted(counts.items())]


def _database_summary(since: datetime, recent: int) -> Summary:
    from django_tasks_db.models import DBTaskResult

    counts: dict[str, dict[str, int]] = {}
    last: dict[str, datetime | None] = {}
    rows = (DBTaskResult.objects.filter(enqueued_at__gte=since).values("task_path", "status")
            .annotate(n=Count("id"), finished=Max("finished_at")))
    for r in rows:
        counts.setdefault(r["task_path"], {})[r["status"]] = r["n"]
        if r["finished"] and (last.get(r["task_path"]) is None or r["finished"] > last[r["task_path"]]):
            last[r["task_path"]] = r["finished"]
    newest = DBTaskResult.objects.order_by("-enqueued_at").only(
        "id", "status", "task_path", "enqueued_at", "started_at", "finished_at", "worker_ids", "queue_name",
        "exception_class_path", "run_after")[:recent]
    return Summary(
        lines=_lines(counts, last),
        recent=[TaskRecord(id=str(t.id), task_path=t.task_path, status=t.status, enqueued_at=t.enqueued_at,
                           started_at=t.started_at, finished_at=t.finished_at, worker_ids=list(t.worker_ids),
                           queue_name=t.queue_name, run_after=t.run_after,
                           exception_class_path=t.exception_class_path or "") for t in newest],
        oldest_waiting=DBTaskResult.objects.ready().aggregate(oldest=Min("enqueued_at"))["oldest"],
        last_started=DBTaskResult.objects.aggregate(at=Max("started_at"))["at"])


def _summarise(records: list[TaskRecord], now: datetime, since: datetime, recent: int) -> Summary:
    counts: dict[str, dict[str, int]] = {}
    last: dict[str, datetime | None] = {}
    for r in records:
        if r.enqueued_at is None or r.enqueued_at < since:
            continue
        by_status = counts.setdefault(r.task_path, {})
        by_status[r.status] = by_status.get(r.status, 0) + 1
        if r.finished_at and (last.get(r.task_path) is None or r.finished_at > last[r.task_path]):
            last[r.task_path] = r.finished_at
    waiting = [r.enqueued_at for r in records if r.status == TaskResultStatus.READY and r.enqueued_at is not None
               and (r.run_after is None or r.run_after <= now)]
    started = [r.started_at for r in records if r.started_at is not None]
    newest = sorted((r for r in records if r.enqueued_at is not None), key=lambda r: r.enqueued_at, reverse=True)
    return Summary(lines=_lines(counts, last), recent=newest[:recent], oldest_waiting=min(waiting, default=None),
                   last_started=max(started, default=None))


# --- huey ---------------------------------------------------------------------------------------------------------

def huey_instance():
    from huey.contrib.djhuey import HUEY

    return HUEY


def _huey_rows(huey) -> list[tuple[str, Any]]:
    storage = huey.storage
    rows = storage.sql(f"select key, value from {storage.table_kv} where queue = %s and key like %s",
                       (storage.name, HUEY_KEY_PREFIX + "%"), results=True)
    return [(key, huey.serializer.deserialize(bytes(value))) for key, value in rows]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _record(rec: dict[str, Any]) -> TaskRecord:
    errors = rec.get("errors") or []
    return TaskRecord(id=rec["id"], task_path=rec["task_path"], status=rec["status"],
                      enqueued_at=_when(rec.get("enqueued_at")), started_at=_when(rec.get("started_at")),
                      finished_at=_when(rec.get("finished_at")), worker_ids=list(rec.get("worker_ids") or []),
                      queue_name=rec.get("queue_name") or "", run_after=_when(rec.get("run_after")),
                      exception_class_path=errors[-1][0] if errors else "")


def huey_records(huey=None) -> list[TaskRecord]:
    """Every task record huey's queue holds for this install (one query; a daily prune keeps them few)."""
    return [_record(rec) for _, rec in _huey_rows(huey or huey_instance())]


def prune_huey(now: datetime, keep_days: int, huey=None) -> int:
    """Remove the huey records of tasks that finished (succeeded or failed) more than ``keep_days`` ago; returns how
    many. A waiting or running task's record is never removed. (The database backend's records are pruned by
    django-tasks-db's own ``prune_db_task_results``.)"""
    cutoff = now - timedelta(days=keep_days)
    huey = huey or huey_instance()
    old = [key for key, rec in _huey_rows(huey)
           if rec.get("status") in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
           and (finished := _when(rec.get("finished_at"))) is not None and finished < cutoff]
    storage = huey.storage
    for start in range(0, len(old), 500):
        storage.sql(f"delete from {storage.table_kv} where queue = %s and key = any(%s)",
                    (storage.name, old[start:start + 500]), commit=True)
    return len(old)
