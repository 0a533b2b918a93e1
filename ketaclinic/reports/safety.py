"""Safety: what goes wrong at the chair, how often, and how fast the clinic answers suicidality.

Every figure is counted in the database (GROUP BY over the sessions, readings, events, adverse events and tasks of
the period); Python only lays the grouped rows out as tables. ``build`` makes the same seven queries whatever the
data: the clinic, the sessions by route and dose, the HOLD/STOP readings, the pauses, the adverse events, the
safety tasks and their acknowledgement times (one query with window functions for the median and 90th percentile).

The period, the filters (the diagnosis group is the core's one-group rule) and percentiles are shared with the
operations and money reports: ketaclinic/reports/filters.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, Value, When
from django.utils import timezone

from ketaclinic.clinical import settings as clinical_settings
from ketaclinic.measures.models import SafetyTask
from ketaclinic.reports.base import Chart, Column, Report, ReportFilters, Section, Series, Table
from ketaclinic.reports.filters import (
    DIAGNOSIS_NOTE,
    ROUTE_ORDER,
    SESSION_FILTERS_NOTE,
    duration,
    in_group,
    in_period,
    not_applied,
    notes,
    per_100,
    percentiles,
    route_label,
    sessions,
)
from ketaclinic.reports.scope import Scope
from ketaclinic.treatments.models import AdverseEvent, Route, SessionEvent, TreatmentSession, VitalsReading

S = TreatmentSession.Status

# ----------------------------------------------------------------------------------------------- the report
DOSED = Q(dose_started_at__isnull=False)
HELD = Q(checked_in_at__isnull=False) & ~Q(status__in=(S.CANCELLED, S.NO_SHOW))


def _band(route: str, dose) -> str:
    if dose is None:
        return "no dose recorded"
    d = Decimal(dose).normalize()
    return f"{d:f} mg" if route == Route.INTRANASAL else f"{d:f} mg/kg"


def _dose_expr() -> Case:
    """The dose the prescriber ordered for the session: mg/kg for IV and IM, mg (devices x 28 mg) for esketamine."""
    return Case(When(route=Route.INTRANASAL, then=F("prepared_dose_mg")), default=F("dose_mg_per_kg"),
                output_field=DecimalField(max_digits=9, decimal_places=3))


def build(filters: ReportFilters, clinics: Scope | None = None) -> Report:
    """The report of the clinic acting now, or of a pool of a network's clinics (``clinics``: reports/scope.py)."""
    clinics = clinics or Scope.current()
    base = sessions(filters, clinics)
    scope = sessions(filters, clinics).values("pk")

    # 1. sessions by route and ordered dose
    by_dose = list(base.annotate(dose=_dose_expr()).values("route", "dose").annotate(
        dosed=Count("pk", filter=DOSED), held=Count("pk", filter=HELD),
        stopped_early=Count("pk", filter=DOSED & Q(administered_mg__lt=F("prepared_dose_mg"))),
        transferred=Count("pk", filter=Q(status=S.TRANSFERRED)),
        discharged=Count("pk", filter=Q(status=S.DISCHARGED)),
        overrides=Count("pk", filter=Q(status=S.DISCHARGED) & ~Q(discharge_override_reason="")),
    ).order_by("route", "dose"))
    routes: dict[str, dict[str, int]] = {}
    for row in by_dose:
        r = routes.setdefault(row["route"], dict.fromkeys(("dosed", "held", "stopped_early", "transferred",
                                                            "discharged", "overrides"), 0))
        for k in r:
            r[k] += row[k]
    total = {k: sum(r[k] for r in routes.values()) for k in ("dosed", "held", "stopped_early", "transferred",
                                                             "discharged", "overrides")}

    # 2. HOLD / STOP readings, 3. pauses
    readings = {row["session__route"]: row for row in VitalsReading.objects.filter(
        level__gte=2, session__in=scope).values("session__route").annotate(
        sessions=Count("session", distinct=True),
        stop_sessions=Count("session", distinct=True, filter=Q(level__gte=3)),
        predose=Count("session", distinct=True, filter=Q(phase="pre_dose")),
        readings=Count("pk")).order_by()}
    pauses = {row["session__route"]: row for row in SessionEvent.objects.filter(
        kind=SessionEvent.Kind.PAUSE, session__in=scope).values("session__route").annotate(
        sessions=Count("session", distinct=True),
        automatic=Count("session", distinct=True, filter=Q(reading__isnull=False))).order_by()}

    # 4. adverse events, split by whether their session was dosed: only those of dosed sessions are in the
    # per-100-dosed-sessions rates (their denominator); the others are shown on their own row
    ae_all = list(AdverseEvent.objects.filter(session__in=scope).annotate(
        route=F("session__route"),
        dose=Case(When(session__route=Route.INTRANASAL, then=F("session__prepared_dose_mg")),
                  default=F("session__dose_mg_per_kg"), output_field=DecimalField(max_digits=9, decimal_places=3)),
        dosed=Case(When(session__dose_started_at__isnull=False, then=Value(True)), default=Value(False)),
    ).values("kind", "severity", "route", "dose", "dosed").annotate(n=Count("pk")).order_by())
    ae_rows = [r for r in ae_all if r["dosed"]]
    undosed = [r for r in ae_all if not r["dosed"]]

    sections = [
        _adverse_by_kind(ae_rows, undosed, total["dosed"]),
        _adverse_by_route(ae_rows, routes),
        _adverse_by_dose(ae_rows, by_dose),
        _excursions(readings, routes, total),
        _paused_stopped(pauses, routes, total),
        _overrides(routes, total),
        *_tasks(filters, clinics),
    ]
    return Report(slug="safety", title="Safety",
                  question="What goes wrong at the chair, how often, and how fast do we answer suicidality?",
                  filters=filters, sections=sections, notes=[
                      f"Sessions are counted on the clinic-local day they were booked for ({clinics.time_zone}); "
                      "cancelled sessions and no-shows never count as dosed or held.", SESSION_FILTERS_NOTE,
                      DIAGNOSIS_NOTE])


SEVERITIES = [s.value for s in AdverseEvent.Severity]
UNDOSED_ROW = "On sessions never dosed (not in the rates)"


def _adverse_by_kind(rows, undosed, dosed: int) -> Section:
    kinds: dict[str, dict[str, int]] = {}
    for r in rows:
        kinds.setdefault(r["kind"], dict.fromkeys(SEVERITIES, 0))[r["severity"]] += r["n"]
    table_rows = []
    for kind in [k.value for k in AdverseEvent.Kind if k.value in kinds]:
        by_sev = kinds[kind]
        n = sum(by_sev.values())
        table_rows.append((AdverseEvent.Kind(kind).label, n, per_100(n, dosed), *(by_sev[s] for s in SEVERITIES)))
    n_all = sum(r[1] for r in table_rows)
    table_rows.append(("All adverse events", n_all, per_100(n_all, dosed),
                       *(sum(kinds[k][s] for k in kinds) for s in SEVERITIES)))
    chart_rows = table_rows[:-1]
    if undosed:
        table_rows.append((UNDOSED_ROW, sum(r["n"] for r in undosed), None,
                           *(sum(r["n"] for r in undosed if r["severity"] == s) for s in SEVERITIES)))
    undosed_kinds = ", ".join(AdverseEvent.Kind(k).label.lower() for k in dict.fromkeys(r["kind"] for r in undosed))
    return Section(
        title="Adverse events by type",
        table=Table([Column("kind", "Adverse event"), Column("n", "Events"),
                     Column("rate", "Events per 100 dosed sessions", "per 100 sessions"),
                     *(Column(s, AdverseEvent.Severity(s).label, "events") for s in SEVERITIES)], table_rows),
        chart=Chart("bar", "Adverse event", "Events per 100 dosed sessions",
                    [Series("per 100 dosed sessions", [(r[0], r[2]) for r in chart_rows])]),
        notes=notes(
            f"Denominator: {dosed} dosed sessions (dosing started: TreatmentSession.dose_started_at) in the "
            "period and filters. Every adverse event recorded at the chair on a dosed session counts once, with the "
            "severity the nurse gave it (treatments.AdverseEvent; an adverse event is append-only and is never "
            "entered in error, so none is left out).",
            "An adverse event recorded on a session that was never dosed (e.g. a faint at check-in, then the "
            "session cancelled) is not in the rates, whose denominator is dosed sessions only: it is counted on "
            f"its own row, '{UNDOSED_ROW}'"
            + (f" ({undosed_kinds})." if undosed else "; there is none in the period and filters."),
            "An emergency transfer always records its adverse event (treatments/services/discharge.py "
            "transfer_to_emergency), so it is counted here too."))


def _adverse_by_route(rows, routes) -> Section:
    per_route: dict[str, list[int]] = {}
    for r in rows:
        c = per_route.setdefault(r["route"], [0, 0])
        c[0] += r["n"]
        c[1] += r["n"] if r["severity"] == AdverseEvent.Severity.SEVERE else 0
    table_rows = [(route_label(code), routes.get(code, {}).get("dosed", 0), per_route.get(code, [0, 0])[0],
                   per_100(per_route.get(code, [0, 0])[0], routes.get(code, {}).get("dosed", 0)),
                   per_route.get(code, [0, 0])[1])
                  for code in ROUTE_ORDER if code in routes or code in per_route]
    return Section(
        title="Adverse events by route",
        table=Table([Column("route", "Route"), Column("dosed", "Dosed sessions", "sessions"),
                     Column("n", "Adverse events", "events"),
                     Column("rate", "Per 100 dosed sessions", "per 100 sessions"),
                     Column("severe", "Severe", "events")], table_rows),
        chart=Chart("bar", "Route", "Adverse events per 100 dosed sessions",
                    [Series("per 100 dosed sessions", [(r[0], r[3]) for r in table_rows])]),
        notes=["Route: the session's own route (IV infusion, IM injection, esketamine nasal spray). Adverse events "
               "of dosed sessions only: events on sessions never dosed are listed apart under 'Adverse events by "
               "type'."])


def _adverse_by_dose(rows, by_dose) -> Section:
    events: dict[tuple, int] = {}
    for r in rows:
        key = (r["route"], None if r["dose"] is None else Decimal(r["dose"]).normalize())
        events[key] = events.get(key, 0) + r["n"]
    table_rows = []
    order = {code: i for i, code in enumerate(ROUTE_ORDER)}
    for d in sorted(by_dose, key=lambda d: (order.get(d["route"], 99), d["dose"] is None, d["dose"] or 0)):
        if not d["dosed"]:
            continue
        key = (d["route"], None if d["dose"] is None else Decimal(d["dose"]).normalize())
        n = events.get(key, 0)
        table_rows.append((route_label(d["route"]), _band(d["route"], d["dose"]), d["dosed"], n,
                           per_100(n, d["dosed"])))
    return Section(
        title="Adverse events by ordered dose",
        table=Table([Column("route", "Route"), Column("dose", "Dose ordered (mg/kg; esketamine mg)"),
                     Column("dosed", "Dosed sessions", "sessions"), Column("n", "Adverse events", "events"),
                     Column("rate", "Per 100 dosed sessions", "per 100 sessions")], table_rows),
        chart=Chart("bar", "Route and dose", "Adverse events per 100 dosed sessions",
                    [Series("per 100 dosed sessions", [(f"{r[0]} {r[1]}", r[4]) for r in table_rows])]),
        notes=["Each band is one dose the prescriber ordered for the session, exactly as prepared from the order or "
               "its signed titration step (TreatmentSession.dose_mg_per_kg for IV and IM; the esketamine dose in mg, "
               "28 mg per device). No clinical cut-offs are drawn between doses: the bands are the doses the clinic "
               "actually used. Adverse events of dosed sessions only."])


def _excursions(readings, routes, total) -> Section:
    table_rows = []
    for code in ROUTE_ORDER:
        if code not in routes and code not in readings:
            continue
        r = readings.get(code, {})
        held = routes.get(code, {}).get("held", 0)
        table_rows.append((route_label(code), held, r.get("sessions", 0), per_100(r.get("sessions", 0), held),
                           r.get("stop_sessions", 0), per_100(r.get("stop_sessions", 0), held),
                           r.get("predose", 0), r.get("readings", 0)))
    n = sum(r[2] for r in table_rows)
    stops = sum(r[4] for r in table_rows)
    table_rows.append(("All routes", total["held"], n, per_100(n, total["held"]), stops,
                       per_100(stops, total["held"]), sum(r[6] for r in table_rows), sum(r[7] for r in table_rows)))
    return Section(
        title="Vital-sign excursions (HOLD or STOP readings)",
        table=Table([Column("route", "Route"), Column("held", "Sessions held (checked in)", "sessions"),
                     Column("hold", "Sessions with a HOLD or STOP reading", "sessions"),
                     Column("hold_rate", "Per 100 sessions held", "per 100 sessions"),
                     Column("stop", "Sessions with a STOP reading", "sessions"),
                     Column("stop_rate", "STOP per 100 sessions held", "per 100 sessions"),
                     Column("predose", "Of which a pre-dose HOLD/STOP", "sessions"),
                     Column("readings", "HOLD/STOP readings", "readings")], table_rows),
        chart=Chart("bar", "Route", "Sessions per 100 held",
                    [Series("HOLD or STOP", [(r[0], r[3]) for r in table_rows[:-1]]),
                     Series("STOP", [(r[0], r[5]) for r in table_rows[:-1]])]),
        notes=["A reading's level is the clinical core's classification when it was saved (VitalsReading.level; "
               "ketaclinic/clinical/vitals.py Level: HOLD = do not start, or pause; STOP = stop the session). The "
               "level is the worst of the reading's vital signs: blood pressure above the hold limits (systolic > "
               "180 or diastolic > 110 mmHg by default: clinical.md §1 'Thresholds' row, Del Sant 2020, status S) "
               "or the stop limits (> 200/120 mmHg once, or above the hold limits twice 5 min apart: clinical.md "
               "§1 'Thresholds' row, status S), and also heart rate, SpO2 and respiratory rate limits, which are "
               "unconfirmed clinic settings (ketaclinic/clinical/settings.py). Each clinic's own limits at the time "
               "of the reading decided the level.",
               "Denominator: sessions held, i.e. checked in and not cancelled or marked no-show."])


def _paused_stopped(pauses, routes, total) -> Section:
    table_rows = []
    for code in ROUTE_ORDER:
        if code not in routes:
            continue
        p, r = pauses.get(code, {}), routes[code]
        table_rows.append((route_label(code), r["dosed"], p.get("sessions", 0), p.get("automatic", 0),
                           per_100(p.get("sessions", 0), r["dosed"]), r["stopped_early"],
                           per_100(r["stopped_early"], r["dosed"]), r["transferred"],
                           per_100(r["transferred"], r["dosed"])))
    # the per-100 columns of a route with no dosed session are None: only the counts are summed
    paused, automatic = (sum(row[i] for row in table_rows) for i in (2, 3))
    table_rows.append(("All routes", total["dosed"], paused, automatic, per_100(paused, total["dosed"]),
                       total["stopped_early"], per_100(total["stopped_early"], total["dosed"]), total["transferred"],
                       per_100(total["transferred"], total["dosed"])))
    return Section(
        title="Sessions paused, stopped early, transferred to emergency care",
        table=Table([Column("route", "Route"), Column("dosed", "Dosed sessions", "sessions"),
                     Column("paused", "Paused at least once", "sessions"),
                     Column("auto", "Of which paused automatically for vitals", "sessions"),
                     Column("paused_rate", "Paused per 100 dosed", "per 100 sessions"),
                     Column("stopped", "Stopped early (less than prepared given)", "sessions"),
                     Column("stopped_rate", "Stopped early per 100 dosed", "per 100 sessions"),
                     Column("transferred", "Transferred to emergency care", "sessions"),
                     Column("transferred_rate", "Transfers per 100 dosed", "per 100 sessions")], table_rows),
        chart=Chart("bar", "Route", "Sessions per 100 dosed",
                    [Series("paused", [(r[0], r[4]) for r in table_rows[:-1]]),
                     Series("stopped early", [(r[0], r[6]) for r in table_rows[:-1]]),
                     Series("transferred", [(r[0], r[8]) for r in table_rows[:-1]])]),
        notes=["Paused: the session has a 'pause' dosing event (treatments.SessionEvent), entered by the nurse or "
               "recorded automatically for a reading at HOLD or STOP (hold means hold: treatments/services/dose.py "
               "auto_pause_for_reading, ketaclinic.clinical.session.infusion_pause_required; such a pause names "
               "its reading).",
               "Stopped early: dosing ended with less given than was prepared (administered_mg < "
               "prepared_dose_mg). Every dose ends with a 'stop' event, so the event alone does not say a dose was "
               "cut short; the nurse must write why when it is (treatments/services/dose.py dosing_event).",
               "Transferred: the session ended in a transfer to emergency care (status 'transferred', "
               "treatments/services/discharge.py transfer_to_emergency)."])


def _overrides(routes, total) -> Section:
    table_rows = [(route_label(code), r["discharged"], r["overrides"], per_100(r["overrides"], r["discharged"]))
                  for code in ROUTE_ORDER if (r := routes.get(code))]
    table_rows.append(("All routes", total["discharged"], total["overrides"],
                       per_100(total["overrides"], total["discharged"])))
    return Section(
        title="Discharges against the readiness check (prescriber overrides)",
        table=Table([Column("route", "Route"), Column("discharged", "Discharges", "sessions"),
                     Column("overrides", "Discharged with an override", "sessions"),
                     Column("rate", "Overrides per 100 discharges", "per 100 discharges")], table_rows),
        chart=Chart("bar", "Route", "Overrides per 100 discharges",
                    [Series("overrides", [(r[0], r[3]) for r in table_rows[:-1]])]),
        notes=["An override is a discharge home the clinical core did not find ready (ketaclinic/clinical/"
               "discharge.py), made by a prescriber with a written reason (TreatmentSession."
               "discharge_override_reason; treatments/services/discharge.py). No override can waive the hard "
               "limits (escort; esketamine: two hours from the last device, no driving: clinical.md §1 'Escort / "
               "driving', §3c 'Observation', C).",
               "Denominator: sessions discharged home (transfers to emergency care are not discharges)."])


def _ack_hours(clinics: Scope) -> int | None:
    key = "safety.task_acknowledge_hours"
    if key not in clinical_settings.SETTINGS_BY_KEY:
        return None
    return int(clinics.limits()[key])  # type: ignore[arg-type]


def _tasks(filters: ReportFilters, clinics: Scope) -> list[Section]:
    tasks = SafetyTask.objects.filter(in_period("created_at", filters, clinics.tz),
                                      clinics.q("patient__clinic_id")).order_by()
    if filters.diagnosis:
        tasks = tasks.filter(in_group(filters.diagnosis))
    hours = _ack_hours(clinics)
    now = timezone.now()
    late = Q(pk__in=[])
    still_late = Q(pk__in=[])
    if hours is not None:
        expected = timedelta(hours=hours)
        late = Q(status=SafetyTask.Status.ACKNOWLEDGED, acknowledged_at__gt=F("created_at") + expected)
        still_late = Q(status=SafetyTask.Status.OPEN, created_at__lt=now - expected)
    rows = list(tasks.annotate(raised_by=Case(When(administration__isnull=False, then=Value("Questionnaire answer")),
                                              default=F("origin"))).values("raised_by", "flag_code").annotate(
        n=Count("pk"), open=Count("pk", filter=Q(status=SafetyTask.Status.OPEN)),
        acked=Count("pk", filter=Q(status=SafetyTask.Status.ACKNOWLEDGED)),
        late=Count("pk", filter=late), open_late=Count("pk", filter=still_late),
    ).order_by("raised_by", "flag_code"))
    table_rows = [(r["raised_by"] or "Other", r["flag_code"], r["n"], r["acked"], r["open"],
                   r["late"] if hours is not None else None, r["open_late"] if hours is not None else None)
                  for r in rows]
    totals = [sum(r[i] for r in table_rows) for i in (2, 3, 4)]
    table_rows.append(("All", "", *totals, sum(r["late"] for r in rows) if hours is not None else None,
                       sum(r["open_late"] for r in rows) if hours is not None else None))
    acked = tasks.filter(status=SafetyTask.Status.ACKNOWLEDGED, acknowledged_at__isnull=False).annotate(
        wait=duration("acknowledged_at", "created_at"))
    n, median, p90 = percentiles(acked, "wait")
    expect = (f"Late: acknowledged more than {hours} hours after the task was raised; still open past it: open "
              f"longer than {hours} hours now. The expected time is the clinic setting "
              f"'safety.task_acknowledge_hours' ({clinical_settings.spec('safety.task_acknowledge_hours').source})."
              if hours is not None else
              "No clinic setting gives an expected time to acknowledge a safety task, so no task is called late "
              "(the late columns are empty).")
    common = [not_applied(filters, "prescriber", "room", "route"),
              "Counted by the day the task was raised (clinic-local); a task is never deleted, and no task is "
              "entered in error: an acknowledged task stays acknowledged (measures.SafetyTask)."]
    count_section = Section(
        title="Suicidality tasks by origin and flag",
        table=Table([Column("origin", "Raised by"), Column("flag", "Flag"), Column("n", "Tasks", "tasks"),
                     Column("acked", "Acknowledged", "tasks"), Column("open", "Still open", "tasks"),
                     Column("late", "Acknowledged late", "tasks"), Column("open_late", "Open past the expected time",
                                                                          "tasks")], table_rows),
        chart=Chart("bar", "Flag", "Tasks", [Series("tasks", [(f"{r[0]}: {r[1]}", r[2]) for r in table_rows[:-1]]),
                                             Series("still open", [(f"{r[0]}: {r[1]}", r[4])
                                                                   for r in table_rows[:-1]])]),
        notes=notes("A task is raised by a questionnaire's safety answer (PHQ-9 item 9 > 0, QIDS-SR16 item 12, "
                    "C-SSRS high risk: clinical.md §4 rows; the flag names the rule) or by words of self-harm in a "
                    "patient's secure message (ketaclinic/clinical/messages.py; 'Raised by' says where).",
                    expect, *common))

    def hrs(seconds):
        return None if seconds is None else round(seconds / 3600, 1)

    time_section = Section(
        title="Time to acknowledge a suicidality task",
        table=Table([Column("n", "Tasks acknowledged", "tasks"), Column("median", "Median", "hours"),
                     Column("p90", "90th percentile", "hours"),
                     Column("expected", "Expected within", "hours")],
                    [(n, hrs(median), hrs(p90), hours)]),
        chart=Chart("bar", "Statistic", "Hours to acknowledgement",
                    [Series("hours", [("median", hrs(median)), ("90th percentile", hrs(p90))])]),
        notes=notes("Time from the task being raised (SafetyTask.created_at) to a clinician acknowledging it with "
                    "what they did (acknowledged_at; measures/services.py acknowledge_safety_task), over the tasks "
                    "raised in the period and acknowledged so far. Median: the middle value (the mean of the two "
                    "middle values for an even count); 90th percentile: the nearest-rank value (the ceil(0.9 n)-th "
                    "shortest). Open tasks are not in these figures: see 'Still open' above.", *common))
    return [count_section, time_section]
