"""Dose titration across a treatment series: a plan on the order, and a proposal before each session.

The seed article says most people start with a moderate dose; clinical.md §1 gives 0.5 mg/kg over 40 min as the
standard IV dose (Singh 2016, Fava 2020; C), 0.5 and 1.0 mg/kg as the doses that beat placebo (Fava 2020; C) and
up to 0.75 mg/kg as what some patients need in practice (Andrade 2017; C).  Esketamine follows its label
(clinical.md §3b; C): for treatment-resistant depression 56 mg on day 1, then 56 or 84 mg; for MDD with acute
suicidal ideation 84 mg, which may be reduced to 56 mg for tolerability.

No source gives a rule for *when* to step; the rules here are the clinic practice the project was asked to carry
(issue 21), each with its threshold taken from a cited setting or made a clinic setting (status U):

* ``titration.step_down`` — the last session was not tolerated: a vital sign reached the clinic's HOLD or STOP
  limit, blood pressure rose by the label's reporting threshold (+40 systolic / +25 diastolic mmHg, SPR-PI §5.6;
  C for the threshold), MOAA/S fell to deep sedation (``sedation.moaas_urgent_at_or_below``), the patient vomited,
  an adverse event reached ``titration.step_down_adverse_severity``, or peak CADSS reached
  ``titration.step_down_cadss_at_or_above`` (0 = no cut-off: none is published).  The proposal is one rung down.
* ``titration.step_up`` — the patient has had ``titration.sessions_before_step_up`` sessions at the current dose,
  a score on the plan's scale taken since the dose last changed shows no response (less than the scale's
  response percent reduction from baseline, ``outcomes.response_percent``: 50%, Cochrane CD011612.pub3; C), the
  last session was tolerated, and a rung above is within the plan's ceiling.  The proposal is one rung up.
* otherwise the dose stays.  A proposal is advice: it takes effect only with the prescriber's signature, and a
  dose other than the proposal needs the prescriber's reason (:func:`check_choice`).

Hard limits that nothing clears: no rung above the plan's ceiling; no ceiling above the clinic's hard ceiling for
IV or IM (``dosing.iv_ceiling_mg_per_kg``, ``dosing.im_ceiling_mg_per_kg``) or above the esketamine label's 84 mg
(``dosing.esketamine_max_dose_mg``, at most 84); esketamine in whole 28 mg devices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import ClinicalInputError
from .guards import CLEARED_BY_NOTHING, CLEARED_BY_PRESCRIBER, GuardDecision, Outcome, decision
from .outcomes import RESPONSE_KEY, assess_change
from .scales import SCALES
from .settings import SETTINGS_BY_KEY, resolve
from .vitals import Level

ROUTES = ("iv", "im", "intranasal")
DEVICE_MG = Decimal(28)  # clinical.md §3b 'Device' row: 28 mg per device (C)
SEVERITIES = ("mild", "moderate", "severe")

LABEL_SOURCE = ("clinical.md §3b TRD row: day-1 dose 56 mg, then 56 or 84 mg; MDSI row: 84 mg, may reduce to 56 mg "
                "for tolerability; 'Device' row: use 84 mg only after the 56 mg start (SPR-HCP; C)")
IV_SOURCE = ("clinical.md §1: 0.5 mg/kg standard (Singh 2016 doi:10.1176/appi.ajp.2016.16010037; C); 0.5 and 1.0 "
             "mg/kg beat placebo (Fava 2020 doi:10.1038/s41380-018-0256-5; C); some patients need up to 0.75 mg/kg "
             "(Andrade 2017, J Clin Psychiatry 78(7):e852; C)")
PRACTICE = ("Clinic practice carried by issue 21 (start moderate, step up when the response is weak and the session "
            "was tolerated, step down after troublesome dissociation, a BP rise or vomiting); no published rule for "
            "when to step (status U)")
BP_RISE_SOURCE = ("clinical.md §3c 'BP effect size' row: systolic >= +40 and/or diastolic >= +25 mmHg (SPR-PI §5.6; "
                  "C for the threshold; stepping down after it is the clinic's rule, U)")
RESPONSE_SOURCE = "clinical.md §4 'Response and remission' table: >= 50% reduction (Cochrane CD011612.pub3; C)"
ESTIMATE_NOTE = "A proposal, not an order: it takes effect only when the prescriber signs it."


def _dec(value: object, name: str) -> Decimal:
    if isinstance(value, bool):
        raise ClinicalInputError(f"must be a number, not {value!r}", name)
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ClinicalInputError(f"must be a number, not {value!r}", name) from None
    if not d.is_finite():
        raise ClinicalInputError("must be a finite number", name)
    return d


def fmt(dose: Decimal, unit: str) -> str:
    """A dose as a clinician writes it: ``0.75 mg/kg``, ``84 mg``."""
    text = f"{dose.normalize():f}"
    return f"{text} {unit}"


@dataclass(frozen=True)
class TitrationPlan:
    """The ladder of doses a series may move along, its ceiling and the scale its response is judged on.

    ``steps`` are the rungs in increasing order (``start`` is one of them); doses are mg/kg for IV and IM and mg
    for intranasal esketamine.  ``label_plan`` names a built-in plan (``esketamine-trd``, ``esketamine-mdsi``).
    """

    route: str
    start: Decimal
    steps: tuple[Decimal, ...]
    ceiling: Decimal
    scale: str
    label_plan: str = ""

    @property
    def unit(self) -> str:
        return "mg" if self.route == "intranasal" else "mg/kg"

    def rung(self, dose: Decimal) -> int | None:
        for i, step in enumerate(self.steps):
            if step == dose:
                return i
        return None

    def describe(self) -> str:
        ladder = " → ".join(fmt(s, self.unit) for s in self.steps)
        return f"{ladder}; start {fmt(self.start, self.unit)}; ceiling {fmt(self.ceiling, self.unit)}"


def hard_ceiling(route: str, settings: Mapping[str, object] | None = None) -> Decimal:
    """The highest dose any plan may reach on ``route``: the clinic's hard ceiling for IV or IM (never passed, even
    with an override) or the esketamine maximum (at most the label's 84 mg)."""
    cfg = resolve(settings)
    key = {"iv": "dosing.iv_ceiling_mg_per_kg", "im": "dosing.im_ceiling_mg_per_kg",
           "intranasal": "dosing.esketamine_max_dose_mg"}.get(route)
    if key is None:
        raise ClinicalInputError(f"unknown route {route!r}: use iv, im or intranasal", "route")
    return _dec(cfg[key], key)


def make_plan(route: str, *, start: object, steps: Sequence[object], ceiling: object, scale: str,
              label_plan: str = "", settings: Mapping[str, object] | None = None) -> TitrationPlan:
    """A validated plan; bad input raises :class:`ClinicalInputError` naming the field and what to do.

    Refused: an unknown route or scale; no rungs; a rung at or below 0, repeated or out of order; a start that is
    not a rung; any rung above the ceiling ("a plan that steps above the ceiling"); a ceiling above the hard limit
    (:func:`hard_ceiling`); for esketamine a rung that is not whole 28 mg devices; for IV or IM more than three
    decimals of mg/kg (what the order stores)."""
    if route not in ROUTES:
        raise ClinicalInputError(f"unknown route {route!r}: use iv, im or intranasal", "route")
    if scale not in RESPONSE_KEY:
        raise ClinicalInputError(f"{scale!r} has no response rule: judge the response on one of "
                                 f"{', '.join(sorted(RESPONSE_KEY))}", "scale")
    unit = "mg" if route == "intranasal" else "mg/kg"
    rungs = tuple(_dec(s, "steps") for s in steps)
    if not rungs:
        raise ClinicalInputError("give at least one dose on the plan's ladder", "steps")
    for r in rungs:
        if r <= 0:
            raise ClinicalInputError(f"a dose of {fmt(r, unit)} is not possible: every step must be above 0", "steps")
        if route == "intranasal" and r % DEVICE_MG:
            raise ClinicalInputError(f"{fmt(r, unit)} is not whole {DEVICE_MG} mg devices (56 or 84 mg)", "steps")
        if route != "intranasal" and r != r.quantize(Decimal("0.001")):
            raise ClinicalInputError(f"{r} mg/kg has more than 3 decimals", "steps")
    if any(b <= a for a, b in zip(rungs, rungs[1:], strict=False)):
        raise ClinicalInputError("list the steps from the lowest dose to the highest, each once", "steps")
    first = _dec(start, "start")
    if first not in rungs:
        raise ClinicalInputError(f"the start dose {fmt(first, unit)} is not one of the steps "
                                 f"({', '.join(fmt(r, unit) for r in rungs)})", "start")
    top = _dec(ceiling, "ceiling")
    hard = hard_ceiling(route, settings)
    if top > hard:
        raise ClinicalInputError(f"the ceiling {fmt(top, unit)} is above the hard limit {fmt(hard, unit)} for "
                                 f"{route.upper() if route != 'intranasal' else 'esketamine'}; it can never be "
                                 "passed", "ceiling")
    above = [r for r in rungs if r > top]
    if above:
        raise ClinicalInputError(f"the plan steps above its ceiling {fmt(top, unit)}: "
                                 f"{', '.join(fmt(r, unit) for r in above)}", "steps")
    return TitrationPlan(route, first, rungs, top, scale, label_plan)


def esketamine_label_plan(indication: str, *, scale: str = "phq9",
                          settings: Mapping[str, object] | None = None) -> TitrationPlan:
    """The label's plan (:data:`LABEL_SOURCE`): TRD starts at the clinic's first-session dose (56 mg by the label)
    and may continue at 56 or 84 mg; MDSI starts at 84 mg and may be reduced to 56 mg for tolerability."""
    cfg = resolve(settings)
    top = min(Decimal(84), _dec(cfg["dosing.esketamine_max_dose_mg"], "dosing.esketamine_max_dose_mg"))
    if indication == "trd":
        first = _dec(cfg["dosing.esketamine_first_dose_mg"], "dosing.esketamine_first_dose_mg")
        rungs = tuple(sorted(d for d in {first, Decimal(56), Decimal(84)} if d <= top))
        return make_plan("intranasal", start=first, steps=rungs, ceiling=top, scale=scale,
                         label_plan="esketamine-trd", settings=cfg)
    if indication == "mdsi":
        return make_plan("intranasal", start=top, steps=tuple(d for d in (Decimal(56), Decimal(84)) if d <= top),
                         ceiling=top, scale=scale, label_plan="esketamine-mdsi", settings=cfg)
    raise ClinicalInputError("indication must be 'trd' or 'mdsi'", "indication")


@dataclass(frozen=True)
class SessionOutcome:
    """What happened at one past dosing session of the series, as the chart recorded it."""

    sequence: int
    dose: Decimal
    signed: bool
    peak_cadss: int | None = None
    lowest_moaas: int | None = None
    systolic_rise_mmHg: int | None = None
    diastolic_rise_mmHg: int | None = None
    vitals_level: Level = Level.OK  # the highest level the core gave any reading after the dose started
    adverse_events: tuple[tuple[str, str], ...] = ()  # (kind, severity)


@dataclass(frozen=True)
class Scores:
    """The plan scale's baseline total and the newest total, and whether the newest was taken after the first
    session at the current dose (an older one cannot show the current dose's effect)."""

    baseline: int | None
    latest: int | None
    latest_since_dose: bool


@dataclass(frozen=True)
class Finding:
    rule: str
    text: str
    source: str


@dataclass(frozen=True)
class Proposal:
    """The next session's dose, why, and whether a step up's criteria are met. Advice until signed."""

    dose: Decimal
    current: Decimal | None
    direction: str  # start, up, same, down
    unit: str
    reasons: tuple[Finding, ...]
    step_up_criteria_met: bool
    step_down: bool
    note: str = ESTIMATE_NOTE

    @property
    def summary(self) -> str:
        verb = {"start": "Start at", "up": "Step up to", "same": "Stay at", "down": "Step down to"}[self.direction]
        return f"{verb} {fmt(self.dose, self.unit)}"


def _setting_status(key: str) -> str:
    return "C" if SETTINGS_BY_KEY[key].confirmed else "U: clinic setting"


def step_down_signals(last: SessionOutcome, *, settings: Mapping[str, object] | None = None) -> tuple[Finding, ...]:
    """Why the last session was not tolerated (empty when it was): see the module's ``titration.step_down``."""
    cfg = resolve(settings)
    out: list[Finding] = []
    k = last.sequence
    if last.vitals_level >= Level.HOLD:
        out.append(Finding("titration.step_down", f"Session {k}: a vital sign reached the clinic's "
                           f"{Level(last.vitals_level).name} limit.", "Clinic vitals limits (Clinical limits); "
                           + PRACTICE))
    sys_rise, dia_rise = int(cfg["vitals.systolic_rise_mmHg"]), int(cfg["vitals.diastolic_rise_mmHg"])  # type: ignore[arg-type]
    if cfg["titration.step_down_on_bp_rise"]:
        rises = []
        if last.systolic_rise_mmHg is not None and last.systolic_rise_mmHg >= sys_rise:
            rises.append(f"systolic +{last.systolic_rise_mmHg} mmHg (limit +{sys_rise})")
        if last.diastolic_rise_mmHg is not None and last.diastolic_rise_mmHg >= dia_rise:
            rises.append(f"diastolic +{last.diastolic_rise_mmHg} mmHg (limit +{dia_rise})")
        if rises:
            out.append(Finding("titration.step_down", f"Session {k}: blood pressure rose from the pre-dose reading: "
                               + ", ".join(rises) + ".", BP_RISE_SOURCE))
    deep = int(cfg["sedation.moaas_urgent_at_or_below"])  # type: ignore[arg-type]
    if last.lowest_moaas is not None and last.lowest_moaas <= deep:
        out.append(Finding("titration.step_down", f"Session {k}: MOAA/S fell to {last.lowest_moaas} (deep sedation "
                           f"at {deep} or below).", SETTINGS_BY_KEY["sedation.moaas_urgent_at_or_below"].source))
    cadss_cut = int(cfg["titration.step_down_cadss_at_or_above"])  # type: ignore[arg-type]
    if cadss_cut and last.peak_cadss is not None and last.peak_cadss >= cadss_cut:
        out.append(Finding("titration.step_down", f"Session {k}: peak CADSS {last.peak_cadss} (the clinic steps "
                           f"down at {cadss_cut} or more).", SETTINGS_BY_KEY["titration.step_down_cadss_at_or_above"]
                           .source))
    floor = SEVERITIES.index(str(cfg["titration.step_down_adverse_severity"]))
    for kind, severity in last.adverse_events:
        if severity not in SEVERITIES:
            raise ClinicalInputError(f"unknown severity {severity!r}", "adverse_events")
        if kind == "vomiting" or SEVERITIES.index(severity) >= floor:
            out.append(Finding("titration.step_down", f"Session {k}: {severity} {kind.replace('_', ' ')}.",
                               PRACTICE + ("" if kind == "vomiting" else
                                           f"; severity at or above '{SEVERITIES[floor]}' is a clinic setting")))
    return tuple(out)


def propose(plan: TitrationPlan, history: Sequence[SessionOutcome], scores: Scores, *,
            settings: Mapping[str, object] | None = None) -> Proposal:
    """The dose to propose for the next session of a series following ``plan``.

    ``history`` is the series' dosing sessions so far, oldest first.  Raises :class:`ClinicalInputError` when the
    last one is not signed ("sign session k before proposing the next dose"): its record may still change."""
    cfg = resolve(settings)
    unit = plan.unit
    if not history:
        return Proposal(plan.start, None, "start", unit, (Finding("titration.start", f"First session of the plan: "
                        f"the start dose {fmt(plan.start, unit)}.", LABEL_SOURCE if plan.label_plan else IV_SOURCE),),
                        False, False)
    last = history[-1]
    if not last.signed:
        raise ClinicalInputError(f"session {last.sequence} is not signed yet: sign its note before the next dose is "
                                 "proposed (its ratings, vitals and events may still change)", "history")
    current = last.dose
    at_current = 0
    for h in reversed(history):
        if h.dose != current:
            break
        at_current += 1
    idx = plan.rung(current)
    reasons: list[Finding] = []
    signals = step_down_signals(last, settings=cfg)
    if idx is None:
        # The last dose is not on the ladder (given before the plan, off-plan, or only part of it was given): the
        # nearest rung at or below it, or strictly below it after an untolerated session; never above it.
        below = [s for s in plan.steps if (s < current if signals else s <= current)]
        reasons.extend(signals)
        if not below:
            reasons.append(Finding("titration.off_plan", f"The last dose {fmt(current, unit)} is below the plan's "
                                   f"lowest step {fmt(plan.steps[0], unit)}: the prescriber decides the next dose.",
                                   PRACTICE))
            return Proposal(plan.steps[0], current, "up", unit, tuple(reasons), False, bool(signals))
        target = below[-1]
        reasons.append(Finding("titration.off_plan", f"The last dose {fmt(current, unit)} is not a step of the plan: "
                               f"the nearest step below it is {fmt(target, unit)}.", PRACTICE))
        return Proposal(target, current, "down" if target < current else "same", unit, tuple(reasons), False,
                        bool(signals))
    if signals:
        reasons.extend(signals)
        if idx == 0:
            reasons.append(Finding("titration.step_down", f"{fmt(current, unit)} is already the lowest step of the "
                                   "plan: the prescriber decides whether to continue.", PRACTICE))
            return Proposal(current, current, "same", unit, tuple(reasons), False, True)
        return Proposal(plan.steps[idx - 1], current, "down", unit, tuple(reasons), False, True)
    reasons.append(Finding("titration.tolerated", f"Session {last.sequence} was tolerated: no HOLD or STOP reading, "
                           "no BP rise at the label's threshold, no deep sedation, no vomiting or adverse event at "
                           "the clinic's severity.", PRACTICE))
    needed = int(cfg["titration.sessions_before_step_up"])  # type: ignore[arg-type]
    met = True
    if at_current < needed:
        met = False
        reasons.append(Finding("titration.step_up", f"{at_current} session(s) at {fmt(current, unit)}; the clinic "
                               f"waits for {needed} before a step up ({_setting_status('titration.sessions_before_step_up')}).",
                               SETTINGS_BY_KEY["titration.sessions_before_step_up"].source))
    name = SCALES[plan.scale].name
    if scores.baseline is None or scores.latest is None:
        met = False
        reasons.append(Finding("titration.step_up", f"No {name} baseline and follow-up score to judge the response: "
                               "record the scale.", RESPONSE_SOURCE))
    elif not scores.latest_since_dose:
        met = False
        reasons.append(Finding("titration.step_up", f"No {name} score since the dose became {fmt(current, unit)}: ask "
                               "the patient to complete it before stepping up.", RESPONSE_SOURCE))
    else:
        change = assess_change(plan.scale, scores.baseline, scores.latest, settings=cfg)
        pct = int(cfg[RESPONSE_KEY[plan.scale]])  # type: ignore[arg-type]
        moved = "change not defined" if change.percent_change is None else f"{change.percent_change:+.0f}%"
        if change.response:
            met = False
            reasons.append(Finding("titration.step_up", f"Responding: {name} {scores.baseline} → {scores.latest} "
                                   f"({moved}, at least the {pct}% reduction that defines a response): stay at the "
                                   "dose.", RESPONSE_SOURCE))
        else:
            reasons.append(Finding("titration.step_up", f"Weak response: {name} {scores.baseline} → {scores.latest} "
                                   f"({moved}; a response is a {pct}% reduction).", RESPONSE_SOURCE))
    if idx == len(plan.steps) - 1:
        if met:
            reasons.append(Finding("titration.ceiling", f"{fmt(current, unit)} is the plan's highest step (ceiling "
                                   f"{fmt(plan.ceiling, unit)}): no step up.", PRACTICE))
        return Proposal(current, current, "same", unit, tuple(reasons), False, False)
    if met:
        return Proposal(plan.steps[idx + 1], current, "up", unit, tuple(reasons), True, False)
    return Proposal(current, current, "same", unit, tuple(reasons), False, False)


def check_choice(plan: TitrationPlan, proposal: Proposal, chosen: object, *, override_reason: str | None = None,
                 settings: Mapping[str, object] | None = None) -> GuardDecision:
    """May the prescriber sign ``chosen`` as the next session's dose?

    BLOCK (nothing clears it): a dose that is not a step of the plan, or above its ceiling (a new order is needed).
    NEEDS_OVERRIDE without the prescriber's reason: any dose other than the proposal (a step up whose criteria are
    not met, a larger or a smaller step), and an IV or IM dose outside the clinic's range without override
    (``dosing.iv_min/max_mg_per_kg``, ``dosing.im_min/max_mg_per_kg``: the dose maths asks the same reason).
    OK otherwise."""
    cfg = resolve(settings)
    dose = _dec(chosen, "dose")
    unit = plan.unit
    rule = "titration.choice"
    hard = hard_ceiling(plan.route, cfg)
    if dose > hard:
        return decision(Outcome.BLOCK, f"{fmt(dose, unit)} is above the hard limit {fmt(hard, unit)}: it cannot be "
                        "signed.", rule, PRACTICE, CLEARED_BY_NOTHING, dose=str(dose))
    if plan.label_plan == "esketamine-trd" and proposal.current is None and dose > plan.start:
        return decision(Outcome.BLOCK, f"The first esketamine session for treatment-resistant depression is "
                        f"{fmt(plan.start, unit)}: 84 mg is used only after the 56 mg start.", "dosing.esketamine",
                        LABEL_SOURCE, CLEARED_BY_NOTHING, dose=str(dose))
    if dose > plan.ceiling:
        return decision(Outcome.BLOCK, f"{fmt(dose, unit)} is above the plan's ceiling {fmt(plan.ceiling, unit)}: it "
                        "cannot be signed. A higher ceiling needs a new order.", rule, PRACTICE, CLEARED_BY_NOTHING,
                        dose=str(dose))
    if plan.rung(dose) is None:
        return decision(Outcome.BLOCK, f"{fmt(dose, unit)} is not a step of the plan ("
                        f"{', '.join(fmt(s, unit) for s in plan.steps)}): choose one of them, or write a new order.",
                        rule, PRACTICE, CLEARED_BY_NOTHING, dose=str(dose))
    reason = (override_reason or "").strip()
    needs: list[str] = []  # every finding the prescriber's one reason answers, named in the refusal
    if dose != proposal.dose:
        why = ("the step up's criteria are not met" if proposal.current is not None and dose > proposal.current
               and not proposal.step_up_criteria_met else f"the proposal is {fmt(proposal.dose, unit)}")
        needs.append(f"{fmt(dose, unit)} differs from the proposal and {why}")
    if plan.route in ("iv", "im"):
        lo = _dec(cfg[f"dosing.{plan.route}_min_mg_per_kg"], "min")
        hi = _dec(cfg[f"dosing.{plan.route}_max_mg_per_kg"], "max")
        if not lo <= dose <= hi:
            needs.append(f"{fmt(dose, unit)} is outside the clinic's {plan.route.upper()} range {fmt(lo, unit)} to "
                         f"{fmt(hi, unit)}")
    if needs and not reason:
        return decision(Outcome.NEEDS_OVERRIDE, "; ".join(needs) + ": give your reason to sign it.", rule, PRACTICE,
                        CLEARED_BY_PRESCRIBER, dose=str(dose), findings=tuple(needs))
    return decision(Outcome.OK, "; ".join(needs), rule, PRACTICE, dose=str(dose), findings=tuple(needs))
