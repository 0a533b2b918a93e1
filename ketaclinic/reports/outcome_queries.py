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

Every column is a correlated subquery that the index ``admin_patient_scale`` (patient, scale, status,
administered_at), the sessions' ``order_id`` index or the sessions by patient serve, so the work per patient is a
few index probes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import GreaterThan

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.clinical.outcomes import RELAPSE_KEY, RESPONSE_KEY
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.measures.models import Administration, ItemAnswer
from ketaclinic.patients.models import Diagnosis
from ketaclinic.reports.base import ReportFilters
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

START = Coalesce("dose_started_at", "scheduled_start")
END = Coalesce("dose_ended_at", "discharged_at", "transferred_at", "dose_started_at", "scheduled_start")


def day_start(day, tz) -> datetime:
    return wall_clock_moment(day, time(0, 0), tz) or datetime.combine(day, time(0, 0), tzinfo=tz)


def _dosed(sessions: QuerySet) -> QuerySet:
    return sessions.exclude(status__in=CALLED_OFF).filter(Q(dose_ended_at__isnull=False) | Q(status__in=DOSE_GIVEN))


def _code_q(prefixes) -> Q:
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(code__startswith=p)
    return q


def group_rank() -> Coalesce:
    """The patient's one report group as its rank (the core's rule: the first of PRIORITY any of their diagnoses
    not entered in error falls in), in one subquery."""
    rank = Case(*[When(_code_q(dg.PREFIXES[g]), then=Value(RANK[g])) for g in dg.PRIORITY],
                default=Value(RANK[dg.OTHER]), output_field=IntegerField())
    best = (Diagnosis.objects.filter(patient_id=OuterRef("patient_id"))
            .exclude(status=Diagnosis.Status.ENTERED_IN_ERROR)
            .annotate(r=rank).order_by("r").values("r")[:1])
    return Coalesce(Subquery(best, output_field=IntegerField()), Value(RANK[dg.OTHER]))


def _scores(scale, **where) -> QuerySet:
    return Administration.objects.filter(patient_id=OuterRef("patient_id"), scale=scale, status__in=COUNTED,
                                         total__isnull=False, **where)


def _item9(*, earliest: bool, **where) -> Subquery:
    qs = (ItemAnswer.objects.filter(item_id=PHQ9_ITEM9, administration__patient_id=OuterRef("patient_id"),
                                    administration__scale="phq9", administration__status__in=COUNTED,
                                    administration__total__isnull=False,
                                    **{f"administration__{k}": v for k, v in where.items()}))
    order = ("administration__administered_at", "administration_id") if earliest else (
        "-administration__administered_at", "-administration_id")
    return Subquery(qs.order_by(*order).values("value")[:1], output_field=IntegerField())


def induction_rows(filters: ReportFilters, limits: dict, tz) -> QuerySet:
    """One row per patient whose induction series is over, with the filters applied, annotated with:
    ``group_rank``, ``scale``, ``first_start``, ``last_end``, ``base_total``, ``post_total``, ``resp_rhs``
    (response when 100 x after-score <= resp_rhs), ``base_item9``, ``post_item9``; the order's own columns give
    ``route``, ``dose_mg_per_kg``, ``fixed_dose_mg`` and ``signed_by_id``."""
    window = timedelta(days=int(limits["outcomes.after_induction_window_days"]))
    first_order = (TreatmentOrder.objects.filter(patient_id=OuterRef("patient_id")).exclude(status__in=NOT_ORDERS)
                   .order_by("created_at", "pk").values("pk")[:1])
    of_order = TreatmentSession.objects.filter(order_id=OuterRef("pk"))
    dosed = _dosed(of_order)
    pending = of_order.exclude(status__in=CALLED_OFF + DOSE_GIVEN).filter(dose_ended_at__isnull=True)
    pct = Case(*[When(scale=s, then=Value(float(limits[k]))) for s, k in RESPONSE_KEY.items()],
               output_field=FloatField())
    qs = (TreatmentOrder.objects.exclude(status__in=NOT_ORDERS)
          .filter(pk=Subquery(first_order))
          .filter(Exists(dosed)).exclude(Exists(pending)))
    if filters.prescriber_id:
        qs = qs.filter(signed_by_id=filters.prescriber_id)
    if filters.route:
        qs = qs.filter(route=filters.route)
    qs = qs.annotate(
        group_rank=group_rank(),
        scale=Case(When(group_rank=RANK["ptsd"], then=Value(dg.SCALE["ptsd"])),
                   When(group_rank=RANK["anxiety"], then=Value(dg.SCALE["anxiety"])),
                   default=Value("phq9"), output_field=CharField()),
        first_start=Subquery(dosed.annotate(m=START).order_by("m", "pk").values("m")[:1],
                             output_field=DateTimeField()),
        last_end=Subquery(dosed.annotate(m=END).order_by("-m", "-pk").values("m")[:1], output_field=DateTimeField()),
    )
    if filters.diagnosis:
        qs = qs.filter(group_rank=RANK.get(filters.diagnosis, 0))
    if filters.start or filters.end:
        if filters.start:
            qs = qs.filter(first_start__gte=day_start(filters.start, tz))
        if filters.end:
            qs = qs.filter(first_start__lt=day_start(filters.end + timedelta(days=1), tz))
    if filters.room_id:  # the room the first dosed session was booked in
        qs = qs.filter(Exists(dosed.annotate(m=START).filter(room_id=filters.room_id, m=OuterRef("first_start"))))
    window_end = ExpressionWrapper(F("last_end") + Value(window), output_field=DateTimeField())
    qs = qs.annotate(window_end=window_end).annotate(
        base_total=Subquery(_scores(OuterRef("scale"), administered_at__lte=OuterRef("first_start"))
                            .order_by("-administered_at", "-pk").values("total")[:1], output_field=IntegerField()),
        post_total=Subquery(_scores(OuterRef("scale"), administered_at__gt=OuterRef("last_end"),
                                    administered_at__lte=OuterRef("window_end"))
                            .order_by("administered_at", "pk").values("total")[:1], output_field=IntegerField()),
        base_item9=_item9(earliest=False, administered_at__lte=OuterRef("first_start")),
        post_item9=_item9(earliest=True, administered_at__gt=OuterRef("last_end"), administered_at__lte=OuterRef("window_end")),
    ).annotate(
        resp_rhs=ExpressionWrapper((Value(100.0) - pct) * F("base_total"), output_field=FloatField()),
    )
    return qs


def responded() -> Q:
    """Response after induction, as ``clinical.outcomes.assess_change`` decides it: a baseline above 0 and a fall
    of at least the scale's response percent (100 x (base - after) >= pct x base, i.e. 100 x after <= (100 - pct)
    x base)."""
    return Q(base_total__gt=0, post_total__isnull=False) & ~Q(GreaterThan(F("post_total") * 100, F("resp_rhs")))


def remitted(limits: dict) -> Q:
    """Remission as ``assess_change`` decides it: PHQ-9 total <= outcomes.phq9_remission_max; PCL-5 below
    outcomes.pcl5_cutpoint; GAD-7 has no remission rule in the reference (never counted)."""
    return (Q(scale="phq9", post_total__lte=int(limits["outcomes.phq9_remission_max"]))
            | Q(scale="pcl5", post_total__lt=int(limits["outcomes.pcl5_cutpoint"])))


def durability_rows(rows: QuerySet, limits: dict, tz) -> list[tuple]:
    """For each responder, in one query: (scale, end of induction, first retreatment, first score no longer
    responding, first score at which the booster prompt rule fires, last score).

    - First retreatment: the start of the patient's first dose after the end of induction (``dose_started_at``
      after ``last_end``, any order: a booster or a maintenance dose), from the sessions by patient.
    - No longer responding: the first finalised score on the row's scale after the end of induction that fails the
      response rule against the baseline (100 x total > resp_rhs).
    - Booster prompt rule (``clinical.outcomes.relapse_after_induction``): among the scores dated (clinic-local day)
      on or after the day induction ended, the first whose total is at least the scale's rise setting
      (``RELAPSE_KEY``; 0 = not set) above some score of that span at or before it, i.e. above the lowest so far.
      Meaningless where the rise is 0: the caller leaves those scales out.
    """
    later = _scores(OuterRef("scale"), administered_at__gt=OuterRef("last_end"))
    lost = later.filter(GreaterThan(F("total") * 100, OuterRef("resp_rhs")))
    retreat = (TreatmentSession.objects.filter(patient_id=OuterRef("patient_id"),
                                               dose_started_at__gt=OuterRef("last_end"))
               .exclude(status__in=CALLED_OFF).order_by("dose_started_at").values("dose_started_at")[:1])
    since_end = _scores(OuterRef("scale")).annotate(day=TruncDate("administered_at", tzinfo=tz)).filter(
        day__gte=OuterRef("end_day"))
    # a score of the span at or before S (the outer score) at least the scale's rise below it: S's own patient and
    # scale, and the rise read from the score's own scale, so only the end of induction reaches two levels out
    rise = Case(*[When(scale=s, then=Value(int(limits[k]))) for s, k in RELAPSE_KEY.items()],
                default=Value(0), output_field=IntegerField())
    lower_before = (Administration.objects.filter(
        patient_id=OuterRef("patient_id"), scale=OuterRef("scale"), status__in=COUNTED, total__isnull=False,
        administered_at__lte=OuterRef("administered_at"))
        .annotate(rise=rise, day=TruncDate("administered_at", tzinfo=tz))
        .filter(rise__gt=0, total__lte=OuterRef("total") - F("rise"), day__gte=OuterRef(OuterRef("end_day"))))
    relapsed = since_end.filter(Exists(lower_before))
    return list(rows.filter(responded()).annotate(end_day=TruncDate("last_end", tzinfo=tz)).annotate(
        retreat_at=Subquery(retreat, output_field=DateTimeField()),
        lost_at=Subquery(lost.order_by("administered_at").values("administered_at")[:1],
                         output_field=DateTimeField()),
        relapse_at=Subquery(relapsed.order_by("administered_at").values("administered_at")[:1],
                            output_field=DateTimeField()),
        last_at=Subquery(later.order_by("-administered_at").values("administered_at")[:1],
                         output_field=DateTimeField()),
    ).values_list("scale", "last_end", "retreat_at", "lost_at", "relapse_at", "last_at"))
