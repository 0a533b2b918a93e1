"""The database side of the Outcomes report: one row per patient's induction series, every figure a column.

A row is a patient's **induction order**: their first treatment order that is neither a draft nor entered in error,
by creation (``measures.dosing_sessions.first_order_id``, filled in by ``treatments/providers.py``), once every
session of it that was not called off (cancelled, no-show) has its dose given (``dose_given``: the dose ended, or
discharged, or transferred to emergency care). The end of induction is the last dosed session of that order, its
moment read as ``measures.services._session_day`` reads it (dose end, else discharge, else transfer, else dose
start, else the booked start). This is ``measures.services.induction_end`` in SQL, before any booster (a later
order moves the booster prompt's reference point, not the end of the induction series).

Scores: finalised (final or amended) administrations with a total; drafts and entered-in-error ones never count.
The baseline is the last such score on the row's scale at or before the first dosed session started; the score
after induction is the first one after the last induction session ended, within the clinic setting
``outcomes.after_induction_window_days``.

How it is computed (set-based, so the work grows with the rows, never with rows x rows): one SQL statement of
common table expressions that SQLite and PostgreSQL both run, every value bound as a parameter:

- ``ord``: each patient's first order (ROW_NUMBER over the patient's orders by creation);
- ``ind``: the sessions of those orders aggregated once per order (GROUP BY): the first dose start and last end
  over the dosed sessions, and whether any session is still pending;
- ``grp``: each patient's report group, the best rank over their live diagnoses (GROUP BY);
- ``sc`` / ``i9``: the row's scores (and PHQ-9 item 9 answers) in time order per row, with the moment of the
  score before and after each (LAG / LEAD): the baseline is the score at or before the first dose start whose next
  one is later; the score after induction the first after the end whose previous one is not.

The durability query reads the responders' later scores in one more window pass: the lowest total so far
(MIN ... OVER, whose default frame takes every score at or before this one's moment) gives the booster prompt rule
without comparing each score with every earlier one.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.db import connection, connections, router
from django.utils.dateparse import parse_datetime

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.clinical.outcomes import RELAPSE_KEY, RESPONSE_KEY
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.measures.models import Administration, ItemAnswer
from ketaclinic.patients.models import Diagnosis, Patient
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.scope import Scope
from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession
from ketaclinic.treatments.providers import CALLED_OFF, DOSE_GIVEN

COUNTED = (Administration.Status.FINAL, Administration.Status.AMENDED)
NOT_ORDERS = (TreatmentOrder.Status.ENTERED_IN_ERROR, TreatmentOrder.Status.DRAFT)
#: Group rank (1-based position in the core's PRIORITY, "other" last) -> group.
GROUP_BY_RANK = dict(enumerate(dg.GROUPS, 1))
RANK = {g: r for r, g in GROUP_BY_RANK.items()}
#: PHQ-9 item 9 ("thoughts that you would be better off dead, or of hurting yourself"): ketaclinic.clinical.scales
PHQ9_ITEM9 = "q9"
#: The scales the report reads (one per diagnosis group), in order.
REPORT_SCALES = tuple(dict.fromkeys(dg.SCALE.values()))

#: The columns of every induction row (the SELECT of ``rows_sql``), in order.
ROW_COLUMNS = ("id", "patient_id", "route", "dose_mg_per_kg", "fixed_dose_mg", "signed_by_id", "group_rank",
               "scale", "first_start", "last_end", "window_end", "base_total", "post_total", "resp_rhs",
               "base_item9", "post_item9")


def day_start(day, tz) -> datetime:
    return wall_clock_moment(day, time(0, 0), tz) or datetime.combine(day, time(0, 0), tzinfo=tz)


def _in(values) -> tuple[str, list]:
    values = [str(v) for v in values]
    return ", ".join(["%s"] * len(values)), values


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _plus_days(sql: str, days: int) -> tuple[str, list]:
    """``sql`` (a moment) plus whole days, as each backend adds a duration to a moment."""
    if connection.vendor == "sqlite":  # Django's own function for datetime + duration (microseconds)
        return f"django_format_dtdelta('+', {sql}, %s)", [int(timedelta(days=days) / timedelta(microseconds=1))]
    return f"({sql} + %s)", [timedelta(days=days)]


def _local_date(sql: str, tz) -> tuple[str, list]:
    """The clinic-local calendar day of the moment ``sql`` (what TruncDate(tzinfo=tz) writes)."""
    out, params = connection.ops.datetime_cast_date_sql(sql, (), str(tz))
    return out, list(params)


def _case_by_scale(column: str, values: dict, default) -> tuple[str, list]:
    """CASE column WHEN scale THEN value ... ELSE default END, every scale and value a parameter."""
    parts, params = [], []
    for scale, value in values.items():
        parts.append("WHEN %s THEN %s")
        params += [scale, value]
    return f"(CASE {column} {' '.join(parts)} ELSE %s END)", [*params, default]


def rows_ctes(filters: ReportFilters, limits: dict, tz, clinics: Scope) -> tuple[str, list]:
    """The common table expressions ending in ``ir``: one row per patient whose induction series is over, with
    the filters applied, its columns ``ROW_COLUMNS``: ``group_rank``, ``scale``, ``first_start``, ``last_end``,
    ``window_end`` (the end of the after-induction window), ``base_total``, ``post_total``, ``resp_rhs`` (response
    when 100 x after-score <= resp_rhs), ``base_item9``, ``post_item9``, and the order's own ``route``,
    ``dose_mg_per_kg``, ``fixed_dose_mg`` and ``signed_by_id``."""
    window = int(limits["outcomes.after_induction_window_days"])
    params: list = []

    clinic_in, clinic_ids = clinics.sql_in("p.clinic_id")
    # each patient's first order (not a draft, not entered in error), by creation
    not_orders, p = _in(NOT_ORDERS)
    params += p
    order_where = []
    if filters.prescriber_id:
        order_where.append("signed_by_id = %s")
    if filters.route:
        order_where.append("route = %s")
    # (an anti-join, not ROW_NUMBER() = 1: PostgreSQL estimates an anti-join from its statistics, but guesses a
    # filter on a window's output at 0.5% of the rows, and then plans every later join for a handful of patients)
    ord_sql = (f"ord AS (SELECT o.id, o.patient_id, o.route, o.dose_mg_per_kg, o.fixed_dose_mg, o.signed_by_id "
               f"FROM {_t(TreatmentOrder)} o WHERE o.status NOT IN ({not_orders}) AND NOT EXISTS (SELECT 1 FROM "
               f"{_t(TreatmentOrder)} e WHERE e.patient_id = o.patient_id AND e.status NOT IN ({not_orders}) "
               f"AND (e.created_at < o.created_at OR (e.created_at = o.created_at AND e.id < o.id)))"
               + "".join(f" AND o.{w}" for w in order_where)
               # the clinic's own patients (a report is one clinic's, or a pool of a network's: reports/scope.py)
               + f" AND o.patient_id IN (SELECT p.id FROM {_t(Patient)} p WHERE {clinic_in}))")
    params += p
    if filters.prescriber_id:
        params.append(filters.prescriber_id)
    if filters.route:
        params.append(filters.route)
    params += clinic_ids

    # the sessions of those orders, once: first dose start and last end of the dosed ones, any still pending
    called_off, p_off = _in(CALLED_OFF)
    given, p_given = _in(DOSE_GIVEN)
    open_, p_open = _in(CALLED_OFF + DOSE_GIVEN)
    dosed = f"(s.status NOT IN ({called_off}) AND (s.dose_ended_at IS NOT NULL OR s.status IN ({given})))"
    p_dosed = p_off + p_given
    start = "COALESCE(s.dose_started_at, s.scheduled_start)"
    end = "COALESCE(s.dose_ended_at, s.discharged_at, s.transferred_at, s.dose_started_at, s.scheduled_start)"
    room = ""
    p_room: list = []
    if filters.room_id:  # the room the first dosed session was booked in
        room = f", MIN(CASE WHEN {dosed} AND s.room_id = %s THEN {start} END) AS room_start"
        p_room = [*p_dosed, filters.room_id]
    # (every order's sessions, grouped once: restricted to ``ord``'s orders, the CTE would be read twice and
    # PostgreSQL, without its statistics, would expect millions of rows from the joins after it)
    ind_sql = (f"ind AS (SELECT s.order_id, MIN(CASE WHEN {dosed} THEN {start} END) AS first_start, "
               f"MAX(CASE WHEN {dosed} THEN {end} END) AS last_end{room}, "
               f"MAX(CASE WHEN s.status NOT IN ({open_}) AND s.dose_ended_at IS NULL THEN 1 ELSE 0 END) AS pending "
               f"FROM {_t(TreatmentSession)} s GROUP BY s.order_id)")
    params += [*p_dosed, *p_dosed, *p_room, *p_open]

    # each patient's one report group: the best rank over their live diagnoses
    whens = []
    for g in dg.PRIORITY:
        whens.append("WHEN " + " OR ".join(["d.code LIKE %s"] * len(dg.PREFIXES[g])) + " THEN %s")
        params += [*(f"{_like_escape(px)}%" for px in dg.PREFIXES[g]), RANK[g]]
    grp_sql = (f"grp AS (SELECT d.patient_id, MIN(CASE {' '.join(whens)} ELSE %s END) AS r "
               f"FROM {_t(Diagnosis)} d WHERE d.status <> %s GROUP BY d.patient_id)")
    params += [RANK[dg.OTHER], str(Diagnosis.Status.ENTERED_IN_ERROR)]

    # the rows before their scores, every filter applied: as ONE opaque condition (IS NOT NULL of a CASE), which
    # PostgreSQL estimates to keep nearly every row; each condition on an aggregate's output on its own is
    # guessed at 0.5% of the rows (it has no statistics for them), and a join planned for a handful of rows
    # probes the scores one patient at a time. Over-estimating only costs a hash join.
    scale_case, p_scale = _case_by_scale("COALESCE(g.r, %s)", {RANK[g]: dg.SCALE[g] for g in dg.GROUPS}, "phq9")
    window_end, p_window = _plus_days("i.last_end", window)
    where, p_where = ["i.first_start IS NOT NULL", "i.pending = 0"], []
    if filters.start:
        where.append("i.first_start >= %s")
        p_where.append(connection.ops.adapt_datetimefield_value(day_start(filters.start, tz)))
    if filters.end:
        where.append("i.first_start < %s")
        p_where.append(connection.ops.adapt_datetimefield_value(day_start(filters.end + timedelta(days=1), tz)))
    if filters.room_id:
        where.append("i.room_start = i.first_start")
    if filters.diagnosis:
        where.append("COALESCE(g.r, %s) = %s")
        p_where += [RANK[dg.OTHER], RANK.get(filters.diagnosis, 0)]
    base_sql = (f"base AS (SELECT o.id, o.patient_id, o.route, o.dose_mg_per_kg, o.fixed_dose_mg, o.signed_by_id, "
                f"COALESCE(g.r, %s) AS group_rank, {scale_case} AS scale, i.first_start, i.last_end, "
                f"{window_end} AS window_end "
                f"FROM ord o JOIN ind i ON i.order_id = o.id LEFT JOIN grp g ON g.patient_id = o.patient_id "
                f"WHERE (CASE WHEN {' AND '.join(where)} THEN 1 END) IS NOT NULL)")
    params += [RANK[dg.OTHER], RANK[dg.OTHER], *p_scale, *p_window, *p_where]

    # the row's scores in time order, each with the moments of its neighbours: the baseline is the last at or
    # before the first dose start, the score after induction the first after the end (within the window). Only
    # the scores of those two spans are read: between them there are none the two picks could see (the score
    # after a baseline is later than the first dose start, the score before the first after the end is not after
    # the end), so the neighbours within the two spans decide the same.
    counted, p_counted = _in(COUNTED)
    # one pass over the scores for both: the row's scale, and PHQ-9 with its item 9 answer
    j_sql = (f"j AS (SELECT b.id AS rid, b.scale AS row_scale, a.scale, a.id AS aid, a.administered_at AS t_at, "
             f"a.total, ia.value AS item9, b.first_start, b.last_end, b.window_end "
             f"FROM base b JOIN {_t(Administration)} a ON a.patient_id = b.patient_id "
             f"LEFT JOIN {_t(ItemAnswer)} ia ON ia.administration_id = a.id AND ia.item_id = %s "
             f"WHERE (a.scale = b.scale OR a.scale = %s) AND a.status IN ({counted}) AND a.total IS NOT NULL "
             f"AND (a.administered_at <= b.first_start OR (a.administered_at > b.last_end "
             f"AND a.administered_at <= b.window_end)))")
    params += [PHQ9_ITEM9, "phq9", *p_counted]
    sc_sql = ("sc AS (SELECT rid, t_at, total, first_start, last_end, window_end, "
              "LAG(t_at) OVER w AS prev_at, LEAD(t_at) OVER w AS next_at FROM j WHERE scale = row_scale "
              "WINDOW w AS (PARTITION BY rid ORDER BY t_at, aid))")
    i9_sql = ("i9 AS (SELECT rid, t_at, item9 AS total, first_start, last_end, window_end, "
              "LAG(t_at) OVER w AS prev_at, LEAD(t_at) OVER w AS next_at FROM j WHERE scale = %s "
              "AND item9 IS NOT NULL WINDOW w AS (PARTITION BY rid ORDER BY t_at, aid))")
    params += ["phq9"]
    pick = ("MAX(CASE WHEN t_at <= first_start AND (next_at IS NULL OR next_at > first_start) THEN total END) AS before_v, "
            "MAX(CASE WHEN t_at > last_end AND t_at <= window_end AND (prev_at IS NULL OR prev_at <= last_end) "
            "THEN total END) AS after_v")
    pct_case, p_pct = _case_by_scale("b.scale", {s: float(limits[k]) for s, k in RESPONSE_KEY.items()}, None)
    rows_sql = (f"ir AS (SELECT b.id, b.patient_id, b.route, b.dose_mg_per_kg, b.fixed_dose_mg, b.signed_by_id, "
                f"b.group_rank, b.scale, b.first_start, b.last_end, b.window_end, t.before_v AS base_total, "
                f"t.after_v AS post_total, (100.0 - {pct_case}) * t.before_v AS resp_rhs, "
                f"n.before_v AS base_item9, n.after_v AS post_item9 FROM base b "
                f"LEFT JOIN (SELECT rid, {pick} FROM sc GROUP BY rid) t ON t.rid = b.id "
                f"LEFT JOIN (SELECT rid, {pick} FROM i9 GROUP BY rid) n ON n.rid = b.id)")
    params += p_pct
    return "WITH " + ", ".join([ord_sql, ind_sql, grp_sql, base_sql, j_sql, sc_sql, i9_sql, rows_sql]), params


def _like_escape(prefix: str) -> str:
    if any(c in prefix for c in "%_\\"):
        raise ValueError(f"a diagnosis prefix with a LIKE wildcard: {prefix!r}")
    return prefix


def responded_sql() -> str:
    """Response after induction, as ``clinical.outcomes.assess_change`` decides it: a baseline above 0 and a fall
    of at least the scale's response percent (100 x (base - after) >= pct x base, i.e. 100 x after <= (100 - pct)
    x base)."""
    return "(r.base_total > 0 AND r.post_total IS NOT NULL AND r.post_total * 100 <= r.resp_rhs)"


def remitted_sql(limits: dict) -> tuple[str, list]:
    """Remission as ``assess_change`` decides it: PHQ-9 total <= outcomes.phq9_remission_max; PCL-5 below
    outcomes.pcl5_cutpoint; GAD-7 has no remission rule in the reference (never counted)."""
    return ("((r.scale = %s AND r.post_total <= %s) OR (r.scale = %s AND r.post_total < %s))",
            ["phq9", int(limits["outcomes.phq9_remission_max"]), "pcl5", int(limits["outcomes.pcl5_cutpoint"])])


MEASURES = ("n", "assessed", "responders", "remission_rule", "remitters", "si_paired", "si_before", "si_after",
            "si_resolved")


def figures(filters: ReportFilters, limits: dict, tz, clinics: Scope) -> tuple[list[dict], list[tuple]]:
    """One query, whatever the data, giving back (cells, responders):

    - cells: for each cell (group rank, route, ordered dose) of the induction rows, the counts of every measure of
      the response and item 9 sections (``MEASURES``): few (groups x routes x ordered doses), whatever the number
      of patients;
    - responders: for each responder, (scale, end of induction, first retreatment, first score no longer
      responding, first score at which the booster prompt rule fires, last score):

      - First retreatment: the start of the patient's first dose after the end of induction (``dose_started_at``
        after ``last_end``, any order: a booster or a maintenance dose), from the sessions by patient.
      - No longer responding: the first finalised score on the row's scale after the end of induction that fails
        the response rule against the baseline (100 x total > resp_rhs).
      - Booster prompt rule (``clinical.outcomes.relapse_after_induction``): among the scores dated (clinic-local
        day) on or after the day induction ended, the first whose total is at least the scale's rise setting
        (``RELAPSE_KEY``; 0 = not set) above some score of that span at or before it, i.e. above the lowest so far
        (a running MIN whose frame is every score at or before this one's moment, ties included). Meaningless
        where the rise is 0: the caller leaves those scales out.

    Both come from the same induction rows (``rows_ctes``), so they are worked out once: the two answers are the
    two halves of a UNION ALL, told apart by its first column."""
    ctes, params = rows_ctes(filters, limits, tz, clinics)
    assessed = "r.base_total IS NOT NULL AND r.post_total IS NOT NULL"
    remit, p_remit = remitted_sql(limits)
    measures = [
        ("n", "1 = 1", []),
        ("assessed", assessed, []),
        ("responders", responded_sql(), []),
        ("remission_rule", f"{assessed} AND r.scale <> %s", ["gad7"]),
        ("remitters", f"{assessed} AND {remit}", p_remit),
        ("si_paired", "r.base_item9 IS NOT NULL AND r.post_item9 IS NOT NULL", []),
        ("si_before", "r.base_item9 > 0 AND r.post_item9 IS NOT NULL", []),
        ("si_after", "r.base_item9 IS NOT NULL AND r.post_item9 > 0", []),
        ("si_resolved", "r.base_item9 > 0 AND r.post_item9 = 0", []),
    ]
    assert tuple(m[0] for m in measures) == MEASURES
    counted, p_counted = _in(COUNTED)
    called_off, p_off = _in(CALLED_OFF)
    score_day, p_score_day = _local_date("a.administered_at", tz)
    end_day, p_end_day = _local_date("r.last_end", tz)
    rise, p_rise = _case_by_scale("r.scale", {s: int(limits[k]) for s, k in RELAPSE_KEY.items()}, 0)
    sql = (f"{ctes}, resp AS (SELECT r.id, r.patient_id, r.scale, r.last_end, r.resp_rhs, {rise} AS rise "
           f"FROM ir r WHERE {responded_sql()}), "
           f"span AS (SELECT r.id AS rid, a.administered_at AS t_at, a.total, r.last_end, r.resp_rhs, r.rise, "
           f"MIN(a.total) OVER (PARTITION BY r.id ORDER BY a.administered_at) AS lowest "
           f"FROM resp r JOIN {_t(Administration)} a ON a.patient_id = r.patient_id AND a.scale = r.scale "
           f"WHERE a.status IN ({counted}) AND a.total IS NOT NULL AND {score_day} >= {end_day}), "
           f"later AS (SELECT rid, "
           f"MIN(CASE WHEN t_at > last_end AND total * 100 > resp_rhs THEN t_at END) AS lost_at, "
           f"MIN(CASE WHEN rise > 0 AND total - lowest >= rise THEN t_at END) AS relapse_at, "
           f"MAX(CASE WHEN t_at > last_end THEN t_at END) AS last_at FROM span GROUP BY rid), "
           f"retreat AS (SELECT r.id AS rid, MIN(s.dose_started_at) AS t_at FROM resp r "
           f"JOIN {_t(TreatmentSession)} s ON s.patient_id = r.patient_id "
           f"WHERE s.dose_started_at > r.last_end AND s.status NOT IN ({called_off}) GROUP BY r.id) "
           f"SELECT 0, r.group_rank, r.route, r.dose_mg_per_kg, r.fixed_dose_mg, "
           + ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for _, cond, _ in measures)
           + ", NULL, NULL, NULL, NULL, NULL, NULL FROM ir r "
           "GROUP BY r.group_rank, r.route, r.dose_mg_per_kg, r.fixed_dose_mg "
           "UNION ALL SELECT 1, NULL, NULL, NULL, NULL, " + ", ".join(["NULL"] * len(measures))
           + ", r.scale, r.last_end, t.t_at, l.lost_at, l.relapse_at, l.last_at FROM resp r "
           "LEFT JOIN retreat t ON t.rid = r.id LEFT JOIN later l ON l.rid = r.id")
    params += [*p_rise, *p_counted, *p_score_day, *p_end_day, *p_off]
    for _, _, p in measures:
        params += p
    with connections[router.db_for_read(TreatmentSession)].cursor() as cur:  # the replica inside on_replica
        cur.execute(sql, params)
        out = cur.fetchall()
    n = len(measures)
    cells = [{"group_rank": r[1], "route": r[2], "dose_mg_per_kg": r[3], "fixed_dose_mg": r[4],
              **{m: int(v or 0) for m, v in zip(MEASURES, r[5:5 + n], strict=True)}} for r in out if r[0] == 0]
    responders = [(r[5 + n], *(_moment(v) for v in r[6 + n:])) for r in out if r[0] == 1]
    return cells, responders


def _moment(v):
    """A moment as the backend gives it back from raw SQL: an aware datetime (PostgreSQL), or text in UTC
    (SQLite, where an expression's type is not known to the driver)."""
    if v is None or isinstance(v, datetime):
        return v
    parsed = parse_datetime(str(v))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
