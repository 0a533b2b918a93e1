"""What the safety, operations and money reports share: the period, the filters, percentiles, rates and notes.

The diagnosis-group filter is the core's one-group rule (``ketaclinic.clinical.diagnosis_groups``): a patient is in
exactly ONE group, the first of ``PRIORITY`` (bipolar, unipolar, PTSD, anxiety) any of their diagnoses not entered
in error falls in, and "other" when none does. It is the same rule the outcomes report and the research export
apply (``outcome_queries.group_rank``), written here as EXISTS / NOT EXISTS conditions so that a report filtered by
group stays a semi-join the database answers from the diagnoses' patient index.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import connection, connections
from django.db.models import DurationField as DurationOut
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.patients.models import Diagnosis
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.scope import Scope
from ketaclinic.treatments.models import Route, TreatmentSession

ROUTE_ORDER = [r.value for r in Route]


# ------------------------------------------------------------------------------------------ diagnosis group
def _code_q(prefixes) -> Q:
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(code__startswith=p)  # codes are stored upper-case (patients/services.py add_diagnosis)
    return q


def in_group(group: str, patient_ref: str = "patient") -> Q:
    """A condition on the query's patient (``patient_ref``: the path to the patient's id from the query's model,
    e.g. "patient", "invoice__patient", "pk") that their ONE report group is ``group`` by the core's rule
    (``diagnosis_groups.group_of_patient``): they have a live diagnosis (not entered in error) of ``group`` and
    none of a group before it in ``PRIORITY``; "other": none of any group (or no diagnosis at all). An unknown
    group selects nobody."""
    live = Diagnosis.objects.filter(patient=OuterRef(patient_ref)).exclude(status=Diagnosis.Status.ENTERED_IN_ERROR)

    def has(g: str) -> Exists:
        return Exists(live.filter(_code_q(dg.PREFIXES[g])))

    if group == dg.OTHER:
        q = Q()
        for g in dg.PRIORITY:
            q &= ~has(g)
        return q
    if group not in dg.PRIORITY:
        return Q(pk__in=[])
    q = Q(has(group))
    for g in dg.PRIORITY[: dg.PRIORITY.index(group)]:
        q &= ~has(g)
    return q


DIAGNOSIS_NOTE = (
    "Diagnosis group: each patient is in ONE group, the first of "
    + ", ".join(f"{dg.LABELS[g]}" for g in dg.PRIORITY)
    + " that a diagnosis on their chart (not entered in error) falls in; 'other' is a patient with none of these "
    "(ketaclinic/clinical/diagnosis_groups.py; the same rule as the outcomes report and the research export).")
#: What the prescriber and room filters of a report over treatment sessions (:func:`session_q`) select.
SESSION_FILTERS_NOTE = ("Prescriber: the prescriber who signed the session's treatment order. Room: the room the "
                        "session was booked in.")


# ------------------------------------------------------------------------------------------------ the period
def day_start(day: date, tz) -> datetime:
    """The first moment of the clinic-local ``day``."""
    from ketaclinic.inputs import wall_clock_moment

    return wall_clock_moment(day, time(0, 0), tz) or datetime.combine(day, time(0, 0), tzinfo=tz)


def period(filters: ReportFilters, tz) -> tuple[datetime | None, datetime | None]:
    """[from, until): the moments bounding the clinic-local days start..end (inclusive)."""
    since = day_start(filters.start, tz) if filters.start else None
    until = day_start(filters.end + timedelta(days=1), tz) if filters.end else None
    return since, until


def in_period(field: str, filters: ReportFilters, tz) -> Q:
    since, until = period(filters, tz)
    q = Q()
    if since is not None:
        q &= Q(**{f"{field}__gte": since})
    if until is not None:
        q &= Q(**{f"{field}__lt": until})
    return q


def session_q(filters: ReportFilters, scope: Scope, prefix: str = "", *, dated: bool = True,
              clinic: str | None = None) -> Q:
    """Every filter on a treatment session (``prefix``: the path to the session, e.g. "session__"): its clinic
    (a report is one clinic's, or a pool of a network's clinics: reports/scope.py), its clinic-local day, the
    prescriber who signed its order, its room, its route. ``clinic``: the path to the clinic's id when the query's
    own record names the session's patient (an integration offer's ``patient__clinic_id``), so that a report with no
    other session filter does not join every session only to find its clinic."""
    q = scope.q(clinic or f"{prefix}patient__clinic_id")
    if dated:
        q &= in_period(f"{prefix}scheduled_start", filters, scope.tz)
    if filters.prescriber_id:
        q &= Q(**{f"{prefix}order__signed_by_id": filters.prescriber_id})
    if filters.room_id:
        q &= Q(**{f"{prefix}room_id": filters.room_id})
    if filters.route:
        q &= Q(**{f"{prefix}route": filters.route})
    return q


def sessions(filters: ReportFilters, scope: Scope, *, dated: bool = True) -> QuerySet:
    """The treatment sessions of the scope's clinics the filters select (cancelled ones included: each figure says
    what it counts)."""
    qs = TreatmentSession.objects.filter(session_q(filters, scope, dated=dated))
    if filters.diagnosis:
        qs = qs.filter(in_group(filters.diagnosis))
    return qs.order_by()


# ---------------------------------------------------------------------------------------------- statistics
def percentiles(qs: QuerySet, column: str) -> tuple[int, object, object]:
    """(n, median, 90th percentile) of ``column`` over the rows of ``qs``, in one query that works on SQLite and
    PostgreSQL alike: the rows numbered in order of the value and counted with window functions, and only the
    middle row(s) and the nearest-rank 90th percentile row (rank ceil(0.9 n)) read back. The median of an even
    count is the mean of the two middle values."""
    inner, params = qs.values(column).query.sql_with_params()
    sql = (f"SELECT v, rn, n FROM (SELECT r.{column} AS v, ROW_NUMBER() OVER (ORDER BY r.{column}) AS rn, "
           f"COUNT(*) OVER () AS n FROM ({inner}) r WHERE r.{column} IS NOT NULL) ranked "
           f"WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 OR rn = (9 * n + 9) / 10")
    with connections[qs.db].cursor() as cur:  # where the queryset reads (the replica inside on_replica)
        cur.execute(sql, params)
        rows = cur.fetchall()
    if not rows:
        return 0, None, None
    n = int(rows[0][2])
    value = {int(rn): _as_seconds(v) for v, rn, _ in rows}
    middle = [value[(n + 1) // 2], value[(n + 2) // 2]]
    return n, sum(middle) / 2, value[(9 * n + 9) // 10]


def _as_seconds(v) -> float:
    """A duration as the database gives it back (an interval on PostgreSQL, microseconds on SQLite), or a plain
    number, as a float (seconds for a duration)."""
    if isinstance(v, timedelta):
        return v.total_seconds()
    if connection.vendor == "sqlite" and isinstance(v, int):  # django_timestamp_diff: microseconds
        return v / 1_000_000
    return float(v)


def duration(a: str, b: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(a) - F(b), output_field=DurationOut())


def per_100(count: int, of: int) -> float | None:
    return None if not of else round(100 * count / of, 1)


def pct(count: int, of: int) -> float | None:
    return per_100(count, of)


# --------------------------------------------------------------------------------------------------- notes
def not_applied(filters: ReportFilters, *names: str) -> str:
    """A note naming the filters the user set that a section cannot apply (empty when none is set)."""
    labels = {"prescriber": "prescriber", "room": "room", "route": "route", "diagnosis": "diagnosis group",
              "dates": "date range"}
    on = {"prescriber": filters.prescriber_id, "room": filters.room_id, "route": filters.route,
          "diagnosis": filters.diagnosis, "dates": filters.start or filters.end}
    set_ = [labels[n] for n in names if on[n]]
    return f"Filter not applied here: {', '.join(set_)} (these records have none)." if set_ else ""


def notes(*lines: str) -> list[str]:
    return [x for x in lines if x]


def route_label(code: str) -> str:
    return Route(code).label if code in Route.values else code
