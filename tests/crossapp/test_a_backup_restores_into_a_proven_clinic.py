"""The restore drill: a clinic with a signed session, a custody ledger and an audit trail is backed up while it runs,
restored into an empty database by ``manage.py restore`` in another process, and proven there (every chain head
against the manifest, every chain under the key, every signed record against its seal). A damaged, edited or
foreign backup, or a database that is not empty, is refused and nothing changes.

CI also runs the drill on the whole demo clinic (.ci/run, after the demo is seeded)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from ketaclinic.audit.models import AuditEntry, ChainHead
from ketaclinic.crossapp import backup
from tests.crossapp.test_session_record import signed_session  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "CHAIN_KEY": settings.CHAIN_KEY.hex(),
           "NOTE_KEYS": ",".join(k.decode() if isinstance(k, bytes) else k for k in settings.NOTE_KEYS)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _an_attachment(session, settings, tmp_path: Path) -> None:
    """The nurse sends the patient a PDF through secure messages: a file kept beside the database, not in it."""
    from ketaclinic.messaging import services as messaging
    from tests.factories import actor

    settings.MESSAGE_ATTACHMENT_DIR = tmp_path / "attachments"
    settings.KETACLINIC_MESSAGE_SCANNER = ""
    # the care team writes only to a patient who can read it in the portal
    from ketaclinic.portal.services import accept_invitation, invite

    _, token = invite(actor=actor(session.nurse_signed_by), patient=session.patient, email="drill@example.invalid")
    accept_invitation(token=token, password="correct horse battery", password2="correct horse battery")
    messaging.start_thread(actor=actor(session.nurse_signed_by), patient=session.patient, subject="After your session",
                           body="Your aftercare sheet is attached.",
                           upload=messaging.Upload(data=PDF, name="aftercare.pdf", size=len(PDF)))


def _drill(tmp_path: Path, target_env: dict[str, str]) -> None:
    heads = {h.name: h.last_seq for h in ChainHead.objects.all()}
    folder, manifest = backup.make_backup(tmp_path / "backups")
    assert {name: h["seq"] for name, h in manifest["chains"].items()} == heads
    assert heads["audit"] > 0 and heads["custody"] > 0
    assert AuditEntry.objects.filter(action="backup.made").count() == 1  # recorded in the live trail, after the copy
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == ("0o700" if p.is_dir() else "0o600") for p in folder.rglob("*"))
    assert sorted(p.name for p in folder.iterdir()) == sorted([backup.MANIFEST, manifest["file"], backup.ATTACHMENTS])
    assert len(manifest["attachments"]) == 1

    done = _manage("restore", str(folder), env=target_env)
    assert done.returncode == 0, done.stderr
    assert f"audit at entry {heads['audit']}, custody at entry {heads['custody']} intact" in done.stdout
    checked = int(done.stdout.split(" signed records match")[0].rsplit(" ", 1)[1])
    assert "1 message attachments are back" in done.stdout
    restored = Path(target_env["KETACLINIC_DATA_DIR"]) / "message-attachments"
    assert [p.read_bytes() for p in restored.iterdir()] == [PDF]
    assert checked >= 4  # the order, the eligibility assessment, the session note and its co-signature at least
    # the restored clinic verifies on its own, with the restore itself now the newest audit entry
    again = _manage("verify_records", env=target_env)
    assert again.returncode == 0, again.stderr
    twice = _manage("restore", str(folder), env=target_env)
    assert twice.returncode != 0 and "not empty" in twice.stderr


@pytest.mark.skipif(os.environ.get("DB", "sqlite") != "sqlite", reason="the SQLite drill")
def test_a_running_sqlite_clinic_is_backed_up_and_restored_whole_into_an_empty_database(signed_session, tmp_path,  # noqa: F811
                                                                                       settings):
    _an_attachment(signed_session, settings, tmp_path)
    _drill(tmp_path, _env(DB="sqlite", DB_NAME=str(tmp_path / "restored.sqlite3"),
                          KETACLINIC_DATA_DIR=str(tmp_path / "data")))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_running_postgresql_clinic_is_dumped_from_one_snapshot_and_restored_whole(signed_session, tmp_path,  # noqa: F811
                                                                                   settings):
    _an_attachment(signed_session, settings, tmp_path)
    name = f"restore_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        _drill(tmp_path, _env(DB="postgres", DB_NAME=name, KETACLINIC_DATA_DIR=str(tmp_path / "data")))
    finally:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_edited_manifest_a_damaged_file_or_a_full_database_is_refused_and_nothing_changes(signed_session,  # noqa: F811
                                                                                           tmp_path):
    folder, manifest = backup.make_backup(tmp_path / "backups")
    entries = AuditEntry.objects.count()

    with pytest.raises(backup.BackupError, match="not empty"):  # the test clinic's own database has tables
        backup.restore(folder)

    edited = dict(manifest, chains={**manifest["chains"], "audit": {"seq": 1, "hash": "0" * 64}})
    (folder / backup.MANIFEST).write_text(json.dumps(edited))
    with pytest.raises(backup.BackupError, match="changed after the backup was made"):
        backup.restore(folder)

    (folder / backup.MANIFEST).write_text(json.dumps(manifest))
    data = folder / manifest["file"]
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(backup.BackupError, match="does not match the SHA-256"):
        backup.restore(folder)
    assert AuditEntry.objects.count() == entries


def test_a_backup_made_under_another_chain_key_is_refused_naming_both_keys(signed_session, tmp_path, settings):  # noqa: F811
    folder, _manifest = backup.make_backup(tmp_path / "backups")
    theirs = backup.key_fingerprints()["chain_key"]
    settings.CHAIN_KEY = bytes(32)
    with pytest.raises(backup.BackupError, match=f"another chain key \\(fingerprint {theirs}"):
        backup.read_manifest(folder)


def test_a_folder_that_is_not_a_backup_is_refused(tmp_path, db):
    with pytest.raises(backup.BackupError, match="not a KetaClinic backup"):
        backup.restore(tmp_path)


@pytest.mark.skipif(os.environ.get("DB", "sqlite") != "sqlite", reason="edits the SQLite copy")
def test_a_copy_that_fails_its_proof_is_taken_out_again_so_a_good_backup_can_follow(signed_session, tmp_path):  # noqa: F811
    """Someone holding the chain key edits an audit entry in the copy and re-signs the manifest: the restore loads
    it, finds the broken chain, says so, and leaves the database empty, so the clinic's next try (a good backup)
    is not refused as 'not empty'."""
    import sqlite3

    good, _ = backup.make_backup(tmp_path / "good")
    bad, manifest = backup.make_backup(tmp_path / "bad")
    table = AuditEntry._meta.db_table
    con = sqlite3.connect(bad / manifest["file"])
    con.execute(f"DROP TRIGGER {table}_no_update")
    con.execute(f"UPDATE {table} SET details = '{{}}' WHERE seq = 2")
    con.commit()
    con.close()
    manifest["sha256"] = backup._sha256(bad / manifest["file"])
    manifest["bytes"] = (bad / manifest["file"]).stat().st_size
    manifest["mac"] = backup._mac(manifest)
    (bad / backup.MANIFEST).write_text(json.dumps(manifest))

    target = tmp_path / "restored.sqlite3"
    env = _env(DB="sqlite", DB_NAME=str(target), KETACLINIC_DATA_DIR=str(tmp_path / "data"))
    refused = _manage("restore", str(bad), env=env)
    assert refused.returncode != 0 and "audit trail is broken at entry 2" in refused.stderr
    assert not target.exists() or target.stat().st_size == 0
    done = _manage("restore", str(good), env=env)
    assert done.returncode == 0, done.stderr
