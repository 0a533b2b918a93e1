"""Gunicorn settings for running KetaClinic in production: ``.venv/bin/gunicorn ketaclinic.wsgi`` reads this file
from the working directory (the repository's root). Each setting can be changed from the environment.

- Workers: ``WEB_CONCURRENCY``, else two per core the process may run on, plus one (sync workers: a request is
  database- and CPU-bound, with no long polling, so a worker per request in flight and a short queue behind).
- ``GUNICORN_BIND`` (default 127.0.0.1:8000: behind a TLS proxy on the same host), ``GUNICORN_TIMEOUT`` (30 s),
  ``GUNICORN_CONTROL_SOCKET`` (a path for gunicornc; no control socket without it).
- Each worker keeps its database connection between requests (``DB_CONN_MAX_AGE`` in ketaclinic/settings.py) and
  is replaced after about 2,000 requests, so a slow leak cannot grow without bound.
"""

from __future__ import annotations

import os


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _whole(name: str, default: int, lowest: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < lowest:
        raise SystemExit(f"gunicorn.conf.py: {name}={raw!r} must be a whole number of at least {lowest}")
    return int(raw)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _whole("WEB_CONCURRENCY", 2 * _cores() + 1)
worker_class = "sync"
timeout = _whole("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
backlog = 512
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for standard output; off by default
errorlog = "-"
proc_name = "ketaclinic"
# gunicorn's control socket (gunicornc) is one path per user by default, so two servers on one machine (two app
# processes behind a load balancer, a test's servers) would take it from each other: off unless a path is given.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "") or None
control_socket_disable = control_socket is None
if control_socket is None:
    del control_socket
