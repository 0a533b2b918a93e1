"""What an upgrade costs the nurses saving at the chair: schema changes run on the synthetic network while a writer
saves rows into the same table, and how long its saves waited (issue 19: migrations on a live database).

    scripts/pg-throwaway .venv/bin/python bench/migration_locks.py [--sessions 1000000] [--administrations 200000]
    DB=postgres DB_NAME=... .venv/bin/python bench/migration_locks.py --reuse     # the network already loaded

PostgreSQL only. The network is bench/_reports_network.py's (seeded; about 2.2 vitals readings a session). For each
case a writer on its own connection saves one row every 20 ms (an INSERT copying an existing row, committed), from
just before the change until just after it; the table prints how long the change took, the writer's longest wait,
and how many saves went through while it ran:

1. the two report indexes of treatments 0010 (vitals readings at HOLD or STOP, pause events), built as a plain
   ``CREATE INDEX`` (what the migration did before) and through the migration as it is now (``migrate treatments
   0010``: ``CREATE INDEX CONCURRENTLY``, ketaclinic.migrationops.AddIndexOnline);
2. a nullable reference added to the sessions table with its index, the shape of the migrations released before the
   rule (treatments 0002, 0004, 0006): what an install upgrading across them waits;
3. a quick ``ALTER TABLE`` arriving while a report reads the table for 20 s: without a lock timeout every save waits
   for the report; with ``migrate``'s lock timeout (DB_MIGRATION_LOCK_TIMEOUT, 5 s) the change gives up and the
   saves go on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import setup_django  # noqa: E402


class Writer(threading.Thread):
    """Saves one row of ``table`` every ``every`` seconds on its own connection (autocommit), copying row
    ``source_id`` (sessions: writing row ``source_id``); records each save's time from start to commit."""

    def __init__(self, dsn: dict, table: str, source_id: int, every: float = 0.02):
        super().__init__(daemon=True)
        import psycopg

        self.conn = psycopg.connect(**dsn, autocommit=True)
        if table == "treatments_treatmentsession":  # unique public ids: a booked session's row is written instead
            self.sql = "UPDATE treatments_treatmentsession SET alert_level = alert_level WHERE id = %s"
        else:
            with self.conn.cursor() as cur:
                cur.execute("SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM "
                            "information_schema.columns WHERE table_name = %s AND column_name <> 'id'", [table])
                columns = cur.fetchone()[0]
            self.sql = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE id = %s"
        self.source_id, self.every = source_id, every
        self.waits: list[tuple[float, float]] = []  # (started, seconds)
        self.stop = threading.Event()

    def run(self) -> None:
        with self.conn.cursor() as cur:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                cur.execute(self.sql, [self.source_id])
                self.waits.append((t0, time.perf_counter() - t0))
                self.stop.wait(max(0.0, self.every - (time.perf_counter() - t0)))

    def during(self, start: float, end: float) -> tuple[float, int, float]:
        """(longest wait in ms, saves started in [start, end], median wait in ms) of the saves around a change."""
        inside = [w for t, w in self.waits if start - 0.05 <= t <= end]
        if not inside:
            return 0.0, 0, 0.0
        return max(inside) * 1000, len(inside), statistics.median(inside) * 1000


def measured(dsn: dict, table: str, source_id: int, change) -> tuple[float, float, int, float, str]:
    """Run ``change()`` while a writer saves into ``table``; (seconds, longest wait ms, saves, median ms, outcome)."""
    writer = Writer(dsn, table, source_id)
    writer.start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    try:
        outcome = change() or "done"
    except Exception as e:  # the lock timeout case: the change is expected to give up
        outcome = f"gave up: {type(e).__name__}"
    t1 = time.perf_counter()
    time.sleep(0.3)
    writer.stop.set()
    writer.join()
    writer.conn.close()
    longest, saves, median = writer.during(t0, t1)
    return t1 - t0, longest, saves, median, outcome


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1_000_000)
    ap.add_argument("--administrations", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--reuse", action="store_true", help="use the network already in the database")
    ap.add_argument("--report-seconds", type=float, default=20.0)
    args = ap.parse_args()
    if os.environ.get("DB") != "postgres":
        sys.exit("bench/migration_locks.py runs on PostgreSQL: scripts/pg-throwaway .venv/bin/python "
                 "bench/migration_locks.py")
    setup_django()
    import _reports_network
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    _reports_network.build_or_reuse(args.reuse, args.sessions, args.administrations, seed=args.seed)
    s = connection.settings_dict
    dsn = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"] or None, "host": s["HOST"] or None,
           "port": s["PORT"] or None}

    def sql(*statements: str) -> None:
        with connection.cursor() as cur:
            for st in statements:
                cur.execute(st)

    def one(query: str):
        with connection.cursor() as cur:
            cur.execute(query)
            return cur.fetchone()[0]

    vitals = one("SELECT count(*) FROM treatments_vitalsreading")
    sessions = one("SELECT count(*) FROM treatments_treatmentsession")
    events = one("SELECT count(*) FROM treatments_sessionevent")
    print(f"\n{sessions:,} sessions, {vitals:,} vitals readings, {events:,} session events; PostgreSQL "
          f"{one('SHOW server_version')}; a writer saves one row every 20 ms on its own connection\n")
    reading = one("SELECT min(id) FROM treatments_vitalsreading")
    session = one("SELECT min(id) FROM treatments_treatmentsession WHERE status = 'booked'")
    rows = []

    def row(case: str, table: str, source: int, change) -> None:
        took, longest, saves, median, outcome = measured(dsn, table, source, change)
        rows.append((case, took, longest, median, saves, outcome))
        print(f"  {case}: {took:.2f} s, longest save {longest:.0f} ms ({outcome})", flush=True)

    # 1. the report indexes of treatments 0010, plain and online
    call_command("migrate", "treatments", "0009", verbosity=0)
    row("vitals index, plain CREATE INDEX (0010 before)", "treatments_vitalsreading", reading,
        lambda: sql('CREATE INDEX "vitals_hold_stop_session" ON "treatments_vitalsreading" ("session_id") '
                    'WHERE "level" >= 2'))
    sql('DROP INDEX "vitals_hold_stop_session"')
    row("vitals and events indexes, migrate treatments 0010 (online)", "treatments_vitalsreading", reading,
        lambda: call_command("migrate", "treatments", "0010", verbosity=0))

    # 2. a nullable reference and its index on the sessions table (the shape of treatments 0002, 0004, 0006)
    def reference():
        sql('ALTER TABLE "treatments_treatmentsession" ADD COLUMN "bench_probe_id" bigint NULL CONSTRAINT '
            '"bench_probe_fk" REFERENCES "accounts_user" ("id") DEFERRABLE INITIALLY DEFERRED',
            'CREATE INDEX "bench_probe_idx" ON "treatments_treatmentsession" ("bench_probe_id")')
    row("sessions: a reference column and its index (0002/0004/0006 shape)", "treatments_treatmentsession", session,
        reference)
    sql('ALTER TABLE "treatments_treatmentsession" DROP COLUMN "bench_probe_id"')

    # 3. a quick ALTER behind a long report, without and with migrate's lock timeout
    reports: list[threading.Thread] = []

    def behind_a_report(timeout: str):
        def change():
            report = psycopg.connect(**dsn)
            report.execute("SELECT count(*) FROM treatments_vitalsreading")  # its transaction stays open
            ends = threading.Thread(target=lambda: (time.sleep(args.report_seconds), report.close()))
            ends.start()
            reports.append(ends)
            try:
                sql(f"SET lock_timeout = '{timeout}'",
                    'ALTER TABLE "treatments_vitalsreading" ADD COLUMN "bench_probe" integer NULL')
            finally:
                sql("RESET lock_timeout")
            sql('ALTER TABLE "treatments_vitalsreading" DROP COLUMN "bench_probe"')
        return change

    row(f"ALTER behind a {args.report_seconds:.0f} s report, no lock timeout", "treatments_vitalsreading", reading,
        behind_a_report("0"))
    for ended in reports:
        ended.join()
    row(f"ALTER behind a {args.report_seconds:.0f} s report, migrate's lock timeout (5 s)", "treatments_vitalsreading",
        reading, behind_a_report("5s"))
    for ended in reports:
        ended.join()

    print("\n| Change | Took | Longest save | Median save | Saves meanwhile | Outcome |\n|---|---|---|---|---|---|")
    for case, took, longest, median, saves, outcome in rows:
        print(f"| {case} | {took:.2f} s | {longest:,.0f} ms | {median:.1f} ms | {saves:,} | {outcome} |")


if __name__ == "__main__":
    main()
