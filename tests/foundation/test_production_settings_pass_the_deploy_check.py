"""The documented production settings (docs/production.env) pass Django's deployment check with no warning, and
the development defaults do not pretend to: the check is what a clinic's administrator runs before going live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def documented_env(tmp_path: Path) -> dict[str, str]:
    """docs/production.env read as the README reads it (``set -a; . file; set +a`` in a shell: a value the shell
    cannot read fails here), with each secret file made (with a value of the right form) under ``tmp_path``."""
    names = [line.partition("=")[0] for line in (ROOT / "docs" / "production.env").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    read = subprocess.run(["bash", "-c", 'set -ea; . "$1"; set +a; for n in "${@:2}"; do printf "%s\\0%s\\0" '
                           '"$n" "${!n}"; done', "bash", str(ROOT / "docs" / "production.env"), *names],
                          capture_output=True, text=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
    assert read.returncode == 0, read.stderr
    fields = read.stdout.split("\0")
    env = dict(zip(fields[0:-1:2], fields[1::2], strict=True))
    assert set(env) == set(names) and env["DEFAULT_FROM_EMAIL"] == "KetaClinic <no-reply@clinic.example.org>"
    for name, value in list(env.items()):
        if name.endswith("_FILE"):
            secret = tmp_path / Path(value).name
            secret.write_text({"CHAIN_KEY_FILE": "ab" * 32, "NOTE_KEYS_FILE": "A" * 43 + "="}.get(name, "s3cret-" + "x" * 50))
            env[name] = str(secret)
    env["CHAIN_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    return env


def deploy_check(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DB", "DJANGO", "PYTEST", "KETACLINIC"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**base, "KETACLINIC_DATA_DIR": str(tmp_path), "KETACLINIC_TESTING": "0", **env},
        capture_output=True, text=True, timeout=120,
    )


def test_the_documented_production_settings_pass_the_deploy_check(tmp_path):
    result = deploy_check(documented_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_development_defaults_are_reported_by_the_deploy_check(tmp_path):
    result = deploy_check({"DEBUG": "true"}, tmp_path)
    assert result.returncode != 0
    # DEBUG, session cookie over HTTP, console mail, keys the app made itself
    for finding in ("security.W018", "security.W012", "mail.E001", "ketaclinic.W001", "ketaclinic.W002"):
        assert finding in result.stderr + result.stdout


def test_the_test_suites_published_keys_fail_the_deploy_check(tmp_path):
    env = documented_env(tmp_path)
    (tmp_path / "chain_key").write_text("7e57" * 16)
    result = deploy_check(env, tmp_path)
    assert result.returncode != 0 and "ketaclinic.E001" in result.stderr + result.stdout
