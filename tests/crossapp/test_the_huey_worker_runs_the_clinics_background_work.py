"""With ``KETACLINIC_TASK_BACKEND=huey`` the clinic's background work runs on huey's queue in PostgreSQL: the app
server enqueues there, ``manage.py worker`` (huey's consumer) takes it, the status page the clinic admin opens reads
huey's records (work waiting with no worker is named; a run the worker finished shows who ran it), and the daily
prune removes only records finished past their keep. A setting that would put huey's queue on SQLite is refused at
start with what to set. The kill test of ``tests/reminders/test_a_worker_killed_mid_run_sends_no_reminder_twice.py``
runs on this backend too."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketaclinic.crossapp import task_records
from tests.processes import ROOT, app_server, free_port, huey_queue, kill, listening, manage, task_worker


def _status_page(port: int, cookie: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", reverse("ops:status"), headers={"Cookie": cookie, "Host": "127.0.0.1"})
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 200, (response.status, body[:500])
    return body


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_work_enqueued_by_the_app_server_is_run_by_the_huey_worker_and_shown(staff, clock, tmp_path):
    queue = huey_queue()
    client = Client()
    client.force_login(staff["clinic_admin"])
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    port = free_port()
    server = app_server(port, tmp_path, KETACLINIC_TASK_BACKEND="huey")
    worker = None
    try:
        listening(server, port)
        quiet = _status_page(port, cookie)
        assert "No background work in the last 24 hours" in quiet

        manage(tmp_path, "send_reminders", backend="huey")  # the 5-minute timer's run, into huey's queue
        [waiting] = task_records.huey_records(queue)
        assert waiting.status == "READY" and waiting.task_path == "ketaclinic.reminders.tasks.run_reminders"
        assert queue.pending_count() == 1
        shown = _status_page(port, cookie)
        assert "reminders: run_reminders" in shown and "Ready" in shown

        worker = task_worker(tmp_path, "huey")
        deadline = time.monotonic() + 120
        while (record := task_records.huey_records(queue)[0]).status != "SUCCESSFUL":
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, f"the huey worker did not run the task: {record}"
            time.sleep(0.1)
        assert queue.pending_count() == 0
        assert record.worker_ids and record.worker_ids[0].endswith(f".{worker.pid}")  # the consumer's own process
        done = _status_page(port, cookie)
        assert "Successful" in done and "the background worker is not running" not in done
    finally:
        kill(server)
        if worker is not None:
            kill(worker)

    # the daily prune: kept for its 14 days, gone after them; a task still waiting is never pruned
    manage(tmp_path, "send_reminders", backend="huey")
    assert task_records.prune_huey(timezone.now() + timedelta(days=13), keep_days=14, huey=queue) == 0
    assert task_records.prune_huey(timezone.now() + timedelta(days=15), keep_days=14, huey=queue) == 1
    [left] = task_records.huey_records(queue)
    assert left.status == "READY"


def test_huey_on_the_embedded_database_is_refused_at_start_with_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST", "KETACLINIC", "DB", "HUEY"))}
    env.update(DB="sqlite", DB_NAME=str(tmp_path / "clinic.sqlite3"), KETACLINIC_TESTING="0",
               KETACLINIC_TASK_BACKEND="huey", KETACLINIC_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "KETACLINIC_TASK_BACKEND=huey keeps its queue on PostgreSQL: set DB=postgres" in done.stderr
