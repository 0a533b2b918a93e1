"""Two background workers (``manage.py worker``, each its own process, as on two machines) send the clinic's
reminders from one PostgreSQL database; one is killed with SIGKILL in the middle of sending. No patient gets a text
twice: every text the survivor or the dead worker sent went out once, the rest of the run is finished by the
survivor and the next run, and the one text the dead worker was sending is marked "outcome unknown" (it may have
left) and never sent again. Each sent text has exactly one audit entry and the audit chain verifies.

The same holds on either task backend: django-tasks-db (the default, tasks claimed in the clinic's database) and huey
on PostgreSQL (``KETACLINIC_TASK_BACKEND=huey``), where the runs are enqueued as the timer enqueues them, by
``manage.py send_reminders`` in a process of its own."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import verify_chain
from ketaclinic.clinic.hours import hours_of
from ketaclinic.crossapp import task_records
from ketaclinic.reminders import contacts, engine
from ketaclinic.reminders.channels import LocmemSmsBackend
from ketaclinic.reminders.models import Reminder
from ketaclinic.reminders.tasks import run_reminders
from tests.factories import open_day
from tests.processes import huey_queue, kill, manage, task_worker

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

PATIENTS = 6  # three sessions ahead in each of two chairs; three texts each (session, preparation, ride)
SEND_SECONDS = "0.15"  # the provider's time to take a text, and again to answer
ANSWER_SECONDS = "300"  # the killed worker's provider: its first text is out when it dies, the answer still to come


@pytest.mark.parametrize("backend", ["database", "huey"])
def test_a_worker_killed_while_sending_leaves_no_text_sent_twice(backend, texter, book, no_quiet_hours, tmp_path,
                                                                clinic, clock):
    # 12 h before the clinic opens on a working day two or more days ahead: three sessions in each chair that day,
    # 3.5 h apart from opening (inside the clinic's hours), each less than 24 h ahead
    opening = open_day(clinic, 2, at=hours_of(clinic).opens)
    clock.move_to(opening - timedelta(hours=12))
    for n in range(PATIENTS):
        book(texter(phone=f"(303) 555-01{20 + n}", email=""), hours_ahead=12 + 3.5 * (n // 2),
             chair=("a1", "a2")[n % 2])
    engine.plan()
    assert Reminder.objects.filter(status=Reminder.Status.PENDING, channel="sms").count() == 3 * PATIENTS
    outbox = tmp_path / "outbox.jsonl"
    outbox.touch()

    def sent() -> list[dict]:
        return [json.loads(line) for line in outbox.read_text().splitlines()]

    env = {"KETACLINIC_SMS_BACKEND": "tests.reminders.file_outbox.FileOutboxSmsBackend",
           "KETACLINIC_TEST_OUTBOX": str(outbox), "KETACLINIC_TEST_OUTBOX_SECONDS": SEND_SECONDS}
    queue = huey_queue() if backend == "huey" else None

    def enqueue() -> str:
        """One reminder run, as the 5-minute timer enqueues it; its task id."""
        if queue is None:
            return str(run_reminders.enqueue().id)
        return manage(tmp_path, "send_reminders", backend=backend).split("(", 1)[1].split(")", 1)[0]

    def finished(task_id: str) -> bool:
        if queue is None:
            return DBTaskResult.objects.get(id=task_id).status == "SUCCESSFUL"
        return any(r.id == task_id and r.status == "SUCCESSFUL" for r in task_records.huey_records(queue))

    workers = []
    alive = []

    def wait(what: str, done) -> None:
        deadline = time.monotonic() + 120
        while not done():
            for w in alive:  # a worker that died by itself says why
                assert w.poll() is None, w.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, f"gave up waiting: {what}"
            time.sleep(0.05)

    by_worker = lambda pid: sum(t["pid"] == pid for t in sent())  # noqa: E731
    try:
        # The worker to be killed, alone at first so that it (not the fast one) takes the first run, with one thread
        # so that the second run is left to the other worker: its provider takes its texts, then is slow to answer
        # (the kill lands there).
        workers.append(task_worker(tmp_path, backend, **env, HUEY_WORKERS="1",
                                   KETACLINIC_TEST_OUTBOX_ANSWER_SECONDS=ANSWER_SECONDS))
        alive.append(workers[0])
        runs = [enqueue()]
        wait("the first worker sending", lambda: by_worker(workers[0].pid) >= 1)
        # the second worker (the production number of threads), and the timer's next run while the first is not done
        workers.append(task_worker(tmp_path, backend, **env))
        alive.append(workers[1])
        runs.append(enqueue())
        wait("the second worker sending", lambda: by_worker(workers[1].pid) >= 1)
        kill(workers[0])  # its first text is out, the provider's answer not back: the case never to send again
        alive.remove(workers[0])
        assert len(sent()) < 3 * PATIENTS, "the run ended before the kill: nothing was cut off"

        wait("the survivor's run", lambda: any(finished(r) for r in runs))
        again = enqueue()  # the timer's next run: the survivor takes it
        wait("the next run", lambda: finished(again))
    finally:
        for worker in workers:
            kill(worker)

    rows = {r.pk: r for r in Reminder.objects.select_related("patient")}
    statuses = Counter(r.status for r in rows.values())
    assert set(statuses) <= {Reminder.Status.SENT, Reminder.Status.SENDING}, statuses
    assert statuses[Reminder.Status.SENDING] == 1  # the text the dead worker held, and only that one
    # a quarter of an hour later the next run finds that row still "sending": outcome unknown, never sent again
    later = engine.send_due(timezone.now() + engine.STALE_CLAIM + timedelta(minutes=1))
    assert later.sent == 0 and LocmemSmsBackend.outbox == []
    rows = {r.pk: r for r in Reminder.objects.select_related("patient")}
    statuses = Counter(r.status for r in rows.values())
    assert set(statuses) <= {Reminder.Status.SENT, Reminder.Status.UNKNOWN}, statuses

    texts = Counter((t["to"], t["body"]) for t in sent())
    assert max(texts.values()) == 1, f"a text went out twice: {texts.most_common(3)}"
    sent_rows = [r for r in rows.values() if r.status == Reminder.Status.SENT]
    assert all(texts[r.to, r.body] == 1 for r in sent_rows)  # every text marked sent went out, once
    unknown = [r for r in rows.values() if r.status == Reminder.Status.UNKNOWN]
    others = [to for (to, body) in texts if not any((r.to, r.body) == (to, body) for r in sent_rows)]
    # a text out but not marked: the one the dead worker was sending, to that row's patient
    assert len(others) == len(unknown) == 1
    assert set(others) <= {contacts.address_for(r.patient, r.channel) for r in unknown}
    assert len(sent_rows) + len(unknown) == 3 * PATIENTS

    audited = Counter(AuditEntry.objects.filter(action="reminder.sent").values_list("subject_id", flat=True))
    assert sorted(audited.values()) == [1] * len(sent_rows)  # one entry per text marked sent, no more
    assert verify_chain() is None
