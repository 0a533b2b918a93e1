"""Our three hot paths against GNU Health's equivalents, in one run, on the same machine and PostgreSQL settings:
GNU Health 5.0.6 (trytond 7.0, pinned below) is installed from PyPI for this run into a throwaway virtual
environment under /tmp, with its own throwaway PostgreSQL cluster started with the same settings as
scripts/pg-throwaway (initdb as an unprivileged user, Unix socket, fsync off, JIT off), and driven over Tryton's
JSON-RPC as one signed-in user; ours runs under gunicorn (gunicorn.conf.py) exactly as bench/load.py starts it,
with load.py's seed and driver, and the framework floor (a trivial signed-in view behind the same middleware).

    scripts/pg-throwaway .venv/bin/python bench/peer_gnuhealth.py [--repeat 200] [--warmup 10] [--venv DIR]

Mapping (each side one request per operation, a new TCP connection each time, one sequential client each):

    save one vitals row   ours: the cockpit's htmx POST of a vitals row (a session with 20 readings at the start)
                          GNU Health: create one gnuhealth.patient.evaluation with its vital signs (systolic,
                          diastolic, bpm, respiratory_rate, osat, temperature) for a patient with 20 evaluations
                          at the start (the core module's record of vitals; the nursing module's ambulatory care
                          and rounding also carry vitals, but the evaluation is what a clinician's visit saves)
    read history          ours: the chart page and the cockpit page (each its own row)
                          GNU Health: search_read of the patient's last 20 evaluations, newest first, with the
                          vitals fields (the list a client shows)
    book a session        ours: the booking form's POST (the booking rules, chair and conflict checks)
                          GNU Health: create one confirmed gnuhealth.appointment (no conflict checks of its own)

Repetitions are interleaved: each repetition runs every operation on both sides (which side goes first
alternates), after --warmup repetitions that are not counted. With one sequential client, throughput is the
inverse of the mean time, so the ratio printed is GNU Health's mean time / ours (>= 1.5 is the target). Bounded:
--repeat is capped (by the booking slots load.py seeds); every server listens on 127.0.0.1 only; the servers,
the cluster and the throwaway directories are removed at the end, also on errors and Ctrl-C. Synthetic data only.
If GNU Health cannot be installed or started, the script says why and exits non-zero.
"""

from __future__ import annotations

import argparse
import base64
import glob
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import load  # noqa: E402  (bench/load.py: seed, Driver, percentile, free_port)

#: GNU Health 5.0.6 and everything it pulled in on Python 3.12 (gnuhealth requires Python >=3.10,<3.15 and
#: trytond >=7.0,<7.1). Installed only into the throwaway environment.
PINS = """
gnuhealth==5.0.6 gnuhealth-control==5.0.4 trytond==7.0.59 trytond-company==7.0.4 trytond-country==7.0.1
trytond-currency==7.0.1 trytond-party==7.0.8 trytond-product==7.0.6 proteus==7.0.3 psycopg2==2.9.13
python-sql==1.8.1 python-stdnum==2.2 relatorio==1.0.0 Genshi==0.7.12 lxml==6.1.3 Werkzeug==3.1.9 MarkupSafe==3.0.4
passlib==1.7.4 polib==1.2.0 python-dateutil==4.0.0 pytz==2026.6 tzdata==2026.6 defusedxml==0.7.1 pycountry==26.2.16
psutil==7.2.2 puremagic==2.2.0 matplotlib==3.11.2 numpy==2.5.5 pillow==13.0.0 contourpy==1.4.0 cycler==0.12.1
fonttools==4.68.0 kiwisolver==1.5.1 packaging==26.4 pyparsing==3.3.3
""".split()
GH_DB = "gnuhealth"
GH_LOGIN = "admin"
GH_PASSWORD = "synthetic-bench-password"
GH_HISTORY = 20  # evaluations the patient has at the start, like our session's 20 readings
BENCH_USER = "ketaclinic-bench"  # the unprivileged user initdb runs as when we are root (if there is no postgres)


class Unavailable(Exception):
    """GNU Health could not be installed or started here; the message says why."""


def pg_bin(name: str) -> str:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True) + ["/usr/local/bin", "/usr/bin"]:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    found = shutil.which(name)
    if not found:
        raise Unavailable(f"PostgreSQL's {name} not found; install the PostgreSQL server")
    return found


def run(cmd: list[str], what: str, env: dict | None = None, timeout: float = 900) -> str:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode:
        raise Unavailable(f"{what} failed (exit {p.returncode}):\n{(p.stderr or p.stdout)[-3000:]}")
    return p.stdout


class Peer:
    """GNU Health's throwaway world: a virtual environment, a PostgreSQL cluster and a trytond server."""

    def __init__(self, venv: str | None):
        self.tmp = tempfile.mkdtemp(prefix="ketaclinic-gnuhealth-")
        self.venv = Path(venv) if venv else Path(self.tmp) / "venv"
        self.pgdata = Path(self.tmp) / "pgdata"
        self.sock = Path(self.tmp) / "sock"
        self.pg_port = load.free_port()
        self.web_port = load.free_port()
        self.as_user: list[str] = []
        self.pg_started = False
        self.server: subprocess.Popen | None = None
        self.session_header = ""
        self.context: dict = {}
        self.rpc_id = 0

    # -- installation ------------------------------------------------------------------------------------------
    def install(self) -> str:
        py = self.venv / "bin" / "python"
        if not py.exists():
            run([sys.executable, "-m", "venv", str(self.venv)], "creating the virtual environment")
        run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS],
            "pip install of GNU Health " + PINS[0].split("==")[1])
        return run([str(py), "-c", "import sys, trytond, importlib.metadata as m; print("
                    "f\"gnuhealth {m.version('gnuhealth')}, trytond {trytond.__version__}, "
                    "Python {sys.version.split()[0]}\")"], "checking the installation").strip()

    # -- PostgreSQL ----------------------------------------------------------------------------------------------
    def start_postgres(self) -> str:
        self.pgdata.mkdir()
        self.sock.mkdir()
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as an unprivileged system user
            try:
                user = pwd.getpwnam("postgres").pw_name
            except KeyError:
                try:
                    pwd.getpwnam(BENCH_USER)
                except KeyError:
                    run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", BENCH_USER],
                        f"useradd {BENCH_USER}")
                user = BENCH_USER
            os.chmod(self.tmp, 0o755)
            shutil.chown(self.pgdata, user)
            shutil.chown(self.sock, user)
            self.as_user = ["runuser", "-u", user, "--"]
        run([*self.as_user, pg_bin("initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E",
             "UTF8", "--locale=C.UTF-8"], "initdb")
        run([*self.as_user, pg_bin("pg_ctl"), "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"), "-w",
             "-o", f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {self.sock} -c fsync=off "
             "-c full_page_writes=off -c synchronous_commit=off -c max_connections=60 -c jit=off", "start"],
            "pg_ctl start")
        self.pg_started = True
        run([pg_bin("psql"), "-h", str(self.sock), "-p", str(self.pg_port), "-U", "postgres", "-qc",
             f"create database {GH_DB}"], "create database")
        return run([pg_bin("pg_ctl"), "--version"], "pg_ctl --version").split()[2]

    # -- trytond -------------------------------------------------------------------------------------------------
    def env(self) -> dict:
        passfile = Path(self.tmp) / "admin-password"
        passfile.write_text(GH_PASSWORD + "\n")
        return dict(os.environ, TRYTOND_CONFIG=str(Path(self.tmp) / "trytond.conf"), TRYTONPASSFILE=str(passfile),
                    PGHOST=str(self.sock), PGPORT=str(self.pg_port), PGUSER="postgres",
                    PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")

    def create_database(self) -> float:
        (Path(self.tmp) / "attach").mkdir()
        (Path(self.tmp) / "trytond.conf").write_text(
            "[database]\n"
            f"uri = postgresql://postgres@:{self.pg_port}/\n"
            f"path = {Path(self.tmp) / 'attach'}\n"
            "[web]\n"
            f"listen = 127.0.0.1:{self.web_port}\n"
            "[session]\n"
            "timeout = 36000\n"
            "max_attempt = 1000\n")
        admin = str(self.venv / "bin" / "trytond-admin")
        t0 = time.perf_counter()
        run([admin, "-d", GH_DB, "--all", "--email", "admin@example.invalid"], "trytond-admin --all (new database)",
            env=self.env(), timeout=1800)
        run([admin, "-d", GH_DB, "-u", "health", "--activate-dependencies"], "trytond-admin -u health",
            env=self.env(), timeout=1800)
        return time.perf_counter() - t0

    def start_server(self) -> None:
        log = open(Path(self.tmp) / "trytond.log", "wb")
        self.server = subprocess.Popen([str(self.venv / "bin" / "trytond")], env=self.env(), stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.web_port), timeout=1):
                    return
            except OSError:
                pass
            if self.server.poll() is not None or time.time() > deadline:
                tail = (Path(self.tmp) / "trytond.log").read_text(errors="replace")[-3000:]
                raise Unavailable(f"trytond did not start (exit {self.server.poll()}):\n{tail}")
            time.sleep(0.3)

    # -- JSON-RPC ------------------------------------------------------------------------------------------------
    def call(self, method: str, *params):
        """One JSON-RPC call on a new connection (as load.Driver does for ours); returns the result."""
        self.rpc_id += 1
        body = json.dumps({"id": self.rpc_id, "method": method, "params": list(params)}, default=_encode)
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
        if self.session_header:
            headers["Authorization"] = self.session_header
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=60)
        try:
            conn.request("POST", f"/{GH_DB}/", body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise RuntimeError(f"{method}: HTTP {r.status} {data[:500]!r}")
        reply = json.loads(data)
        if reply.get("error"):
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def login(self) -> None:
        user_id, session = self.call("common.db.login", GH_LOGIN, {"password": GH_PASSWORD}, "en")
        token = base64.b64encode(f"{GH_LOGIN}:{user_id}:{session}".encode()).decode()
        self.session_header = f"Session {token}"
        self.user_id = user_id
        self.context = self.call("model.res.user.get_preferences", True, {})

    def model(self, name: str, method: str, *args):
        return self.call(f"model.{name}.{method}", *args, self.context)

    def seed(self) -> None:
        """A health professional (the signed-in user's own party) and a patient with GH_HISTORY evaluations."""
        hp_party, = self.model("party.party", "create", [{
            "name": "Bench", "lastname": "Clinician", "is_person": True, "is_healthprof": True, "gender": "f",
            "fed_country": "XXX", "internal_user": self.user_id, "create_target": False}])
        self.healthprof, = self.model("gnuhealth.healthprofessional", "create", [{"party": hp_party}])
        pt_party, = self.model("party.party", "create", [{
            "name": "Peer", "lastname": "Synthetic", "is_person": True, "is_patient": True, "gender": "m",
            "dob": {"__class__": "date", "year": 1970, "month": 1, "day": 1}, "fed_country": "XXX",
            "create_target": False}])
        existing = self.model("gnuhealth.patient", "search", [("party", "=", pt_party)], 0, 1, None)
        self.patient = existing[0] if existing else self.model("gnuhealth.patient", "create",
                                                               [{"party": pt_party}])[0]
        now = datetime.now(UTC).replace(tzinfo=None)
        self.model("gnuhealth.patient.evaluation", "create", [
            self.evaluation_values(now - timedelta(minutes=110 - 5 * m)) for m in range(GH_HISTORY)])
        self.next_appointment = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)

    def evaluation_values(self, at: datetime, systolic: int = 126) -> dict:
        return {"patient": self.patient, "healthprof": self.healthprof, "evaluation_start": at,
                "systolic": systolic, "diastolic": 80, "bpm": 74, "respiratory_rate": 14, "osat": 98,
                "temperature": 36.8}

    # the three operations, each returning whether it did what it should
    def op_save_vitals(self, k: int) -> bool:
        ids = self.model("gnuhealth.patient.evaluation", "create", [
            self.evaluation_values(datetime.now(UTC).replace(tzinfo=None), 118 + k % 17)])
        return len(ids) == 1

    def op_read_history(self, k: int) -> bool:
        rows = self.model("gnuhealth.patient.evaluation", "search_read", [("patient", "=", self.patient)], 0, 20,
                          [("evaluation_start", "DESC"), ("id", "DESC")],
                          ["evaluation_start", "systolic", "diastolic", "bpm", "respiratory_rate", "osat",
                           "temperature", "healthprof", "state"])
        return len(rows) == 20

    def op_book(self, k: int) -> bool:
        at = self.next_appointment
        self.next_appointment += timedelta(minutes=30)
        ids = self.model("gnuhealth.appointment", "create", [{
            "patient": self.patient, "healthprof": self.healthprof, "appointment_date": at, "state": "confirmed",
            "appointment_type": "outpatient", "urgency": "a"}])
        return len(ids) == 1

    def close(self) -> None:
        if self.server and self.server.poll() is None:
            try:
                os.killpg(self.server.pid, signal.SIGTERM)
                self.server.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.server.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.pg_started:
            subprocess.run([*self.as_user, pg_bin("pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "stop"],
                           capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _encode(o):
    if isinstance(o, datetime):
        return {"__class__": "datetime", "year": o.year, "month": o.month, "day": o.day, "hour": o.hour,
                "minute": o.minute, "second": o.second, "microsecond": o.microsecond}
    raise TypeError(type(o))


def stop(server: subprocess.Popen | None) -> None:
    if server is None or server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="counted repetitions (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="repetitions run first and not counted")
    parser.add_argument("--venv", default="", help="reuse (or create and keep) GNU Health's environment here")
    args = parser.parse_args()
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    t_start = time.perf_counter()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if os.environ.get("DB") != "postgres":
        print("note: our side is not on PostgreSQL; run under scripts/pg-throwaway to compare like with like")
    peer = Peer(args.venv or None)
    ours = None
    try:
        try:
            t0 = time.perf_counter()
            versions = peer.install()
            print(f"GNU Health installed: {versions} ({time.perf_counter() - t0:.0f} s)", flush=True)
            pg = peer.start_postgres()
            print(f"GNU Health's PostgreSQL {pg} cluster on 127.0.0.1:{peer.pg_port} (Unix socket, fsync off)")
            print(f"trytond-admin created the database with the health module in {peer.create_database():.0f} s",
                  flush=True)
            peer.start_server()
            peer.login()
            peer.seed()
            print(f"trytond on 127.0.0.1:{peer.web_port}; one patient with {GH_HISTORY} evaluations", flush=True)
        except (Unavailable, RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"\nGNU Health could not be installed or started here: {e}", file=sys.stderr)
            return 2

        os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
        os.environ.setdefault("KETACLINIC_PLAIN_STATIC", "true")
        load.setup_django()
        from django.db import connection

        t0 = time.perf_counter()
        data = load.seed(1)
        print(f"KetaClinic: one dosing session with 20 readings and 12 orders to book, seeded in "
              f"{time.perf_counter() - t0:.0f} s; database: {connection.vendor}")
        connection.close()
        repeat = min(args.repeat, len(data["slots"]) - args.warmup)
        if repeat < args.repeat:
            print(f"--repeat capped at {repeat} (the booking slots load.py seeds)")
        ours, port = load.start_server()
        driver = load.Driver(port, data)
        nurse = data["nurses"][0]
        for op in ("floor", "save vitals", "open cockpit", "open chart"):  # every worker's imports
            for _ in range(5):
                driver.run(op, nurse)
        print(f"gunicorn on 127.0.0.1:{port}; {repeat} repetitions after {args.warmup} warm-up, interleaved\n",
              flush=True)

        def theirs(fn, k):
            t = time.perf_counter()
            ok = fn(k)
            return ok, time.perf_counter() - t

        # (label, our operation or None, GNU Health's operation or None)
        rows = [("floor", "floor", None),
                ("save one vitals row", "save vitals", peer.op_save_vitals),
                ("read history: chart", "open chart", peer.op_read_history),
                ("read history: cockpit", "open cockpit", None),
                ("book a session", "book a session", peer.op_book)]
        times = {(label, side): [] for label, *_ in rows for side in ("ours", "theirs")}
        errors = {key: 0 for key in times}
        for k in range(args.warmup + repeat):
            for label, our_op, their_op in rows:
                sides = [("ours", our_op), ("theirs", their_op)]
                for side, op in (sides if k % 2 == 0 else sides[::-1]):
                    if op is None:
                        continue
                    try:
                        ok, t = driver.run(op, nurse) if side == "ours" else theirs(op, k)
                    except (OSError, RuntimeError) as e:
                        ok, t = False, 0.0
                        if errors[(label, side)] == 0:
                            print(f"  {side} {label}: {e}", file=sys.stderr)
                    if k >= args.warmup:
                        times[(label, side)].append(t)
                        errors[(label, side)] += not ok
        # the cockpit's counterpart is the same read of GNU Health's history
        times[("read history: cockpit", "theirs")] = times[("read history: chart", "theirs")]
        errors[("read history: cockpit", "theirs")] = errors[("read history: chart", "theirs")]

        def pct(label, side, p):
            ts = times[(label, side)]
            return load.percentile(ts, p) if ts else float("nan")

        floor50 = pct("floor", "ours", 50)
        print(f"{'operation':23s} {'ours p50':>9s} {'ours p95':>9s} {'GNUH p50':>9s} {'GNUH p95':>9s} "
              f"{'ours/GNUH tput':>14s} {'ours p50/floor':>14s} {'errors o/t':>10s}")
        for label, *_ in rows:
            o, t = times[(label, "ours")], times[(label, "theirs")]
            ratio = f"{(sum(t) / len(t)) / (sum(o) / len(o)):13.2f}x" if o and t else ""
            gh = f"{pct(label, 'theirs', 50):9.1f} {pct(label, 'theirs', 95):9.1f}" if t else f"{'':9s} {'':9s}"
            print(f"{label:23s} {pct(label, 'ours', 50):9.1f} {pct(label, 'ours', 95):9.1f} {gh} {ratio:>14s} "
                  f"{pct(label, 'ours', 50) / floor50:13.1f}x {errors[(label, 'ours')]:4d}/{errors[(label, 'theirs')]:<4d}")
        print("\n(ms; throughput ratio = GNU Health's mean time / ours, one sequential client each; target >= 1.5x)")
        print(f"whole run {time.perf_counter() - t_start:.0f} s")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stop(ours)
        peer.close()


if __name__ == "__main__":
    sys.exit(main())
