"""Backups a clinic can prove: ``manage.py backup`` and ``manage.py restore``.

A backup is a folder (mode 0700, files 0600: it holds every patient's record) with two files:

- the database: SQLite's online backup API (a consistent copy while the clinic runs), or ``pg_dump`` in its custom
  format, taken from an exported snapshot;
- the message attachments (``message-attachments/``), which live in the data directory, not the database;
- ``manifest.json``: when and from which engine it was made, the file's SHA-256 and size, the head (sequence number
  and hash) of every hash chain *in that copy* (the audit trail, the custody ledger), the newest migration of each
  app, and fingerprints of the keys the copy needs (the chain key, the note keys). The keys themselves are never in
  a backup: they live outside the database and are backed up apart from it (docs/operations.md). The manifest is
  MACed with the chain key, so an edited manifest is refused.

``restore`` loads a backup into an empty database and then proves it: the file matches its SHA-256, the keys are the
ones the backup was made under, every chain head equals the manifest's, every chain recomputes under the key, every
signed record matches its seal, and every message attachment the database names is back with its SHA-256. Only then
is the restore written to the restored clinic's audit trail.

Where the chain heads come from: SQLite's are read from the copy itself after it is made; PostgreSQL's from the same
exported snapshot ``pg_dump`` dumps (``pg_export_snapshot`` in a REPEATABLE READ transaction held open while it
runs), so the manifest and the dump agree even while staff keep writing.
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from ketaclinic.audit import checkpoints
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.chain import canonical
from ketaclinic.audit.models import ChainHead
from ketaclinic.audit.seals import verify_records
from ketaclinic.custody.services.ledger import verify_ledger
from ketaclinic.messaging import attachments as message_files
from ketaclinic.messaging.models import Attachment
from ketaclinic.usecases import use_case

FORMAT = "ketaclinic-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
ATTACHMENTS = "message-attachments"  # the files patients and staff attached to secure messages


class BackupError(Exception):
    """A backup or restore that cannot go on, with a sentence saying why and what to do."""


@dataclass
class Restored:
    folder: Path
    seconds: float
    chains: dict[str, dict[str, object]]
    records_checked: int
    attachments: int = 0
    checkpoint_notes: list[str] = field(default_factory=list)


# --- keys -----------------------------------------------------------------------------------------------------------

def _fingerprint(key: bytes | str, label: str) -> str:
    """A short public name for a key: it tells two keys apart and says nothing of either."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(label.encode() + b"\0" + raw).hexdigest()[:16]


def key_fingerprints() -> dict[str, object]:
    return {"chain_key": _fingerprint(settings.CHAIN_KEY, "ketaclinic chain key"),
            "note_keys": [_fingerprint(k, "ketaclinic note key") for k in settings.NOTE_KEYS]}


def _mac(manifest: dict[str, object]) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac.new(settings.CHAIN_KEY, canonical(body).encode(), hashlib.sha256).hexdigest()


# --- files ----------------------------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_folder(parent: Path, stamp: str) -> Path:
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = parent / f"ketaclinic-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = parent / f"ketaclinic-{stamp}-{n}"
    folder.mkdir(mode=0o700)
    return folder


def pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: from ``PG_BIN_DIR`` if set, else the newest server install, else PATH (a
    ``pg_dump`` older than the server refuses to dump it)."""
    configured = os.environ.get("PG_BIN_DIR")
    candidates = [Path(configured) / name] if configured else []
    candidates += sorted((Path(p) for p in glob.glob(f"/usr/lib/postgresql/*/bin/{name}")),
                         key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0, reverse=True)
    for c in candidates:
        if c.exists() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools or set PG_BIN_DIR.")
    return found


def _pg_env() -> dict[str, str]:
    s = connection.settings_dict
    env = dict(os.environ)
    env.update({"PGHOST": str(s.get("HOST") or ""), "PGPORT": str(s.get("PORT") or ""),
                "PGUSER": str(s.get("USER") or ""), "PGDATABASE": str(s["NAME"])})
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    return {k: v for k, v in env.items() if v != ""}


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


# --- making a backup ------------------------------------------------------------------------------------------------

def _heads(con: sqlite3.Connection) -> dict[str, dict[str, object]]:
    rows = con.execute(f'SELECT name, last_seq, last_hash FROM "{ChainHead._meta.db_table}"').fetchall()
    return {name: {"seq": int(seq), "hash": h} for name, seq, h in sorted(rows)}


def _backup_sqlite(folder: Path) -> tuple[Path, dict[str, dict[str, object]]]:
    target = folder / SQLITE_FILE
    connection.ensure_connection()
    if connection.creation.is_in_memory_db(connection.settings_dict["NAME"]):
        # An in-memory database (the test suite's) is copied whole as the file image it would be on disk: the
        # paged backup waits forever for a write transaction its own connection holds open.
        with open(target, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as out:
            out.write(connection.connection.serialize())
    dst = sqlite3.connect(target)
    try:
        if not target.stat().st_size:
            connection.connection.backup(dst)  # pages copied in steps; a consistent snapshot of a live database
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal or -shm beside it
        heads = _heads(dst)
    finally:
        dst.close()
    os.chmod(target, 0o600)
    return target, heads


def _backup_postgres(folder: Path) -> tuple[Path, dict[str, dict[str, object]]]:
    target = folder / PG_FILE
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            cur.execute(f'SELECT name, last_seq, last_hash FROM "{ChainHead._meta.db_table}" ORDER BY name')
            heads = {name: {"seq": int(seq), "hash": h} for name, seq, h in cur.fetchall()}
            old = os.umask(0o077)
            try:
                _run([pg_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                     _pg_env())
            finally:
                os.umask(old)
            cur.execute("COMMIT")
    finally:
        raw.close()
    os.chmod(target, 0o600)
    return target, heads


def _migrations() -> dict[str, str]:
    newest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        newest[app] = max(newest.get(app, ""), name)
    return dict(sorted(newest.items()))


def _copy_attachments(folder: Path) -> dict[str, str]:
    """Every stored message attachment, copied beside the database (0600), by name with its SHA-256. Attachments are
    never changed or deleted, so a copy taken just after the database holds every one the database names (and
    perhaps one more, sent meanwhile, that it does not)."""
    source = message_files.store_dir()
    files: dict[str, str] = {}
    if not source.is_dir():
        return files
    target = folder / ATTACHMENTS
    target.mkdir(mode=0o700)
    for path in sorted(source.iterdir()):
        if path.is_file() and len(path.name) == 32:
            data = path.read_bytes()
            with open(target / path.name, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as out:
                out.write(data)
            files[path.name] = hashlib.sha256(data).hexdigest()
    return files


def make_backup(parent: Path) -> tuple[Path, dict[str, object]]:
    """Write a backup folder under ``parent``; return it and its manifest. The backup is then recorded in the
    live audit trail (after the copy, so the copy's heads are the manifest's)."""
    started = time.monotonic()
    now = timezone.now()
    folder = _private_folder(Path(parent), now.strftime("%Y%m%dT%H%M%SZ"))
    if connection.vendor == "sqlite":
        path, heads = _backup_sqlite(folder)
    elif connection.vendor == "postgresql":
        path, heads = _backup_postgres(folder)
    else:  # pragma: no cover - settings allow only the two
        raise BackupError(f"No backup for the {connection.vendor} engine.")
    manifest: dict[str, object] = {
        "format": FORMAT,
        "made_at": now.isoformat(),
        "engine": connection.vendor,
        "file": path.name,
        "sha256": _sha256(path),
        "bytes": path.stat().st_size,
        "chains": heads,
        "migrations": _migrations(),
        "keys": key_fingerprints(),
        "attachments": _copy_attachments(folder),
    }
    manifest["mac"] = _mac(manifest)
    manifest_path = folder / MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(manifest_path, 0o600)
    _record_backup(folder, manifest, time.monotonic() - started)
    return folder, manifest


@use_case
def _record_backup(folder: Path, manifest: dict[str, object], seconds: float) -> None:
    audit.record(audit.Actor.system("backup"), AuditAction.BACKUP_MADE,
                 details={"folder": folder.name, "sha256": manifest["sha256"], "bytes": manifest["bytes"],
                          "chains": manifest["chains"], "seconds": round(seconds, 2)})


# --- restoring ------------------------------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict[str, object]:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a KetaClinic backup: it has no {MANIFEST}.") from None
    except ValueError:
        raise BackupError(f"{path} cannot be read as JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a {FORMAT} manifest.")
    keys = key_fingerprints()
    theirs = manifest.get("keys") or {}
    if theirs.get("chain_key") != keys["chain_key"]:
        raise BackupError(
            f"This backup was made under another chain key (fingerprint {theirs.get('chain_key')}; this install's is "
            f"{keys['chain_key']}). Set CHAIN_KEY or CHAIN_KEY_FILE to the key the clinic kept with its backups: "
            "without it the audit trail and the ledger cannot be proven.")
    if not hmac.compare_digest(str(manifest.get("mac", "")), _mac(manifest)):
        raise BackupError(f"{path} was changed after the backup was made (its MAC does not match).")
    missing = [fp for fp in theirs.get("note_keys", []) if fp not in keys["note_keys"]]
    if missing:
        raise BackupError(
            f"The backup's notes are encrypted under note keys this install does not have (fingerprints "
            f"{', '.join(missing)}). Set NOTE_KEYS or NOTE_KEYS_FILE to include them; without them the notes "
            "cannot be read.")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _restore_sqlite(path: Path) -> None:
    connection.ensure_connection()
    src = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        src.backup(connection.connection)
    finally:
        src.close()


def _restore_postgres(path: Path) -> None:
    connection.close()
    _run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--dbname={connection.settings_dict['NAME']}", str(path)], _pg_env())


def _prove(folder: Path, manifest: dict[str, object], attachments: dict[str, str], store: Path) -> tuple[int, int]:
    """Put the attachments back, then prove the restored clinic; return the signed records and attachments checked."""
    if attachments:
        store.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in attachments:
            data = (folder / ATTACHMENTS / name).read_bytes()
            with open(store / name, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as out:
                out.write(data)
    heads = {h.name: {"seq": h.last_seq, "hash": h.last_hash} for h in ChainHead.objects.order_by("name")}
    if heads != manifest["chains"]:
        raise BackupError(f"The restored chain heads {heads} are not the manifest's {manifest['chains']}.")
    if (broken := audit.verify_chain()) is not None:
        raise BackupError(f"The restored audit trail is broken at entry {broken.seq}: {broken.reason}")
    if (broken := verify_ledger()) is not None:
        raise BackupError(f"The restored custody ledger is broken at entry {broken.seq}: {broken.reason}")
    checked, mismatches = verify_records()
    if mismatches:
        first = mismatches[0]
        raise BackupError(f"{len(mismatches)} restored signed records do not match their seals (the first: "
                          f"{first.record} {first.pk}: {first.reason}).")
    stored = 0
    for att in Attachment.objects.only("stored_as", "sha256").iterator(chunk_size=2000):
        path = store / att.stored_as
        if not path.is_file() or _sha256(path) != att.sha256:
            raise BackupError(f"The restored message attachment {att.stored_as} is missing or does not match the "
                              "SHA-256 its message recorded.")
        stored += 1
    return checked, stored


def _undo(attachments: dict[str, str], store: Path) -> None:
    """Empty what a restore that failed its proof loaded: the database (SQLite: its file; PostgreSQL: the public
    schema, recreated empty) and the attachments it put back, so nobody works on an unproven copy."""
    for name in attachments:
        (store / name).unlink(missing_ok=True)
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        connection.close()
        if not connection.creation.is_in_memory_db(name):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(name + suffix).unlink(missing_ok=True)
    else:
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
        connection.close()


def restore(folder: Path) -> Restored:
    """Load the backup in ``folder`` into this install's database, which must be empty, then prove it (see the
    module). Raises BackupError naming what is wrong; nothing is written to an install whose database has tables."""
    started = time.monotonic()
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["engine"] != connection.vendor:
        raise BackupError(f"This backup is of a {manifest['engine']} database; this install runs "
                          f"{connection.vendor}. Restore it into the same engine.")
    path = folder / str(manifest["file"])
    if Path(str(manifest["file"])).name != manifest["file"] or not path.exists():
        raise BackupError(f"The backup's database file {manifest['file']} is missing from {folder}.")
    if _sha256(path) != manifest["sha256"]:
        raise BackupError(f"{path.name} does not match the SHA-256 in the manifest: the copy is damaged or was "
                          "changed. Use another backup.")
    attachments: dict[str, str] = manifest.get("attachments") or {}
    for name, digest in attachments.items():
        copy = folder / ATTACHMENTS / name
        if not copy.is_file() or _sha256(copy) != digest:
            raise BackupError(f"The message attachment {name} is missing from the backup or does not match its "
                              "SHA-256. Use another backup.")
    store = message_files.store_dir()
    if attachments and store.is_dir() and any(store.iterdir()):
        raise BackupError(f"The message attachment folder {store} is not empty. Restore into a new install (or move "
                          "those files aside); nothing was changed.")
    if not _database_is_empty():
        raise BackupError("The database to restore into is not empty. Restore into a new, empty database "
                          f"({connection.settings_dict['NAME']} has tables); nothing was changed.")
    if connection.vendor == "sqlite":
        _restore_sqlite(path)
    else:
        _restore_postgres(path)
    connection.close()
    try:
        checked, stored = _prove(folder, manifest, attachments, store)
    except BaseException:
        _undo(attachments, store)  # the database and the folder empty again, as they were: a retry may follow
        raise
    notes = [p for name in checkpoints.chain_models() for p in checkpoints.verify(name)]
    seconds = time.monotonic() - started
    _record_restore(folder, manifest, checked, seconds)
    return Restored(folder=folder, seconds=seconds, chains=manifest["chains"], records_checked=checked,
                    attachments=stored, checkpoint_notes=notes)


@use_case
def _record_restore(folder: Path, manifest: dict[str, object], checked: int, seconds: float) -> None:
    audit.record(audit.Actor.system("restore"), AuditAction.BACKUP_RESTORED,
                 details={"folder": folder.name, "made_at": manifest["made_at"], "sha256": manifest["sha256"],
                          "chains": manifest["chains"], "records_verified": checked, "seconds": round(seconds, 2)})
