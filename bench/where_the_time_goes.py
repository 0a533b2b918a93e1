"""Where the time of each staff hot path goes, in-process, beside the framework floor measured the same way in the
same run (issue 16: "the remaining gap explained by a profile").

    .venv/bin/python bench/where_the_time_goes.py [--repeat 40] [--users 50]
    scripts/pg-throwaway .venv/bin/python bench/where_the_time_goes.py          # on a throwaway PostgreSQL

The clinic is bench/load.py's (``load.seed``: one dosing session with 20 readings per nurse, orders to book from),
built through the app's services. Each operation is the request bench/load.py sends, made with Django's test
client (no server, no network): the floor (a trivial signed-in view behind the same middleware), a vitals save
(the cockpit's htmx POST), the cockpit, the chart, the Today board's htmx refresh (``--users`` sessions on it),
a booking and the score trajectory.

Each operation is first timed bare (median of --repeat), then again with its time split into parts that do not
overlap, each request's parts adding up to its whole:

- ``sql``: the driver's ``execute`` of each statement (``connection.execute_wrapper``), with the number of
  statements; fetching the rows after it (on SQLite part of the database's work), converting their values and
  committing are not in it (they are in ``rest``);
- ``compile``: the ORM writing SQL (``as_sql`` of the compilers for reads, inserts, updates, deletes and
  aggregates);
- ``objects``: model instances made from rows (``Model.from_db``);
- ``template``: the template engine (``Template.render``, and a partial's for htmx answers), less the queries run
  from inside a template;
- ``audit``: writing the audit entry of what was seen or changed (``ketaclinic.audit.services.record``: its
  canonical JSON, hash and model), less its statements and their compilation;
- ``rest``: everything else in Python: middleware, forms, views, services, the clinical core.

The split costs some time of its own (each timer), so its parts are shown as shares of the instrumented requests
(each part's total over the requests' total, so the parts add up) and applied to the bare median. The instrumented
runs come after the bare ones: by then the vitals saves have added readings to the session the cockpit shows (its
cost is flat with the readings: tests/treatments/test_cockpit_flat_with_history.py). Nothing here is a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections import defaultdict

from _setup import setup_django

PARTS = ("sql", "compile", "objects", "template", "audit", "rest")


class Split:
    """Exclusive timers: a part's time is its own, less the parts timed inside it (a query run from a template is
    ``sql`` and ``compile``, not ``template``)."""

    def __init__(self):
        self.stack: list[list] = []  # [part, started, time of the parts inside]
        self.totals: dict[str, float] = defaultdict(float)
        self.statements = 0

    def enter(self, part: str) -> None:
        self.stack.append([part, time.perf_counter(), 0.0])

    def leave(self) -> None:
        part, started, inner = self.stack.pop()
        took = time.perf_counter() - started
        self.totals[part] += took - inner
        if self.stack:
            self.stack[-1][2] += took

    def wrap(self, part: str, fn):
        split = self

        def timed(*args, **kwargs):
            split.enter(part)
            try:
                return fn(*args, **kwargs)
            finally:
                split.leave()

        return timed


def instrument(split: Split):
    """Patch the framework's entry points once; the patches time into ``split`` (returns a function undoing them)."""
    from django.db.models import Model
    from django.db.models.sql import compiler
    from django.template.base import PartialTemplate, Template

    from ketaclinic.audit import services as audit_services

    compilers = [c for c in vars(compiler).values() if isinstance(c, type) and issubclass(c, compiler.SQLCompiler)
                 and "as_sql" in vars(c)]
    originals = [(c, "as_sql", vars(c)["as_sql"]) for c in compilers] + [
        (Template, "render", Template.render), (PartialTemplate, "render", PartialTemplate.render),
        (audit_services, "record", audit_services.record), (Model, "from_db", Model.__dict__["from_db"])]
    for c in compilers:
        c.as_sql = split.wrap("compile", vars(c)["as_sql"])
    Template.render = split.wrap("template", Template.render)
    PartialTemplate.render = split.wrap("template", PartialTemplate.render)
    audit_services.record = split.wrap("audit", audit_services.record)
    from_db = Model.__dict__["from_db"].__func__
    Model.from_db = classmethod(split.wrap("objects", from_db))

    def undo():
        for owner, name, value in originals:
            setattr(owner, name, value)

    return undo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--users", type=int, default=50, help="dosing sessions on the Today board (default 50)")
    parser.add_argument("--at", help="the clinic's wall-clock moment to run at (ISO, e.g. 2026-06-17T11:00); by "
                                     "default now, or the next working day at 11:00 when the clinic is closed now")
    args = parser.parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    import time_machine

    moment = bench_moment(args.at)
    if moment is None:
        run(args)
    else:
        print(f"(the clinic is closed now: running at {moment:%A %Y-%m-%d %H:%M} clinic time, the clock ticking)")
        with time_machine.travel(moment, tick=True):
            run(args)


def bench_moment(at: str | None):
    """The moment to run at, or None for now. The seed books sessions that started two hours ago and must keep the
    clinic's hours (08:00-18:00, Monday to Friday, the defaults of the synthetic clinic): on a weekend or outside
    10:05-15:00 the bench would be refused its own seed, so it runs at the next working day's 11:00."""
    from datetime import datetime, timedelta
    from datetime import time as clock
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/Denver")
    if at:
        moment = datetime.fromisoformat(at)
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    now = datetime.now(tz)
    if now.weekday() < 5 and clock(10, 5) <= now.time() <= clock(15):
        return None
    day = now.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, clock(11), tzinfo=tz)


def run(args) -> None:
    import load
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    data = load.seed(args.users)
    nurse, desk = data["nurses"][0], data["desk"]

    def client(who) -> Client:
        c = Client()
        for part in who.cookie.split("; "):
            name, value = part.split("=", 1)
            c.cookies[name] = value
        return c

    nc, dc = client(nurse), client(desk)
    slots = iter(data["slots"])
    state = {"shown": nurse.shown}

    def save():
        r = nc.post(nurse.urls["vitals"], {"systolic_mmHg": "126", "diastolic_mmHg": "80", "heart_rate_bpm": "76",
                                           "spo2_percent": "98", "shown_through": state["shown"] or ""},
                    HTTP_HX_REQUEST="true", HTTP_HX_TARGET="vitals-form")
        m = re.search(rb'name="shown_through" value="(\d+)"', r.content)
        state["shown"] = int(m.group(1)) if m else state["shown"]
        assert r.status_code == 200 and b'data-saved="yes"' in r.content, r.status_code

    from ketaclinic.treatments.models import TreatmentSession

    def book():
        url, day, at, chair = next(slots)
        before = TreatmentSession.objects.count()
        r = dc.post(url, {"date": day.isoformat(), "time": at, "chair": chair, "row": "1"})
        # a refused booking answers 302 too: only a booking that booked is timed as one
        assert r.status_code == 302 and TreatmentSession.objects.count() == before + 1, r.status_code

    def get(c, url, **headers):
        def op():
            r = c.get(url, **headers)
            assert r.status_code == 200, (url, r.status_code)
        return op

    ops = {
        "floor": get(nc, "/bench-floor/"),
        "save vitals": save,
        "open cockpit": get(nc, nurse.urls["cockpit"]),
        "open chart": get(nc, nurse.urls["chart"]),
        "Today refresh": get(nc, nurse.urls["today"], HTTP_HX_REQUEST="true", HTTP_HX_TARGET="panels"),
        "book a session": book,
        "trajectory": get(nc, nurse.urls["trajectory"]),
    }
    split = Split()
    results = {}
    with override_settings(ROOT_URLCONF="bench_floor_urls"):
        for op in ops.values():  # warm every path once
            op()
        bare = {name: [] for name in ops}
        for _ in range(args.repeat):  # interleaved: each repetition runs every operation once
            for name, op in ops.items():
                t0 = time.perf_counter()
                op()
                bare[name].append(time.perf_counter() - t0)
        undo = instrument(split)

        def count(execute, sql, params, many, context):
            split.statements += 1
            split.enter("sql")
            try:
                return execute(sql, params, many, context)
            finally:
                split.leave()

        try:
            with connection.execute_wrapper(count):
                for name, op in ops.items():
                    parts: dict[str, float] = defaultdict(float)
                    statements = []
                    for _ in range(args.repeat):
                        split.totals.clear()
                        split.statements = 0
                        split.enter("rest")
                        op()
                        split.leave()
                        for p in PARTS:
                            parts[p] += split.totals.get(p, 0.0)
                        statements.append(split.statements)
                    whole = sum(parts.values())
                    results[name] = ({p: parts[p] / whole for p in PARTS}, statistics.median(statements))
        finally:
            undo()
    db = connection.vendor
    print(f"\nWhere the time goes, in-process ({db}; DEBUG={settings.DEBUG}); median of {args.repeat} bare runs, "
          "split by the shares of as many instrumented ones; Today with "
          f"{args.users} sessions on the board\n")
    floor_ms = statistics.median(bare["floor"]) * 1000
    head = f"{'operation':<16}{'ms':>7}{'x floor':>9}{'stmts':>7}" + "".join(f"{p:>10}" for p in PARTS)
    print(head)
    print("-" * len(head))
    floor_parts = {}
    for name in ops:
        ms = statistics.median(bare[name]) * 1000
        shares, n = results[name]
        ms_parts = {p: shares.get(p, 0.0) * ms for p in PARTS}
        if name == "floor":
            floor_parts = ms_parts
        print(f"{name:<16}{ms:7.1f}{ms / floor_ms:8.1f}x{n:7.0f}" + "".join(f"{ms_parts[p]:10.2f}" for p in PARTS))
    print("\nAbove the floor (ms; the floor's own session, user and role reads and its middleware taken off):\n")
    print(f"{'operation':<16}{'ms':>7}" + "".join(f"{p:>10}" for p in PARTS))
    for name in ops:
        if name == "floor":
            continue
        ms = statistics.median(bare[name]) * 1000
        shares, _ = results[name]
        above = {p: shares.get(p, 0.0) * ms - floor_parts[p] for p in PARTS}
        print(f"{name:<16}{ms - floor_ms:7.1f}" + "".join(f"{above[p]:10.2f}" for p in PARTS))


if __name__ == "__main__":
    main()
