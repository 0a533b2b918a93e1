"""App servers and workers started by a test as separate processes against the test's PostgreSQL database, at the
test's clock (the production shape: several processes, one database, no local state). Used by the tests that kill
one of them mid-work (tests marked ``postgres_only``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process on the test's database and keys (none of the test run's own
    variables: it is not a test process)."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST", "KETACLINIC"))}
    env.update({"DB": "postgres", "DB_NAME": db["NAME"], "DB_HOST": str(db["HOST"]), "DB_PORT": str(db["PORT"]),
                "DB_USER": str(db["USER"]), "DB_PASSWORD": str(db.get("PASSWORD") or ""),
                "CHAIN_KEY": settings.CHAIN_KEY.hex(), "KETACLINIC_DATA_DIR": str(data_dir),
                "NOTE_KEYS": ",".join(k.decode() if isinstance(k, bytes) else k for k in settings.NOTE_KEYS),
                "TIME_ZONE": settings.TIME_ZONE, **extra})
    return env


def app_server(port: int, data_dir: Path, **extra: str) -> subprocess.Popen:
    """gunicorn (gunicorn.conf.py, two workers) on 127.0.0.1:``port``, at the test's clock; ``extra`` settings
    (``KETACLINIC_TASK_BACKEND="huey"``, say)."""
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "gunicorn_at.py"), timezone.now().isoformat(),
                             "-c", str(ROOT / "gunicorn.conf.py"), "ketaclinic.wsgi"], cwd=ROOT,
                            env=app_env(data_dir, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", **extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def task_worker(data_dir: Path, backend: str = "database", **extra: str) -> subprocess.Popen:
    """``manage.py worker`` (the background worker of deploy/ketaclinic-worker.service) on the task ``backend``
    ("database" or "huey"), at the test's clock, with the production settings (not the test run's: its SMS backend
    is the one ``extra`` names, say)."""
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "manage_at.py"), timezone.now().isoformat(),
                             "worker", "--no-startup-delay", "--interval", "0.1"], cwd=ROOT,
                            env=app_env(data_dir, KETACLINIC_TESTING="0", KETACLINIC_TASK_BACKEND=backend, **extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def manage(data_dir: Path, *args: str, backend: str = "database", **extra: str) -> str:
    """One ``manage.py`` command (``send_reminders``, say) run as production runs it, at the test's clock, on the
    task ``backend``; returns what it printed."""
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "manage_at.py"), timezone.now().isoformat(), *args],
                          cwd=ROOT, env=app_env(data_dir, KETACLINIC_TESTING="0", KETACLINIC_TASK_BACKEND=backend,
                                                **extra), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def huey_queue():
    """The huey queue a production process on the test's database uses (``settings.HUEY``: named after the
    database, in its tables), emptied: what an earlier test left is not this test's work."""
    from huey import PostgresHuey
    from psycopg.conninfo import make_conninfo

    db = connection.settings_dict
    params = {"host": db["HOST"], "port": db["PORT"], "dbname": db["NAME"], "user": db["USER"],
              "password": db.get("PASSWORD")}
    queue = PostgresHuey(str(db["NAME"]), dsn=make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")}))
    queue.flush()
    return queue


def listening(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode()[-2000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the process and every process it started: no clean-up of any kind runs."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
