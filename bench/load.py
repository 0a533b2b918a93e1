"""Load test of the staff's hot paths through the production server: the app runs under gunicorn (gunicorn.conf.py)
on loopback, and client threads drive save vitals (the cockpit's htmx POST), open the cockpit, open the chart, the
Today board's refresh, book a session and the score trajectory, each at 1, 10 and 50 concurrent users back to back,
then 50 staff each acting every few seconds (think time), with the framework floor (a trivial signed-in view
behind the same middleware) measured the same way in the same run. Prints p50/p95/p99, throughput, errors and
each p50's ratio to the floor's at the same concurrency.

    .venv/bin/python bench/load.py [--seconds 3] [--think-seconds 30] [--users 1,10,50]
    scripts/pg-throwaway .venv/bin/python bench/load.py          # on a throwaway PostgreSQL
    scripts/pg-throwaway .venv/bin/python bench/load.py --network 1000000   # over the synthetic network's history

Bounded: each cell runs for --seconds or --max-requests, whichever comes first; the server listens on 127.0.0.1
only and is stopped at the end. The client threads run on the same machine as the server (they take some of
its CPU: on a small machine the figures at 50 users are the pair's, not the server's alone). Synthetic data only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _setup import setup_django, synthetic_staff

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BOOK_ORDERS = 24  # x 52 sessions: more bookings than a run makes
OPS = ("floor", "save vitals", "open cockpit", "open chart", "Today refresh", "book a session", "trajectory")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Staff:
    """One signed-in member of staff (a nurse at one chair), with the cookies the server gave and the addresses of
    the session and patient in front of them."""

    def __init__(self, cookie: str, csrf: str, urls: dict[str, str], shown: int | None):
        self.cookie, self.csrf, self.urls, self.shown = cookie, csrf, urls, shown


def seed(users: int) -> dict:
    """A clinic with one dosing session (its own patient and chair) per simulated nurse, each with 20 readings,
    orders to book from, and a front-desk login. Every record goes through the app's own services."""
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic import services as clinic_services
    from ketaclinic.clinic.models import Room
    from ketaclinic.patients.services import register_patient
    from ketaclinic.treatments import services
    from tests.factories import IV, actor, book_at, make_order, ready_to_start

    clinic, staff = synthetic_staff("load", "Load clinic (synthetic)")
    system = Actor.system("load test setup")
    chairs = []
    for k in range(0, users, 20):  # at most 20 chairs a room
        hall = clinic_services.add_room(actor=system, clinic=clinic, name=f"Load infusion hall {k // 20 + 1}",
                                        kind=Room.Kind.INFUSION, chairs=min(20, users - k))
        chairs += list(hall.chairs.order_by("pk"))
    # the orders to book from each have a chair of their own, in rooms of their own, whatever --users: with one
    # chair per user, a small run put two orders' sessions in one chair two hours apart, and the second booking of
    # a session of 2 h 40 min was refused (bench/where_the_time_goes.py --users 3 stopped on it)
    book_chairs = []
    for k in range(0, BOOK_ORDERS, 12):
        room = clinic_services.add_room(actor=system, clinic=clinic, name=f"Load booking room {k // 12 + 1}",
                                        kind=Room.Kind.INFUSION, chairs=min(12, BOOK_ORDERS - k))
        book_chairs += list(room.chairs.order_by("pk"))
    desk = Actor(user=staff["front_desk"], roles=frozenset({"front_desk"}))

    def patient(k: int):
        return register_patient(actor=desk, clinic=clinic, data={
            "legal_given_name": f"Load{k}", "legal_family_name": "Synthetic", "date_of_birth": date(1970, 1, 1)
            + timedelta(days=97 * k), "sex_at_birth": "female" if k % 2 else "male"}, confirm_duplicate=True,
            is_demo=True)

    nurse = actor(staff["nurse"])
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=120)
    sessions = []
    for k in range(users):
        order = make_order(patient(k), staff, IV)
        s = ready_to_start(book_at(order, staff, start, chair=chairs[k]), staff, minutes_ago=120)
        s = services.start_dose(actor=nurse, session=s, at=timezone.now() - timedelta(minutes=115))
        for m in range(20):
            services.add_vitals(actor=nurse, session=s, taken_at=timezone.now() - timedelta(minutes=110 - 5 * m),
                                values={"systolic_mmHg": 126, "diastolic_mmHg": 80, "heart_rate_bpm": 74,
                                        "spo2_percent": 98})
        sessions.append(s)
    # orders to book from: 52 sessions each, more than a run books in all (an order that had all its sessions
    # would refuse the next booking, and the refusal would be timed as a booking)
    book_orders = [make_order(patient(users + k), staff, {**IV, "sessions_planned": "52"}) for k in range(BOOK_ORDERS)]

    def login(user) -> tuple[str, str]:
        c = Client()
        c.force_login(user)
        csrf = _get_new_csrf_string()
        return f"sessionid={c.cookies['sessionid'].value}; csrftoken={csrf}", csrf

    nurses = []
    for s in sessions:
        cookie, csrf = login(staff["nurse"])
        newest = s.vitals.order_by("-taken_at", "-pk").values_list("pk", flat=True).first()
        nurses.append(Staff(cookie, csrf, {
            "vitals": reverse("treatments:vitals", args=[s.external_id]),
            "cockpit": reverse("treatments:cockpit", args=[s.external_id]),
            "chart": reverse("patients:chart", args=[s.patient.external_id]),
            "trajectory": reverse("measures:trajectory", args=[s.patient.external_id]),
            "today": reverse("clinic:today")}, newest))
    desk_cookie, desk_csrf = login(staff["front_desk"])
    # Booking slots that the booking rules accept: each order's sessions on working days at least four days apart
    # (within its frequency and spacing), each order in its own chair at 08:00, the orders taken in turn.
    working = clinic.weekdays()
    slots = []
    for j in range(52):
        for o, order in enumerate(book_orders):
            day = timezone.localdate() + timedelta(days=1 + 5 * j)
            while day.weekday() not in working:
                day += timedelta(days=1)
            slots.append((reverse("treatments:book", args=[order.external_id]), day, "08:00", book_chairs[o].pk))
    return {"nurses": nurses, "desk": Staff(desk_cookie, desk_csrf, {}, None), "slots": slots,
            "order_ids": [o.external_id for o in book_orders], "clinic": clinic}


class Driver:
    """Sends one operation as one signed-in person; returns (ok, seconds)."""

    def __init__(self, port: int, data: dict):
        self.port, self.data = port, data
        self.slot_lock = threading.Lock()
        self.next_slot = 0
        self.booked = 0

    def _request(self, who: Staff, method: str, path: str, body: dict | None = None, htmx_target: str = ""
                 ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": who.cookie, "Host": "127.0.0.1"}
        payload = None
        if method == "POST":
            payload = urlencode(body or {})
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": who.csrf})
        if htmx_target:
            headers.update({"HX-Request": "true", "HX-Target": htmx_target})
        try:
            conn.request(method, path, body=payload, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def run(self, op: str, who: Staff) -> tuple[bool, float]:
        t0 = time.perf_counter()
        ok = getattr(self, "op_" + op.replace(" ", "_").lower())(who)
        return ok, time.perf_counter() - t0

    def op_floor(self, who):
        status, _ = self._request(who, "GET", "/bench-floor/")
        return status == 200

    def op_save_vitals(self, who):
        status, body = self._request(who, "POST", who.urls["vitals"], {
            "systolic_mmHg": str(random.randint(118, 134)), "diastolic_mmHg": "80", "heart_rate_bpm": "76",
            "spo2_percent": "98", "shown_through": who.shown or ""}, htmx_target="vitals-form")
        m = re.search(rb'name="shown_through" value="(\d+)"', body)
        if m:
            who.shown = int(m.group(1))
        return status == 200 and b'data-saved="yes"' in body

    def op_open_cockpit(self, who):
        status, body = self._request(who, "GET", who.urls["cockpit"])
        return status == 200 and b'id="vitals"' in body

    def op_open_chart(self, who):
        status, _ = self._request(who, "GET", who.urls["chart"])
        return status == 200

    def op_today_refresh(self, who):
        status, _ = self._request(who, "GET", who.urls["today"], htmx_target="panels")
        return status == 200

    def op_trajectory(self, who):
        status, _ = self._request(who, "GET", who.urls["trajectory"])
        return status == 200

    def op_book_a_session(self, who):
        with self.slot_lock:
            k = self.next_slot
            self.next_slot += 1
        if k >= len(self.data["slots"]):
            return False
        url, day, at, chair = self.data["slots"][k]
        status, _ = self._request(self.data["desk"], "POST", url, {
            "date": day.isoformat(), "time": at, "chair": chair, "row": "1"})
        return status == 302


def start_server(workers: str | None = None) -> tuple[subprocess.Popen, int]:
    """The production server (gunicorn with gunicorn.conf.py, the bench's settings) on a free loopback port, once it
    answers /health/; ``workers`` overrides the conf's count. The caller stops it (process group)."""
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="_load_settings", GUNICORN_BIND=f"127.0.0.1:{port}",
               PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]))
    if workers:
        env["WEB_CONCURRENCY"] = workers
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                               "ketaclinic.wsgi"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health/", headers={"Host": "127.0.0.1"})
            if c.getresponse().status == 200:
                return server, port
        except OSError:
            pass
        if time.time() > deadline or server.poll() is not None:
            if server.poll() is None:  # timed out: nothing of it is left running
                os.killpg(server.pid, signal.SIGKILL)
            raise SystemExit("gunicorn did not start: " + (server.stderr.read().decode()[-2000:]
                                                           if server.poll() is not None else "timeout"))
        time.sleep(0.3)


def percentile(xs: list[float], p: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(round(p / 100 * (len(ys) - 1))))] * 1000


def back_to_back(driver: Driver, op: str, users: int, seconds: float, max_requests: int, nurses: list[Staff]
                 ) -> dict:
    times: list[float] = []
    errors = [0]
    done = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(k: int) -> None:
        who = nurses[k % len(nurses)]
        while time.perf_counter() < stop_at:
            with lock:
                if done[0] >= max_requests:
                    return
                done[0] += 1
            try:
                ok, t = driver.run(op, who)
            except OSError:
                ok, t = False, 0.0
            with lock:
                times.append(t)
                errors[0] += not ok

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.perf_counter() - t0
    return {"n": len(times), "errors": errors[0], "wall": wall, "times": times}


def with_think_time(driver: Driver, users: int, seconds: float, think: float, nurses: list[Staff]) -> dict:
    """``users`` staff, each doing the next hot path every ``think`` seconds (a random start within the first)."""
    per_op: dict[str, list[float]] = {op: [] for op in OPS[1:]}
    errors = {op: 0 for op in OPS[1:]}
    lock = threading.Lock()
    t_start = time.perf_counter()
    stop_at = t_start + seconds

    def worker(k: int) -> None:
        who = nurses[k % len(nurses)]
        rnd = random.Random(k)
        next_at = t_start + rnd.uniform(0, think)
        i = k
        while True:
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            if time.perf_counter() >= stop_at:
                return
            op = OPS[1:][i % (len(OPS) - 1)]
            i += 1
            try:
                ok, t = driver.run(op, who)
            except OSError:
                ok, t = False, 0.0
            with lock:
                per_op[op].append(t)
                errors[op] += not ok
            next_at += think

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + think + 120)
    return {"per_op": per_op, "errors": errors, "wall": time.perf_counter() - t_start}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per operation and concurrency (default 3)")
    parser.add_argument("--max-requests", type=int, default=2000, help="cap per cell (default 2000)")
    parser.add_argument("--users", default="1,10,50")
    parser.add_argument("--think-users", type=int, default=50)
    parser.add_argument("--think", type=float, default=5.0, help="seconds between one person's actions")
    parser.add_argument("--think-seconds", type=float, default=30.0, help="length of the think-time run")
    parser.add_argument("--workers", default="", help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--network", type=int, default=0, metavar="SESSIONS",
                        help="first write the synthetic network of bench/_reports_network.py with this many sessions "
                             "(PostgreSQL; a tenth as many patients), so the hot paths run over its history")
    parser.add_argument("--network-administrations", type=int, default=1_000_000)
    parser.add_argument("--network-vitals", type=int, default=0,
                        help="about this many vitals readings in the network (issue 16: 20,000,000 for 1,000,000 "
                             "sessions); default: the reports network's 2-3 a dosed session")
    args = parser.parse_args()
    levels = [int(x) for x in args.users.split(",") if x.strip()]
    if not levels or min(levels) < 1 or args.seconds <= 0 or args.max_requests < 1:
        parser.error("--users takes whole numbers of at least 1; --seconds and --max-requests must be positive")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("KETACLINIC_PLAIN_STATIC", "true")
    setup_django()
    from django.conf import settings
    from django.db import connection

    sys.path.insert(0, str(BENCH))
    users_needed = max(levels + [args.think_users])
    t0 = time.perf_counter()
    if args.network:
        if connection.vendor != "postgresql":
            sys.exit("--network needs PostgreSQL: scripts/pg-throwaway .venv/bin/python bench/load.py --network ...")
        import _reports_network

        _reports_network.build_or_reuse(False, args.network, args.network_administrations, vitals=args.network_vitals)
        with connection.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM patients_patient), (SELECT count(*) FROM "
                        "treatments_treatmentsession), (SELECT count(*) FROM treatments_vitalsreading), "
                        "(SELECT count(*) FROM measures_administration), (SELECT count(*) FROM audit_auditentry)")
            print("network: {:,} patients, {:,} sessions, {:,} vitals readings, {:,} scale administrations, "
                  "{:,} audit entries; the load's nurses, patients and orders are added to its clinic"
                  .format(*cur.fetchone()), flush=True)
        t0 = time.perf_counter()
    data = seed(users_needed)
    print(f"seeded {users_needed} dosing sessions (20 readings each) and {BOOK_ORDERS} orders to book in "
          f"{time.perf_counter() - t0:.0f} s; database: {connection.vendor}")
    connection.close()

    server, port = start_server(workers=args.workers)
    try:
        from gunicorn.config import Config  # noqa: F401  (installed: the server's own settings are in the conf)

        workers = args.workers or str(2 * len(os.sched_getaffinity(0)) + 1)
        print(f"gunicorn on 127.0.0.1:{port}, {workers} sync workers, conn_max_age "
              f"{settings.DATABASES['default'].get('CONN_MAX_AGE')} s; {os.cpu_count()} cores shared with the "
              f"client threads; {args.seconds:g} s per cell (at most {args.max_requests} requests)\n")
        driver = Driver(port, data)
        for who in data["nurses"][:3]:  # warm every worker's imports and connection
            for op in OPS:
                driver.run(op, who) if op != "book a session" else None
        print(f"{'operation':16s} {'users':>5s} {'n':>6s} {'errors':>6s} {'p50 ms':>8s} {'p95 ms':>8s} "
              f"{'p99 ms':>8s} {'req/s':>7s} {'p50/floor':>9s} {'req/s / floor':>13s}")
        for users in levels:
            floor = None
            for op in OPS:
                r = back_to_back(driver, op, users, args.seconds, args.max_requests, data["nurses"])
                if not r["times"]:
                    continue
                p50 = percentile(r["times"], 50)
                rate = r["n"] / r["wall"]
                if op == "floor":
                    floor = (p50, rate)
                ratio = f"{p50 / floor[0]:8.1f}x" if floor else ""
                tput = f"{rate / floor[1]:12.0%}" if floor else ""
                print(f"{op:16s} {users:5d} {r['n']:6d} {r['errors']:6d} {p50:8.1f} {percentile(r['times'], 95):8.1f} "
                      f"{percentile(r['times'], 99):8.1f} {rate:7.1f} {ratio:>9s} {tput:>13s}", flush=True)
            print()
        if args.think_seconds > 0:
            r = with_think_time(driver, args.think_users, args.think_seconds, args.think, data["nurses"])
            everything = [t for ts in r["per_op"].values() for t in ts]
            print(f"{args.think_users} staff, each acting every {args.think:g} s for {args.think_seconds:g} s "
                  f"(the hot paths in turn):")
            for op, ts in r["per_op"].items():
                if ts:
                    print(f"  {op:16s} n {len(ts):4d}  errors {r['errors'][op]:3d}  p50 {percentile(ts, 50):7.1f} ms  "
                          f"p95 {percentile(ts, 95):7.1f} ms  p99 {percentile(ts, 99):7.1f} ms")
            if everything:
                print(f"  {'all':16s} n {len(everything):4d}  errors {sum(r['errors'].values()):3d}  "
                      f"p50 {percentile(everything, 50):7.1f} ms  p95 {percentile(everything, 95):7.1f} ms  "
                      f"p99 {percentile(everything, 99):7.1f} ms  ({len(everything) / r['wall']:.1f} req/s)")
        print(f"\nbookings attempted {driver.next_slot}; sessions booked ahead (each attempt should have booked one): ",
              end="")
        from ketaclinic.treatments.models import TreatmentSession

        print(TreatmentSession.objects.filter(order__external_id__in=data["order_ids"]).count())
        _ = statistics  # (percentiles are computed here; statistics kept for median checks by hand)
        _ = datetime
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
