"""The clinic admin and the compliance lead see what the background machinery is doing: work waiting with no worker
taking it is named as a stopped worker, a task the worker ran shows as succeeded, and missing chain checkpoints and
backups are named. Errors show their kind, never a traceback (it may quote a record)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from ketaclinic.audit import checkpoints
from ketaclinic.crossapp import backup
from ketaclinic.reminders.tasks import run_reminders

pytestmark = pytest.mark.django_db


def _page(client) -> str:
    response = client.get(reverse("ops:status"))
    assert response.status_code == 200
    return response.content.decode()


def test_work_waiting_with_no_worker_is_named_and_clears_once_the_worker_runs_it(transactional_db, client_for, clock,
                                                                                 settings, tmp_path):
    """Committed for real (transactional_db): the worker closes its database connection when it is done, as on
    PostgreSQL it must not close the test's own transaction."""
    settings.CHAIN_CHECKPOINT_DIR = tmp_path / "checkpoints"
    admin = client_for("clinic_admin")
    quiet = _page(admin)
    assert "No background work in the last 24 hours" in quiet and "the background worker is not running" not in quiet
    assert "No checkpoint of the audit and custody chains" in quiet
    assert "No backup has been made" in quiet

    run_reminders.enqueue()
    clock.shift(timedelta(minutes=11))
    stalled = _page(admin)
    assert "the background worker is not running" in stalled
    assert "reminders: run_reminders" in stalled

    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", verbosity=0)
    backup.make_backup(tmp_path / "backups")  # its audit entry gives the checkpoint a chain head to record
    checkpoints.write()
    running = _page(admin)
    assert "the background worker is not running" not in running
    assert "Successful" in running or "Succeeded" in running
    assert "No checkpoint" not in running and "No backup has been made" not in running


def test_the_daily_prune_removes_finished_records_past_their_keep_and_never_waiting_work(transactional_db, clock):
    from django_tasks_db.models import DBTaskResult

    run_reminders.enqueue()
    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "*", verbosity=0)
    waiting = run_reminders.enqueue()  # no worker takes this one
    clock.shift(timedelta(days=13))
    call_command("prune_task_results", verbosity=0)
    assert DBTaskResult.objects.count() == 2  # kept for its 14 days
    clock.shift(timedelta(days=2))
    call_command("prune_task_results", verbosity=0)
    assert [str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)] == [str(waiting.id)]


def test_a_checkpoint_timer_that_stopped_is_named(client_for, clock, settings, tmp_path, db):
    settings.CHAIN_CHECKPOINT_DIR = tmp_path / "checkpoints"
    from ketaclinic.audit import services as audit
    from ketaclinic.audit.actions import AuditAction

    audit.record(audit.Actor.system("test"), AuditAction.BACKUP_MADE, details={"folder": "x"})  # a chain to mark
    checkpoints.write()
    clock.shift(timedelta(minutes=16))
    assert "the checkpoint timer has stopped" in _page(client_for("compliance"))


def test_only_the_clinic_admin_and_the_compliance_lead_see_it(client_for):
    for role in ("prescriber", "nurse", "therapist", "front_desk", "billing"):
        assert client_for(role).get(reverse("ops:status")).status_code == 403
