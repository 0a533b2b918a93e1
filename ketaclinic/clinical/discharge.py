"""Discharge readiness after a dosing session: ready, or the list of what is missing.

Minimum observation by route (esketamine >= 120 min: clinical.md §3c, C; counted from the last device, the
conservative reading of the label's "after administration", U; IV and IM are clinic settings), vitals within limits or back near the patient's own baseline, alert and oriented, steady
gait, no active adverse event, escort present and no-driving acknowledged (clinical.md §1 'Escort / driving' row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import ClinicalInputError
from .settings import resolve
from .vitals import Finding, Level, VitalReading, classify_reading, validate_reading

ROUTES = ("iv", "im", "intranasal")
_OBS_KEY = {"iv": "observation.iv_min_minutes", "im": "observation.im_min_minutes",
            "intranasal": "observation.esketamine_min_minutes"}
#: What ``minutes_since_dose_end`` is measured from, per route (see :func:`observation_clock_start`).
CLOCK_START = {
    "iv": "end of the infusion",
    "im": "the injection",
    "intranasal": "the last device (end of administration)",
}
CLOCK_SOURCE = (
    "IV: clinical.md §1 'Vitals: time course' (BP/HR back to baseline within 1.5 h AFTER the infusion; Szarmach "
    "2020, C). Esketamine: SPR-PI §17 'monitored for at least 2 hours after administration' and §5.1 (C); the "
    "REMS Patient Monitoring Form counts 'first device to end of monitoring' (clinical.md §3c, C). The clock for "
    "discharge runs from the LAST device: the conservative reading of 'after administration' (project's choice, "
    "U), which also meets the form's 2 h from the first device"
)
_BASELINE_BP_SOURCE = (
    "clinical.md §1 'Vitals: time course' and 'Observation / discharge, IV' rows: BP returns to baseline after "
    "the infusion (Szarmach 2020, Emory series; C/S); tolerance settings discharge.systolic_tolerance_mmHg / "
    "discharge.diastolic_tolerance_mmHg (unconfirmed). Readings at HOLD or STOP never pass on baseline"
)


@dataclass(frozen=True)
class DischargeInput:
    """Discharge check input. ``minutes_since_dose_end`` runs from :func:`observation_clock_start`: the end of an
    IV infusion, an IM injection, or the LAST esketamine device (the REMS form's own minutes, from the first device,
    are :func:`rems_minutes_monitored`). ``baseline`` is the patient's pre-dose reading: recovery BP is judged
    against it as well as the fixed limits."""

    route: str
    minutes_since_dose_end: int
    latest: VitalReading | None
    baseline: VitalReading | None
    alert_and_oriented: bool
    steady_gait: bool
    active_adverse_event: bool
    escort_present: bool
    no_driving_acknowledged: bool


@dataclass(frozen=True)
class DischargeDecision:
    """``ready`` only when ``missing`` is empty; ``earliest_minutes`` is the route's minimum observation time and
    ``minutes_remaining`` how much of it is left."""

    ready: bool
    missing: tuple[str, ...]
    earliest_minutes: int
    minutes_remaining: int = 0
    #: What was accepted only because of the patient's own baseline (shown on the cockpit, kept in the record).
    notes: tuple[str, ...] = ()


def _bp_accepted_on_baseline(f: Finding, latest: VitalReading, baseline: VitalReading,
                             cfg: Mapping[str, object]) -> str | None:
    """A CAUTION finding on systolic or diastolic BP that is within the clinic's tolerance above the patient's own
    pre-dose baseline: the note to show, or None when it still counts."""
    if f.level != Level.CAUTION or f.vital not in ("systolic", "diastolic"):
        return None
    now = latest.systolic_mmHg if f.vital == "systolic" else latest.diastolic_mmHg
    base = baseline.systolic_mmHg if f.vital == "systolic" else baseline.diastolic_mmHg
    tol = int(cfg[f"discharge.{f.vital}_tolerance_mmHg"])  # type: ignore[call-overload]
    if now is None or base is None or now > base + tol:
        return None
    return (f"{f.vital.capitalize()} {now} mmHg is above the clinic's limit but within {tol} mmHg of the patient's "
            f"own pre-dose {base} mmHg: accepted against their baseline")


def _is_bp(f: Finding) -> bool:
    """A finding on blood pressure: the fixed limits and the rise from baseline (not HR, SpO2, respiration)."""
    return f.vital.startswith(("systolic", "diastolic"))


def bp_back_to_baseline(latest: VitalReading, baseline: VitalReading,
                        settings: Mapping[str, object] | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Recovery BP judged against the fixed limits AND the patient's own pre-dose baseline.

    Returns (problems, notes).  A BP above the fixed caution limit (140/90) still passes when it is no more than
    ``discharge.systolic_tolerance_mmHg`` / ``discharge.diastolic_tolerance_mmHg`` above the patient's own
    baseline (a patient whose baseline is 150/95 can go home at 155/98 without an override); above both the fixed
    limit and baseline + tolerance it is a problem.  HOLD and STOP readings are always problems.  Source:
    :data:`_BASELINE_BP_SOURCE` (rule ``discharge.baseline_bp``).
    """
    validate_reading(latest)
    validate_reading(baseline)
    cfg = resolve(settings)
    assessment = classify_reading(latest, phase="recovery", baseline=baseline, settings=cfg)
    problems, notes = [], []
    for f in assessment.findings:
        if not _is_bp(f):
            continue
        note = _bp_accepted_on_baseline(f, latest, baseline, cfg)
        if note:
            notes.append(note)
        else:
            problems.append(f.message)
    return tuple(problems), tuple(notes)


def discharge_readiness(d: DischargeInput, settings: Mapping[str, object] | None = None) -> DischargeDecision:
    """Ready to leave, or every item still missing.

    Sources: clinical.md §3c 'Observation' row (esketamine >= 2 h, C); §1 'Observation / discharge, IV' row (no
    standard; BP/HR back to baseline within ~90 min, S); §1 'Escort / driving' row (C label / S IV).  The
    near-baseline tolerances are unconfirmed clinic settings.

    Blood pressure is judged against the patient's own pre-dose baseline (``d.baseline``) as well as the fixed
    limits (:func:`bp_back_to_baseline`): a BP above the fixed caution limit but no more than the tolerance above
    the patient's baseline does not hold discharge back (it is listed in ``notes``).
    """
    if not isinstance(d, DischargeInput):
        raise ClinicalInputError("expected a DischargeInput")
    if d.route not in ROUTES:
        raise ClinicalInputError(f"route must be one of {', '.join(ROUTES)}, not {d.route!r}", "route")
    m = d.minutes_since_dose_end
    if isinstance(m, bool) or not isinstance(m, int) or m < 0:
        raise ClinicalInputError(f"minutes since dose must be a whole number >= 0, not {m!r}", "minutes_since_dose_end")
    if m > 24 * 60:
        raise ClinicalInputError(f"{m} minutes is more than a day: check the dosing time", "minutes_since_dose_end")
    for name in ("alert_and_oriented", "steady_gait", "active_adverse_event", "escort_present",
                 "no_driving_acknowledged"):
        if not isinstance(getattr(d, name), bool):
            raise ClinicalInputError("must be true or false", name)
    cfg = resolve(settings)
    missing: list[str] = []
    notes: list[str] = []
    minimum = int(cfg[_OBS_KEY[d.route]])  # type: ignore[arg-type]
    remaining = max(0, minimum - m)
    if remaining:
        missing.append(f"Observation: {m} of at least {minimum} min since {CLOCK_START[d.route]} "
                       f"({remaining} min to go)")
    if d.latest is None:
        missing.append("Vital signs: no recovery reading recorded")
    else:
        validate_reading(d.latest)
        absent = [n for n, v in (("BP", d.latest.systolic_mmHg), ("heart rate", d.latest.heart_rate_bpm),
                                 ("SpO2", d.latest.spo2_percent)) if v is None]
        if d.latest.diastolic_mmHg is None and d.latest.systolic_mmHg is not None:
            absent.append("diastolic BP")
        if absent:
            missing.append(f"Vital signs: latest reading lacks {', '.join(absent)}")
        assessment = classify_reading(d.latest, phase="recovery", baseline=d.baseline, settings=cfg)
        if d.baseline is None:
            counted = [f.message for f in assessment.findings]
        else:
            # blood pressure is judged by bp_back_to_baseline (the cockpit's answer); every other finding counts
            bp_problems, bp_notes = bp_back_to_baseline(d.latest, d.baseline, cfg)
            notes.extend(bp_notes)
            counted = [f.message for f in assessment.findings if not _is_bp(f) or f.message in bp_problems]
        if counted:
            missing.append("Vital signs not within limits: " + "; ".join(counted))
        if d.baseline is None:
            missing.append("Vital signs: no baseline reading to compare with")
        else:
            validate_reading(d.baseline)
            for label, now, base, key, unit in (
                ("systolic", d.latest.systolic_mmHg, d.baseline.systolic_mmHg, "discharge.systolic_tolerance_mmHg",
                 "mmHg"),
                ("diastolic", d.latest.diastolic_mmHg, d.baseline.diastolic_mmHg,
                 "discharge.diastolic_tolerance_mmHg", "mmHg"),
                ("heart rate", d.latest.heart_rate_bpm, d.baseline.heart_rate_bpm, "discharge.heart_rate_tolerance_bpm",
                 "bpm"),
            ):
                if now is not None and base is not None and abs(now - base) > cfg[key]:  # type: ignore[operator]
                    missing.append(f"Vital signs: {label} {now} {unit} is not within {cfg[key]} {unit} of baseline "
                                   f"{base} {unit}")
    if not d.alert_and_oriented:
        missing.append("Not yet alert and oriented")
    if not d.steady_gait:
        missing.append("Walking not yet steady")
    if d.active_adverse_event:
        missing.append("Adverse event still active")
    # An escort for every route (rule discharge.escort): no setting or override waives it. For esketamine the label
    # also requires the no-driving acknowledgement, so no clinic setting can switch it off (clinical.md §1, C).
    label_rules = d.route == "intranasal"
    if not d.escort_present:
        missing.append("No escort present to take the patient home")
    if (label_rules or cfg["discharge.no_driving_ack_required"]) and not d.no_driving_acknowledged:
        missing.append("No-driving (until the next day after restful sleep) not acknowledged")
    return DischargeDecision(not missing, tuple(missing), minimum, remaining, tuple(notes))


def observation_clock_start(
    route: str,
    *,
    dose_started_at: datetime | None,
    dose_ended_at: datetime | None,
    device_times: Sequence[datetime] = (),
) -> datetime | None:
    """When the observation time before discharge starts counting (None while dosing has not ended).

    IV: the end of the infusion.  IM: the injection (its end, or its start when that is all there is).
    Esketamine: the last device given (``device_times``; when no device times are passed, the latest of
    ``dose_started_at`` and ``dose_ended_at``, never the first device alone, which would let the patient go early):
    the label's 2 h run "after administration", and 2 h from the last device also covers the REMS form's 2 h from
    the first device.  Source: :data:`CLOCK_SOURCE` (rule ``discharge.clock``).
    """
    if route not in ROUTES:
        raise ClinicalInputError(f"route must be one of {', '.join(ROUTES)}, not {route!r}", "route")
    if route == "im":
        return dose_ended_at or dose_started_at
    if dose_ended_at is None or dose_started_at is None:
        return None
    if route == "iv":
        return dose_ended_at
    if not device_times:
        return max(dose_started_at, dose_ended_at)
    return max([dose_started_at, *device_times])


def minutes_since(start: datetime, now: datetime) -> int:
    """Whole minutes from ``start`` to ``now`` (rounded down; 0 if ``now`` is earlier)."""
    return max(0, int((now - start).total_seconds() // 60))


REMS_MONITORING_SOURCE = ("clinical.md §3c 'Form fields' row: total minutes from first device to end of monitoring, "
                          "must be >= 2 h (REMS Patient Monitoring Form, C)")


def rems_minutes_monitored(first_device_at: datetime, end_of_monitoring: datetime) -> int:
    """The REMS Patient Monitoring Form's 'total minutes from first device to end of monitoring'.
    Source: :data:`REMS_MONITORING_SOURCE`."""
    return minutes_since(first_device_at, end_of_monitoring)


def esketamine_discharge_limits(
    minutes_since_last_device: int,
    *,
    escort_present: bool,
    no_driving_acknowledged: bool,
    settings: Mapping[str, object] | None = None,
) -> tuple[str, ...]:
    """What the esketamine label requires before the patient goes home, which no discharge override can waive:
    at least ``observation.esketamine_min_minutes`` (>= 120, the label's 2 h) since the last device
    (:func:`observation_clock_start`), an escort to take the patient home, and the no-driving acknowledgement.
    Empty when all are met.  Sources: clinical.md §3c 'Observation' (C); §1 'Escort / driving' (SPR-PI §17, C).
    """
    m = minutes_since_last_device
    if isinstance(m, bool) or not isinstance(m, int) or m < 0:
        raise ClinicalInputError(f"minutes must be a whole number >= 0, not {m!r}", "minutes_since_last_device")
    for name, value in (("escort_present", escort_present), ("no_driving_acknowledged", no_driving_acknowledged)):
        if not isinstance(value, bool):
            raise ClinicalInputError("must be true or false", name)
    minimum = int(resolve(settings)["observation.esketamine_min_minutes"])  # type: ignore[arg-type]
    problems = []
    if m < minimum:
        problems.append(f"Observed {m} of at least {minimum} min since the last device: keep observing for "
                        f"{minimum - m} more min")
    if not escort_present:
        problems.append("No escort recorded: record the name and phone of the person taking the patient home")
    if not no_driving_acknowledged:
        problems.append("No-driving not acknowledged: ask the patient to confirm they will not drive until the next "
                        "day after a restful sleep")
    return tuple(problems)


ESCORT_SOURCE = ("clinical.md §1 'Escort / driving' row: someone must drive the patient home after each session "
                 "(esketamine label SPR-PI §17, C; IV/IM clinics apply the same rule, S); issue 11 makes it a "
                 "requirement for every route that no override waives")


def discharge_hard_limits(
    route: str,
    minutes_since_clock: int,
    *,
    escort_present: bool,
    no_driving_acknowledged: bool,
    settings: Mapping[str, object] | None = None,
) -> tuple[str, ...]:
    """What no discharge override can waive, for every route: an escort (or medical transport) recorded to take
    the patient home (:data:`ESCORT_SOURCE`, rule ``discharge.escort``); for esketamine also the label's minimum
    observation and no-driving acknowledgement (:func:`esketamine_discharge_limits`). A patient who must leave
    otherwise is transferred to emergency care, which is recorded instead of a discharge."""
    if route not in ROUTES:
        raise ClinicalInputError(f"route must be one of {', '.join(ROUTES)}, not {route!r}", "route")
    if route == "intranasal":
        return esketamine_discharge_limits(minutes_since_clock, escort_present=escort_present,
                                           no_driving_acknowledged=no_driving_acknowledged, settings=settings)
    if not isinstance(escort_present, bool):
        raise ClinicalInputError("must be true or false", "escort_present")
    return () if escort_present else (
        "No escort recorded: record the name and phone of the person (or medical transport) taking the patient "
        "home",)


def earliest_discharge_at(route: str, clock_start: datetime | None,
                          settings: Mapping[str, object] | None = None) -> datetime | None:
    """The earliest moment the route's minimum observation allows the patient home ("ready from HH:MM"):
    the observation clock (:func:`observation_clock_start`) plus the route's minimum minutes (the same settings
    :func:`discharge_readiness` uses; esketamine never below the label's 2 h). None while dosing goes on.
    Vital signs back to baseline and the other items may still keep the patient longer."""
    if route not in ROUTES:
        raise ClinicalInputError(f"route must be one of {', '.join(ROUTES)}, not {route!r}", "route")
    if clock_start is None:
        return None
    minimum = timedelta(minutes=int(resolve(settings)[_OBS_KEY[route]]))  # type: ignore[arg-type]
    # Added to the instant, not the wall clock (a zone's own + timedelta ignores a clock change in between).
    return (clock_start.astimezone(UTC) + minimum).astimezone(clock_start.tzinfo)
