"""The clinic's reports over a synthetic network of 1,000,000 sessions and 1,000,000 scale answers on PostgreSQL,
side by side with DuckDB over the same rows exported to Parquet in the same run (issue 15 "Speed").

    scripts/pg-throwaway .venv/bin/python bench/reports.py                      # the figures for the note (1M/1M)
    scripts/pg-throwaway .venv/bin/python bench/reports.py --sessions 20000 --administrations 20000
    DB=postgres DB_NAME=... .venv/bin/python bench/reports.py --reuse            # a database already built
    ... --no-duckdb                                                              # ours only

PostgreSQL only (the network is written with COPY: bench/_reports_network.py). The database is migrated, the
network built (or, with --reuse, the one already there used), then for each report of
``ketaclinic.reports.registry.REPORTS`` and each filter variant, ``build(filters)`` is run once to warm up and
--runs times timed; the median is printed. The framework floor is measured in the same run: one trivial ORM query
(``Clinic.objects.first()``), also the median of --runs.

DuckDB's side answers the same figures with the same SQL: every statement each report sends to PostgreSQL is
captured (``connection.execute_wrapper``) with its parameters bound, and replayed in DuckDB over views of the
report's tables, which were exported from PostgreSQL (COPY to CSV, with the column types read from the catalogue)
and converted to Parquet by DuckDB in the same run. Each statement's result is compared with PostgreSQL's (rows
sorted, numbers rounded to 6 places): the table says "same" when every statement agrees. DuckDB (pinned below) is
installed for the run into a throwaway virtual environment under the system's temporary directory, never into the
project's lock files, and runs in its own process with its default threads (one per core). Its time is the sum of
the report's statements (warm, median of --runs); ours is the whole ``build()``, Python included.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from _setup import setup_django
from _timing import timings

DUCKDB_VERSION = "2.0.1"  # pinned; the version actually installed is printed with the figures
TARGET_MS = 1000
TARGET_RATIO = 3.0


def median_ms(fn, runs: int) -> float:
    return statistics.median(timings(fn, runs)) * 1000


def variants(today: date):
    """The filter variants each report is timed with: everything, then two filtered views a director uses."""
    from ketaclinic.accounts.models import RoleGrant
    from ketaclinic.clinic.models import Room
    from ketaclinic.reports.base import ReportFilters

    prescriber = RoleGrant.objects.filter(role="prescriber").order_by("user_id").values_list("user_id", flat=True)
    room = Room.objects.filter(kind=Room.Kind.INFUSION).order_by("pk").values_list("pk", flat=True)
    return [
        ("all records", ReportFilters()),
        ("last 365 days, unipolar", ReportFilters(start=today - timedelta(days=365), end=today, diagnosis="unipolar")),
        ("IV, one prescriber, one room", ReportFilters(route="iv", prescriber_id=prescriber.first(),
                                                       room_id=room.first())),
    ]


class Capture:
    """Every statement sent while active, with its parameters bound into PostgreSQL-literal SQL."""

    def __init__(self, connection):
        self.connection = connection
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if params:
            bound = self.connection.ops.compose_sql(sql, params)
        else:
            bound = sql
        self.statements.append(bound)
        return execute(sql, params, many, context)


def _plain(v):
    """A result value in a form both engines' answers compare equal in."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float, Decimal)):
        return round(float(v), 6)
    if hasattr(v, "total_seconds"):
        return round(v.total_seconds(), 6)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def normalise(rows) -> list:
    return sorted((tuple(_plain(v) for v in r) for r in rows), key=repr)


def tables_of(statements: list[str], known: set[str]) -> set[str]:
    found = set()
    for sql in statements:
        found.update(t for t in re.findall(r'"([a-z][a-z0-9_]*)"', sql) if t in known)
        found.update(t for t in re.findall(r"\b(?:FROM|JOIN)\s+([a-z][a-z0-9_]*)", sql, re.I) if t in known)
    return found


PG_TO_DUCK = {
    "bigint": "BIGINT", "integer": "INTEGER", "smallint": "SMALLINT", "boolean": "BOOLEAN", "date": "DATE",
    "timestamp with time zone": "TIMESTAMPTZ", "text": "VARCHAR", "character varying": "VARCHAR", "uuid": "UUID",
    "jsonb": "JSON", "double precision": "DOUBLE", "time without time zone": "TIME", "interval": "INTERVAL",
}


def export_tables(tables: set[str], out: Path) -> dict:
    """COPY each table to CSV; returns {table: {csv, columns: {name: duckdb type}}}."""
    from django.db import connection

    spec = {}
    with connection.cursor() as c:
        for t in sorted(tables):
            c.execute("SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
                      "WHERE table_name = %s ORDER BY ordinal_position", [t])
            cols = {}
            for name, typ, prec, scale in c.fetchall():
                cols[name] = f"DECIMAL({prec},{scale})" if typ == "numeric" else PG_TO_DUCK.get(typ, "VARCHAR")
            path = out / f"{t}.csv"
            with open(path, "wb") as f, c.cursor.copy(f'COPY "{t}" TO STDOUT WITH (FORMAT csv, HEADER true)') as cp:
                for block in cp:
                    f.write(block)
            spec[t] = {"csv": str(path), "columns": cols}
    return spec


DUCK_SCRIPT = r"""
import json, statistics, sys, time
import duckdb
job = json.load(open(sys.argv[1]))
con = duckdb.connect(job["db"])
con.execute("SET TimeZone = 'UTC'")
con.execute("SET integer_division = true")  # PostgreSQL's int / int
out = {"version": duckdb.__version__, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
       "convert_s": 0.0, "reports": {}}
t0 = time.perf_counter()
for name, t in job["tables"].items():
    pq = t["csv"][:-4] + ".parquet"
    cols = "{" + ", ".join(f"'{c}': '{ty}'" for c, ty in t["columns"].items()) + "}"
    con.execute(f"COPY (SELECT * FROM read_csv('{t['csv']}', header=true, columns={cols}, nullstr='', allow_quoted_nulls=false)) "
                f"TO '{pq}' (FORMAT parquet)")
    con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet(\'{pq}\')')
out["convert_s"] = time.perf_counter() - t0

def rewrite(sql):
    for a, b in job["rewrites"]:
        sql = sql.replace(a, b)
    return sql

def plain(v):
    if v is None: return None
    if isinstance(v, bool): return int(v)
    if isinstance(v, (int, float)) or type(v).__name__ == "Decimal": return round(float(v), 6)
    if hasattr(v, "total_seconds"): return round(v.total_seconds(), 6)
    if hasattr(v, "isoformat"): return v.isoformat()
    return str(v)

for key, stmts in job["queries"].items():
    stmts = [rewrite(s) for s in stmts]
    errors, results = [], []
    for s in stmts:
        try:
            results.append(sorted((tuple(plain(v) for v in r) for r in con.execute(s).fetchall()), key=repr))
        except Exception as e:
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:300]} -- in: {s[:300]}")
            results.append(None)
    ok = [s for s, r in zip(stmts, results) if r is not None]
    times = []
    for _ in range(job["runs"]):
        t1 = time.perf_counter()
        for s in ok:
            con.execute(s).fetchall()
        times.append(time.perf_counter() - t1)
    out["reports"][key] = {"ms": statistics.median(times) * 1000 if ok else None, "errors": errors,
                           "results": results}
print(json.dumps(out, default=str))
"""

#: PostgreSQL spellings DuckDB reads differently, replaced in the captured SQL before it is replayed.
REWRITES: list[tuple[str, str]] = []


def run_duckdb(spec: dict, queries: dict[str, list[str]], runs: int, work: Path) -> dict:
    venv = work / "duckdb-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                          f"duckdb=={DUCKDB_VERSION}"], capture_output=True, text=True, timeout=900)
    if pip.returncode != 0:
        return {"error": f"duckdb {DUCKDB_VERSION} not installed: {pip.stderr.strip().splitlines()[-1:]}"}
    (work / "duck.py").write_text(DUCK_SCRIPT)
    (work / "job.json").write_text(json.dumps({"db": str(work / "bench.duckdb"), "tables": spec, "queries": queries,
                                               "runs": runs, "rewrites": REWRITES}))
    res = subprocess.run([str(venv / "bin" / "python"), str(work / "duck.py"), str(work / "job.json")],
                         capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        return {"error": f"duckdb run failed: {res.stderr.strip()[-2000:]}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1_000_000)
    ap.add_argument("--administrations", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 30),
                    help="the network's last day (clinic-local); booked sessions run a few weeks past it")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="use the network already in the database")
    ap.add_argument("--only", help="comma-separated report slugs")
    ap.add_argument("--timeout", type=int, default=60, help="PostgreSQL statement timeout for the reports, seconds")
    ap.add_argument("--skip", action="append", default=[],
                    help="'slug' or 'slug|filters label' to leave out (a report whose statement never returns: "
                         "PostgreSQL does not cancel a statement while it is still being planned)")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--keep", help="keep the CSV/Parquet export and DuckDB's venv in this directory")
    args = ap.parse_args()
    if os.environ.get("DB") != "postgres":
        sys.exit("bench/reports.py runs on PostgreSQL: scripts/pg-throwaway .venv/bin/python bench/reports.py")
    setup_django()
    import _reports_network
    from django.db import OperationalError, connection
    from django.utils import timezone

    from ketaclinic.clinic.models import Clinic
    from ketaclinic.reports.registry import REPORTS

    _reports_network.build_or_reuse(args.reuse, args.sessions, args.administrations, seed=args.seed, end=args.end)
    with connection.cursor() as c:
        c.execute("SELECT (SELECT COUNT(*) FROM treatments_treatmentsession), (SELECT COUNT(*) FROM "
                  "measures_administration), (SELECT COUNT(*) FROM treatments_vitalsreading), version()")
        n_sess, n_adm, n_vit, version = c.fetchone()
    today = timezone.localdate(timezone.now(), Clinic.objects.order_by("pk").first().tz)
    reports = [REPORTS[s] for s in (args.only.split(",") if args.only else REPORTS)]
    def limit_statements():
        with connection.cursor() as c:
            c.execute(f"SET statement_timeout = {args.timeout * 1000}")

    floor = median_ms(lambda: Clinic.objects.order_by("pk").first(), max(args.runs, 20))
    load_before = os.getloadavg()
    rows, queries, pg_results = [], {}, {}
    for entry in reports:
        for label, filters in variants(today):
            key = f"{entry.slug} | {label}"
            if entry.slug in args.skip or f"{entry.slug}|{label}" in args.skip:
                print(f"  {key}: skipped (--skip)", flush=True)
                continue
            limit_statements()
            cap = Capture(connection)
            t0 = time.perf_counter()
            try:
                with connection.execute_wrapper(cap):
                    entry.build(filters)  # warm-up, captured
            except OperationalError as e:  # over the statement timeout: a figure too
                connection.close()
                # DuckDB still runs the statements sent so far (the one that timed out included)
                queries[key] = [s for s in cap.statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
                rows.append((key, None, f"over {args.timeout} s (statement timeout): {str(e).splitlines()[0]}", 0))
                print(f"  {key}: over {args.timeout} s", flush=True)
                continue
            warm = (time.perf_counter() - t0) * 1000
            # a report far over the target is timed once (its warm-up), not --runs times
            ms = warm if warm > 5 * TARGET_MS else median_ms(lambda e=entry, f=filters: e.build(f), args.runs)
            reads = [s for s in cap.statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
            queries[key] = reads
            if warm <= 5 * TARGET_MS:  # the same statements again, for their answers (compared with DuckDB's)
                with connection.cursor() as c:
                    pg_results[key] = []
                    for s in reads:
                        c.execute(s)
                        # as DuckDB's answer comes back: through JSON
                        pg_results[key].append(json.loads(json.dumps(normalise(c.fetchall()), default=str)))
            rows.append((key, ms, None, len(cap.statements)))
            print(f"  {key}: {ms:.0f} ms, {len(cap.statements)} queries", flush=True)
    load_after = os.getloadavg()

    duck = {}
    if not args.no_duckdb:
        work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ketaclinic-reports-duckdb-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            with connection.cursor() as c:
                c.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                known = {r[0] for r in c.fetchall()}
            needed = tables_of([s for qs in queries.values() for s in qs], known)
            t0 = time.perf_counter()
            spec = export_tables(needed, work)
            export_s = time.perf_counter() - t0
            duck = run_duckdb(spec, queries, args.runs, work)
            duck["export_s"] = export_s
            duck["tables"] = sorted(needed)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"Reports over {n_sess:,} sessions, {n_adm:,} scale administrations, {n_vit:,} vitals readings; "
          f"{version.split(' on ')[0]}; {os.cpu_count()} cores")
    print(f"load average before {' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)}; median of {args.runs} warm runs")
    print(f"framework floor (one trivial ORM query): {floor:.2f} ms")
    if duck.get("error"):
        print(f"DuckDB: {duck['error']}")
    elif duck:
        print(f"DuckDB {duck['version']} ({duck['threads']} threads): tables {', '.join(duck['tables'])}; "
              f"export to CSV {duck['export_s']:.0f} s, CSV to Parquet {duck['convert_s']:.0f} s")
    head = f"{'report | filters':52} {'ours ms':>8} {'xfloor':>7} {'DuckDB ms':>9} {'ratio':>6}  {'<1 s':4} {'<=3x':4}  same?"
    print(head)
    print("-" * len(head))
    notes = []
    for key, ms, err, nq in rows:
        d = duck.get("reports", {}).get(key) if duck else None
        dms = d["ms"] if d else None
        if ms is None:
            print(f"{key:52} {'timeout':>8} {'':7} {(f'{dms:9.0f}' if dms is not None else '        -')}"
                  f"           NO   NO    {err}")
            continue
        same = "-"
        if d and key in pg_results:
            agree = [r == p for r, p in zip(d["results"], pg_results[key], strict=True) if r is not None]
            for i, (r, p) in enumerate(zip(d["results"], pg_results[key], strict=True)):
                if r is not None and r != p:
                    diff = [(a, b) for a, b in zip(p, r, strict=False) if a != b][:2]
                    notes.append(f"  {key}: statement {i} answers differ ({len(p)} rows on PostgreSQL, {len(r)} on "
                                 f"DuckDB; first differences PostgreSQL vs DuckDB: {diff})")
            same = ("same" if all(agree) and not d["errors"] else
                    f"{sum(agree)}/{len(pg_results[key])} statements agree")
            notes.extend(f"  {key}: {e}" for e in d["errors"])
        elif d:
            same = "not compared (slow)"
        ratio = ms / dms if dms else None
        print(f"{key:52} {ms:8.0f} {ms / floor:7.0f} {(f'{dms:9.0f}' if dms is not None else '        -')} "
              f"{(f'{ratio:6.1f}' if ratio else '     -')}  {'yes' if ms < TARGET_MS else 'NO':4} "
              f"{('yes' if ratio <= TARGET_RATIO else 'NO') if ratio else '-':4}  {same} ({nq} queries)")
    if notes:
        print("\nStatements DuckDB could not run (left out of its time), and answers that differ:")
        print("\n".join(notes))


if __name__ == "__main__":
    main()
