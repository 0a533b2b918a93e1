"""How long a backup and a proven restore take over the synthetic network, its signed records sealed (issue 19).

    scripts/pg-throwaway .venv/bin/python bench/backup_network.py        # 1,000,000 sessions, 20 readings each
    scripts/pg-throwaway .venv/bin/python bench/backup_network.py --sessions 20000 --administrations 20000  # quick

PostgreSQL only. The network is bench/_reports_network.py's (written with COPY; S/10 synthetic demo patients, with
``--network-vitals`` readings in all: by default 20 a session, issue 16's network). Its rows are not written through
the application, so its signed records (every record ``verify_records`` wants a seal for: the ``signed`` filter of
each registered kind) are then sealed as the demo's synthetic history is, with ``seals.seal_demo_history_many``,
``--batch`` records a transaction. Then, each in its own process as an operator runs them:

1. ``manage.py backup --to <a temporary folder>``;
2. ``manage.py restore <that backup>`` into a new, empty database of the same cluster, with its whole proof. Only
   here the restore's two halves are timed apart: the child process wraps ``backup._restore_postgres`` (pg_restore)
   and ``backup._prove`` (chain heads, the audit chain, the ledger, every signed record, attachments), and within
   the proof ``verify_chain`` and ``verify_records``, with timers; the command itself is the real one.

Printed: rows of the tables that matter, the database's size, the seconds of the sealing, the backup, the restore
(load and proof), the dump's size, the records the proof checked and whether it passed; the restored database's
row counts are compared with the source's. The chain and note keys are made for the run in a temporary data
directory (both processes use it), and everything is removed at the end (``--keep`` keeps the folder).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The tables whose rows are counted before the backup and after the restore.
TABLES = ("patients_patient", "treatments_treatmentorder", "treatments_treatmentsession", "treatments_vitalsreading",
          "treatments_sessionevent", "treatments_adverseevent", "measures_administration", "measures_itemanswer",
          "billing_invoice", "audit_auditentry", "audit_recordseal")
RESTORED_DB = "ketaclinic_restored"
TIMES_MARK = "BENCH-TIMES "


def peak_mib() -> float:
    """This process's peak resident memory since it started (Linux's VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def restore_child(folder: str) -> None:
    """Run in its own process against the empty database: ``manage.py restore``, its parts timed."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from ketaclinic.audit import services as audit
    from ketaclinic.crossapp import backup

    times: dict[str, float] = {}
    peaks: dict[str, float] = {}  # MiB: the process's peak memory (VmHWM) when a part that raised it ended
    checked: list[int] = []

    def timed(owner, name: str, key: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            before = peak_mib()
            try:
                answer = inner(*args, **kwargs)
            finally:
                times[key] = times.get(key, 0.0) + time.perf_counter() - t0
                after = peak_mib()
                if after > before:  # this part raised the process's peak memory
                    peaks[key] = after
            if name == "verify_records":
                checked.append(answer[0])
            return answer

        setattr(owner, name, wrapper)

    timed(backup, "_restore_postgres", "load")
    timed(backup, "_prove", "proof")
    timed(audit, "verify_chain", "proof: audit chain")
    timed(backup, "verify_records", "proof: signed records")
    t0 = time.perf_counter()
    outcome = "passed"
    try:
        call_command("restore", folder)
    except CommandError as e:
        outcome = f"refused: {e}"
    times["restore command"] = time.perf_counter() - t0
    # this process's own peak (VmHWM: not getrusage's ru_maxrss, which a process started by vfork and exec, as
    # subprocess starts it, inherits from its parent: the network builder's), the part that raised it, pg_restore's
    print(f"restore process peak memory: {peak_mib():,.0f} MiB (pg_restore: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MiB); the peak when each part that "
          "raised it ended: " + (", ".join(f"{k} {v:,.0f} MiB" for k, v in peaks.items()) or "none"))
    print(TIMES_MARK + json.dumps({"times": times, "outcome": outcome, "checked": checked[-1] if checked else None}),
          flush=True)


def counts(cur) -> dict[str, int]:
    found = {}
    for table in TABLES:
        cur.execute(f'SELECT count(*) FROM "{table}"')
        found[table] = cur.fetchone()[0]
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1_000_000)
    ap.add_argument("--administrations", type=int, default=1_000_000)
    ap.add_argument("--network-vitals", type=int, default=None,
                    help="vitals readings in all (default: 20 a session, issue 16's network; 0: the reports "
                         "network's 2-3 a dosed session)")
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--batch", type=int, default=5000, help="records sealed in one transaction")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (keys, backup) at the end")
    ap.add_argument("--restore-child", metavar="FOLDER", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.restore_child:
        restore_child(args.restore_child)
        return
    if os.environ.get("DB") != "postgres":
        sys.exit("bench/backup_network.py runs on PostgreSQL: scripts/pg-throwaway .venv/bin/python "
                 "bench/backup_network.py")
    vitals = args.sessions * 20 if args.network_vitals is None else args.network_vitals
    work = Path(tempfile.mkdtemp(prefix="ketaclinic-backup-bench-"))
    # the keys are made here for the run and read by the backup's and the restore's processes alike
    os.environ["KETACLINIC_DATA_DIR"] = str(work / "data")
    try:
        run(args, vitals, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, vitals: int, work: Path) -> None:
    from _setup import setup_django

    setup_django()
    import _reports_network
    import psycopg
    from django.apps import apps
    from django.db import connection

    from ketaclinic.audit import seals
    from ketaclinic.audit.services import Actor

    t0 = time.perf_counter()
    _reports_network.build_or_reuse(False, args.sessions, args.administrations, seed=args.seed, vitals=vitals)
    built = time.perf_counter() - t0

    # ---- seal every record that claims a signature, as the demo's synthetic history is sealed
    seals._discover()
    actor = Actor.system("bench: synthetic network sealed")
    sealed: dict[str, int] = {}
    t0 = time.perf_counter()
    for label, kind in seals._KINDS.items():
        model = apps.get_model(label)
        pks = list(model._default_manager.filter(**kind.signed).order_by("pk").values_list("pk", flat=True))
        started = time.perf_counter()
        for start in range(0, len(pks), args.batch):
            seals.seal_demo_history_many(actor, [model(pk=pk) for pk in pks[start:start + args.batch]])
            done = min(start + args.batch, len(pks))
            if done == len(pks) or (done // args.batch) % 20 == 0:
                print(f"  sealed {done:,} of {len(pks):,} {label} ({time.perf_counter() - started:.0f} s)", flush=True)
        sealed[label] = len(pks)
    seal_s = time.perf_counter() - t0

    with connection.cursor() as cur:
        cur.execute("ANALYZE audit_auditentry, audit_recordseal")
        source_rows = counts(cur)
        cur.execute("SELECT pg_database_size(current_database()), current_setting('server_version')")
        db_bytes, version = cur.fetchone()
        cur.execute(f'CREATE DATABASE "{RESTORED_DB}"')
    connection.close()

    # ---- manage.py backup, as an operator runs it
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "backup", "--to", str(work / "backups")],
                          env=env, capture_output=True, text=True, check=False)
    backup_s = time.perf_counter() - t0
    print(done.stdout.strip() or done.stderr.strip(), flush=True)
    if done.returncode != 0:
        sys.exit(f"backup failed: {done.stderr.strip()}")
    folder = next((work / "backups").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())

    # ---- manage.py restore into a new, empty database, its load and proof timed apart (restore_child)
    restored = work / "restored"
    child_env = {**env, "DB_NAME": RESTORED_DB, "CHAIN_CHECKPOINT_DIR": str(restored / "checkpoints"),
                 "MESSAGE_ATTACHMENT_DIR": str(restored / "message-attachments")}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--restore-child", str(folder)], env=child_env,
                          capture_output=True, text=True, check=False)
    restore_s = time.perf_counter() - t0
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith(TIMES_MARK)), flush=True)
    report = next((json.loads(line[len(TIMES_MARK):]) for line in lines if line.startswith(TIMES_MARK)), None)
    peak = next((line for line in lines if line.startswith("restore process peak memory")), "")
    if report is None:
        sys.exit(f"the restore's process failed:\n{done.stderr.strip()}")
    times, outcome, checked = report["times"], report["outcome"], report["checked"]

    s = connection.settings_dict
    with psycopg.connect(dbname=RESTORED_DB, user=s["USER"], password=s["PASSWORD"] or None, host=s["HOST"] or None,
                         port=s["PORT"] or None) as restored_db, restored_db.cursor() as cur:
        restored_rows = counts(cur) if outcome == "passed" else {}

    print(f"\nSynthetic network: {args.sessions:,} sessions, {args.administrations:,} administrations, about {vitals:,} "
          f"vitals readings (seed {args.seed}); PostgreSQL {version}; built in {built:.0f} s\n")
    print("| Table | Rows in the source | Rows restored |\n|---|---|---|")
    for table in TABLES:
        again = restored_rows.get(table)
        print(f"| {table} | {source_rows[table]:,} | {'' if again is None else f'{again:,}'} |")
    print(f"\nSigned records sealed: {', '.join(f'{n:,} {label}' for label, n in sealed.items() if n)} "
          f"({sum(sealed.values()):,} in all)")
    print(f"Database: {db_bytes / 2**30:.2f} GiB; dump: {manifest['bytes'] / 2**20:,.0f} MiB "
          f"({manifest['bytes']:,} bytes)\n")
    print("| Step | Seconds |\n|---|---|")
    print(f"| seal {sum(sealed.values()):,} records (seal_demo_history_many, {args.batch:,} a transaction) | "
          f"{seal_s:.1f} |")
    print(f"| manage.py backup (the whole process) | {backup_s:.1f} |")
    print(f"| manage.py restore (the whole process) | {restore_s:.1f} |")
    for key in ("load", "proof", "proof: audit chain", "proof: signed records", "restore command"):
        if key in times:
            print(f"| restore: {key} | {times[key]:.1f} |")
    print(f"\nRecords the proof checked: {checked if checked is None else f'{checked:,}'}; the proof {outcome}; "
          f"{peak}")
    if restored_rows:
        # counted before the backup; the restored trail has one entry more, backup.restored, written after the proof
        same = restored_rows == {**source_rows, "audit_auditentry": source_rows["audit_auditentry"] + 1}
        print(f"Restored rows equal the source's (the audit trail one entry more, backup.restored): "
              f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
