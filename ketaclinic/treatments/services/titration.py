"""Dose titration across a series (issue 21): the plan written with the order, the proposal before each session
from the series' own record, and the prescriber's signature that makes it the session's dose.

The rules are the clinical core's (:mod:`ketaclinic.clinical.titration`); this module gathers what they read
(the doses given, each session's vitals, ratings and adverse events, the plan scale's scores) and stores what the
prescriber signs. The first session of a plan is given at the plan's start dose, which the order's signature
covers; every later session needs its own signed dose before it is prepared (:func:`prepare_blocker`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical import titration
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.guards import Outcome
from ketaclinic.clinical.outcomes import RESPONSE_KEY
from ketaclinic.clinical.scales import SCALES
from ketaclinic.clinical.vitals import Level
from ketaclinic.measures.models import Administration
from ketaclinic.treatments.models import (
    DoseDecision,
    Phase,
    Route,
    TitrationPlan,
    TreatmentOrder,
    TreatmentSession,
)
from ketaclinic.treatments.services._common import CLOSED, TreatmentError, _lock, _roles, limits_for, use_case

#: The outcome scales a plan may judge the response on (those with a response rule in the core), by name.
SCALE_CHOICES = tuple((code, SCALES[code].name) for code in RESPONSE_KEY)
_FIELDS = {"steps": "titration_steps", "ceiling": "titration_ceiling", "start": "dose_mg_per_kg",
           "scale": "titration_scale", "indication": "indication"}


def plan_for_order(route: str, indication: str, dose: Decimal | None, data: Mapping[str, object],
                   settings: Mapping[str, object]) -> titration.TitrationPlan | None:
    """The plan an order form asks for (``titrate`` ticked), validated by the core; None when not asked.

    Esketamine follows the label's plan for the indication, so the order's dose must be its start; IV and IM take
    the ladder typed on the form (``titration_steps``), starting at the order's mg/kg, with the ceiling typed (or
    the highest step)."""
    if not data.get("titrate"):
        return None
    scale = str(data.get("titration_scale") or "phq9")
    try:
        if route == Route.INTRANASAL:
            plan = titration.esketamine_label_plan(indication, scale=scale, settings=settings)
            if dose != plan.start:
                raise TreatmentError({"fixed_dose_mg": f"The label's plan starts at {titration.fmt(plan.start, 'mg')}"
                                      f" for this indication: order {titration.fmt(plan.start, 'mg')}."})
            return plan
        steps = list(data.get("titration_steps") or [])
        if not steps:
            raise TreatmentError({"titration_steps": "List the doses of the plan in mg/kg, lowest first (for example "
                                  "0.5, 0.75)."})
        ceiling = data.get("titration_ceiling") or max(steps)
        return titration.make_plan(route, start=dose, steps=steps, ceiling=ceiling, scale=scale, settings=settings)
    except ClinicalInputError as e:
        raise TreatmentError({_FIELDS.get(e.field or "", "titration_steps"): e.message[:1].upper() + e.message[1:]
                              + "."}) from None


def save_plan(actor: Actor, order: TreatmentOrder, plan: titration.TitrationPlan) -> TitrationPlan:
    """Store the plan with its order (inside ``write_order``'s transaction) and audit it."""
    row = TitrationPlan.objects.create(order=order, start=plan.start, steps=[str(s) for s in plan.steps],
                                       ceiling=plan.ceiling, scale=plan.scale, label_plan=plan.label_plan,
                                       created_by=actor.user)
    audit.record(actor, AuditAction.ORDER_TITRATION_PLANNED, subject=order, patient=order.patient,
                 details={"plan": plan.describe(), "scale": plan.scale, "label_plan": plan.label_plan})
    return row


def plan_of(order: TreatmentOrder) -> TitrationPlan | None:
    try:
        return order.titration
    except TitrationPlan.DoesNotExist:
        return None


# ------------------------------------------------------------------------------------------------ the record
def given_dose(s: TreatmentSession) -> Decimal | None:
    """The dose a session was given at, in the plan's unit: mg/kg for IV and IM, mg for esketamine."""
    if s.route == Route.INTRANASAL:
        mg = s.administered_mg if s.administered_mg is not None else s.prepared_dose_mg
        return mg.normalize() if mg is not None else None
    return s.dose_mg_per_kg.normalize() if s.dose_mg_per_kg is not None else None


@dataclass(frozen=True)
class SeriesRow:
    """One dosed session of the series with what the core reads from it, for the proposal and the chart."""

    session: TreatmentSession
    outcome: titration.SessionOutcome


def series(order: TreatmentOrder, before: TreatmentSession | None = None) -> list[SeriesRow]:
    """The order's sessions where dosing started (before ``before``, when given), oldest first, each with its peak
    CADSS, lowest MOAA/S, the largest BP rise from its last pre-dose reading, the highest vitals level after the
    dose started, and its adverse events. Four queries whatever the number of sessions."""
    qs = (order.sessions.filter(dose_started_at__isnull=False).order_by("dose_started_at", "pk")
          .prefetch_related("vitals", "ratings", "adverse_events"))
    if before is not None:
        qs = qs.exclude(pk=before.pk)
        if before.dose_started_at:
            qs = qs.filter(dose_started_at__lt=before.dose_started_at)
    rows = []
    for s in qs:
        dose = given_dose(s)
        if dose is None:
            continue
        vitals = sorted(s.vitals.all(), key=lambda r: (r.taken_at, r.pk))
        pre = [r for r in vitals if r.phase == Phase.PRE_DOSE]
        after = [r for r in vitals if r.phase != Phase.PRE_DOSE]
        base = pre[-1] if pre else None

        def rise(field: str, base=base, after=after) -> int | None:
            start = getattr(base, field) if base is not None else None
            values = [getattr(r, field) for r in after if getattr(r, field) is not None]
            return max(values) - start if start is not None and values else None

        cadss = [r.total for r in s.ratings.all() if r.scale == "cadss" and r.total is not None]
        moaas = [r.total for r in s.ratings.all() if r.scale == "moaas" and r.total is not None]
        level = max((r.level for r in after), default=0)
        rows.append(SeriesRow(s, titration.SessionOutcome(
            sequence=s.sequence, dose=dose, signed=s.is_signed, peak_cadss=max(cadss) if cadss else None,
            lowest_moaas=min(moaas) if moaas else None, systolic_rise_mmHg=rise("systolic_mmHg"),
            diastolic_rise_mmHg=rise("diastolic_mmHg"), vitals_level=Level(level),
            adverse_events=tuple((a.kind, a.severity) for a in s.adverse_events.all()))))
    return rows


def plan_scores(plan: TitrationPlan, patient) -> list[tuple[str, int, datetime]]:
    """(timing, total, when) of every final total on the plan's scale, oldest first."""
    return list(Administration.objects.filter(
        patient=patient, scale=plan.scale, total__isnull=False,
        status__in=[Administration.Status.FINAL, Administration.Status.AMENDED],
    ).order_by("administered_at", "pk").values_list("timing", "total", "administered_at"))


def series_baseline(rows: list[tuple[str, int, datetime]], first_dose: datetime | None):
    """The series' baseline: its newest score taken before its first dose (before any dose: the newest score).
    None when there is none: a score taken after dosing began is never a baseline, and a patient back for a new
    series is judged against the scores before it, not an earlier series' consult."""
    before = [r for r in rows if first_dose is None or r[2] < first_dose]
    return before[-1] if before else None


def scores(plan: TitrationPlan, patient, since: datetime | None, first_dose: datetime | None) -> titration.Scores:
    """The plan scale's series baseline (:func:`series_baseline`) and newest final total; whether the newest was
    taken at or after ``since`` (the start of the first session at the current dose)."""
    rows = plan_scores(plan, patient)
    base = series_baseline(rows, first_dose)
    if base is None:
        return titration.Scores(None, None, False)
    latest = rows[-1]
    return titration.Scores(base[1], latest[1] if latest is not base else None,
                            since is not None and latest[2] >= since)


@dataclass(frozen=True)
class Proposed:
    """What the cockpit shows before a session: the plan, the core's proposal (or why there is none) and the
    prescriber's newest signature for the session."""

    plan: TitrationPlan
    proposal: titration.Proposal | None
    problem: str
    signed: DoseDecision | None
    series: list[SeriesRow]

    @property
    def signed_holds(self) -> bool:
        """The newest signature still answers this proposal: no session of the series was dosed since it."""
        return self.signed is not None and holds(self.signed, self.series[-1].session.pk if self.series else None)

    @property
    def choices(self) -> list[tuple[str, str]]:
        core = self.plan.core()
        return [(f"{step.normalize():f}", titration.fmt(step, core.unit)) for step in core.steps]

    @property
    def scale_name(self) -> str:
        return SCALES[self.plan.scale].name

    @property
    def proposed_value(self) -> str:
        return f"{self.proposal.dose.normalize():f}" if self.proposal else ""


def propose_for(s: TreatmentSession) -> Proposed | None:
    """The proposal for session ``s`` of a titrated order (None for an order without a plan)."""
    plan = plan_of(s.order)
    if plan is None:
        return None
    rows = series(s.order, before=s)
    signed = s.dose_decisions.select_related("signed_by").order_by("signed_at", "pk").last()
    since = None
    if rows:
        current = rows[-1].outcome.dose
        for row in reversed(rows):
            if row.outcome.dose != current:
                break
            since = row.session.dose_started_at
    try:
        first_dose = rows[0].session.dose_started_at if rows else None
        proposal = titration.propose(plan.core(), [r.outcome for r in rows], scores(plan, s.patient, since, first_dose),
                                     settings=limits_for(s.patient))
    except ClinicalInputError as e:
        return Proposed(plan, None, e.message[:1].upper() + e.message[1:] + ".", signed, rows)
    return Proposed(plan, proposal, "", signed, rows)


def holds(decision: DoseDecision, last_dosed: int | None) -> bool:
    """A signature holds while the series' last dosed session (its pk, None before any dose) is the one its
    proposal was worked out from: a session dosed since voids it."""
    return decision.based_on_id == last_dosed


@dataclass(frozen=True)
class Preparation:
    """What a session of a titrated order is prepared with: the dose (mg/kg, or mg for esketamine) and the
    prescriber's override reason, or why it cannot be prepared (``problem``)."""

    dose: Decimal | None
    reason: str = ""
    problem: str = ""


NOT_SIGNED = ("This session's dose has not been signed: under the order's titration plan the prescriber signs the "
              "proposed dose (cockpit, 'Dose for this session') before it is prepared.")
NO_LONGER_HOLDS = ("The dose signed for this session no longer holds: another session of the series was dosed since "
                   "the prescriber signed it. The prescriber signs this session's dose again (cockpit, 'Dose for this "
                   "session') before it is prepared.")


def preparation(s: TreatmentSession) -> Preparation | None:
    """None for an order without a plan (the order's own dose applies). Otherwise the series' first dose is the
    plan's start (covered by the order's signature); every later one is the prescriber's newest signature, if it
    still :func:`holds`; else the problem to show. Two queries."""
    plan = plan_of(s.order)
    if plan is None:
        return None
    last = (s.order.sessions.filter(dose_started_at__isnull=False).exclude(pk=s.pk)
            .order_by("-dose_started_at", "-pk").values_list("pk", flat=True).first())
    signed = s.dose_decisions.order_by("signed_at", "pk").last()
    if signed is not None and holds(signed, last):
        return Preparation(signed.dose.normalize(), signed.override_reason)
    if signed is None and last is None:
        return Preparation(plan.start.normalize())
    return Preparation(None, problem=NOT_SIGNED if signed is None else NO_LONGER_HOLDS)


def prepare_blocker(s: TreatmentSession) -> str:
    """Why a titrated session's dose cannot be prepared yet (empty when it can): :func:`preparation`."""
    prepared = preparation(s)
    return prepared.problem if prepared is not None else ""


@use_case
def sign_dose(*, actor: Actor, session: TreatmentSession, dose: Decimal, override_reason: str = "") -> DoseDecision:
    """A prescriber signs the dose for session ``session`` under its order's titration plan: the core's proposal
    or another step with a reason (:func:`ketaclinic.clinical.titration.check_choice`). Refused once the dose is
    prepared, for a closed session, while the previous session is unsigned, off the plan's ladder or above its
    ceiling."""
    _roles(actor, Role.PRESCRIBER, what="sign a session's dose")
    s = _lock(session)
    if s.status in CLOSED:
        raise TreatmentError(f"This session is {s.get_status_display().lower()}: no dose can be signed for it.")
    if s.dose_started_at or s.prepared_dose_mg is not None:
        raise TreatmentError({"dose": "The dose is already prepared for this session: a new dose cannot be signed "
                              "now. Write a new order if the plan must change."})
    from ketaclinic.treatments.services.orders import (
        _require_dosable,  # orders writes plans through this module
    )

    _require_dosable(s)
    shown = propose_for(s)
    if shown is None:
        raise TreatmentError({"dose": "This order has no titration plan: its dose is the order's."})
    if shown.proposal is None:
        raise TreatmentError({"dose": shown.problem})
    reason = (override_reason or "").strip()
    decided = titration.check_choice(shown.plan.core(), shown.proposal, dose, override_reason=reason,
                                     settings=limits_for(s.patient))
    if decided.kind == Outcome.BLOCK:
        raise TreatmentError({"dose": decided.reason})
    if decided.kind == Outcome.NEEDS_OVERRIDE:
        raise TreatmentError({"override_reason": decided.reason})
    p = shown.proposal
    row = DoseDecision.objects.create(
        session=s, proposed=p.dose, direction=p.direction, step_up_criteria_met=p.step_up_criteria_met,
        reasons=[{"rule": f.rule, "text": f.text, "source": f.source} for f in p.reasons], dose=dose,
        override_reason=reason, signed_by=actor.user,
        based_on=shown.series[-1].session if shown.series else None)
    audit.record(actor, AuditAction.SESSION_DOSE_SIGNED, subject=s, patient=s.patient, details={
        "dose": str(dose), "unit": p.unit, "proposed": str(p.dose), "direction": p.direction,
        "step_up_criteria_met": p.step_up_criteria_met, "override_reason": reason,
        "reasons": [f.text for f in p.reasons]})
    return row
