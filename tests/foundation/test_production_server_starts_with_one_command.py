"""`./dev serve` is the one command that serves a clinic in production: it checks the settings (Django's deploy
check), refuses a database not at this release's schema, collects the static files and starts gunicorn with
gunicorn.conf.py. An administrator who starts it on the development defaults, or before migrating, is told why and
nothing is served."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.foundation.test_production_settings_pass_the_deploy_check import ROOT, documented_env


def _base() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DB", "DJANGO", "PYTEST", "KETACLINIC"))}


def _serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["./dev", "serve"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**_base(), "KETACLINIC_DATA_DIR": str(tmp_path), "KETACLINIC_TESTING": "0",
                               "STATIC_ROOT": str(tmp_path / "static"), **env})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(server: subprocess.Popen) -> str:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:  # it has already stopped
            pass
        try:
            return server.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            continue
    return server.communicate()[0]


def test_serve_refuses_to_start_on_the_development_defaults(tmp_path):
    result = _serve({"DEBUG": "true"}, tmp_path)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "security.W018" in out and "ketaclinic.W001" in out  # DEBUG on; a key the app made itself
    assert "Listening at" not in out


def test_serve_refuses_a_database_not_at_this_releases_schema_and_says_to_back_up_then_migrate(tmp_path):
    env = {**documented_env(tmp_path), "DB": "sqlite", "DB_NAME": str(tmp_path / "empty.sqlite3")}
    result = _serve(env, tmp_path)
    assert result.returncode != 0
    assert "./dev manage backup" in result.stderr and "./dev manage migrate" in result.stderr
    assert "Listening at" not in result.stdout + result.stderr


@pytest.mark.skipif(os.environ.get("DB", "sqlite") != "sqlite",
                    reason="serves a SQLite copy of the test database; the PostgreSQL pass covers two servers in "
                           "test_an_app_server_killed_mid_burst_loses_nothing.py")
def test_serve_starts_gunicorn_behind_the_tls_proxy_on_the_documented_settings(tmp_path, db):
    database = tmp_path / "clinic.sqlite3"
    database.write_bytes(connection.connection.serialize())  # the test database, migrated: a clinic at this release
    port = _free_port()
    env = {**_base(), **documented_env(tmp_path), "DB": "sqlite", "DB_NAME": str(database),
           "KETACLINIC_DATA_DIR": str(tmp_path), "KETACLINIC_TESTING": "0", "STATIC_ROOT": str(tmp_path / "static"),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    server = subprocess.Popen(["./dev", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        response = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/accounts/login/", headers={"Host": "clinic.example.org",
                                                                 "X-Forwarded-Proto": "https"})
                response = conn.getresponse()
                body = response.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        if response is None:
            pytest.fail(f"gunicorn did not answer (exit {server.poll()}):\n{_stop(server)[-3000:]}")
        assert response.status == 200
        assert "max-age=31536000" in (response.getheader("Strict-Transport-Security") or "")
        assert 'name="username"' in body or "username" in body
        assert any((tmp_path / "static").rglob("*.css.gz")), "static files were not collected compressed"
    finally:
        output = _stop(server)
    assert "Booting worker" in output
