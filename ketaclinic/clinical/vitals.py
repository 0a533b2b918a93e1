"""Vital-sign limits: classify a reading as within limits, caution, hold or stop.

All thresholds are clinic settings (:mod:`ketaclinic.clinical.settings`); most are unconfirmed defaults because
clinical.md has no authoritative numeric threshold for IV ketamine (§1 'Thresholds' row) and none at all for SpO2
or respiratory rate.  Upper limits are breached when the value is strictly above them; lower limits when strictly
below.  The rise from the patient's own baseline (systolic >= +40 or diastolic >= +25 mmHg) is the esketamine
label's reporting threshold (clinical.md §3c 'BP effect size', SPR-PI §5.6, C).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import IntEnum
from functools import partial

from .errors import ClinicalInputError
from .settings import SETTINGS_BY_KEY, resolve

PHASES = ("pre_dose", "during", "recovery")

#: Input sanity bounds (not clinical thresholds): outside them a value is a data-entry or probe error.
PLAUSIBLE: dict[str, tuple[int, int, str]] = {
    "systolic_mmHg": (20, 300, "mmHg"),
    "diastolic_mmHg": (10, 200, "mmHg"),
    "heart_rate_bpm": (1, 300, "bpm"),
    "spo2_percent": (1, 100, "%"),
    "respiratory_rate_per_min": (1, 80, "breaths/min"),
}


@dataclass(frozen=True)
class VitalReading:
    """One set of vital signs; any field may be missing (None)."""

    systolic_mmHg: int | None = None
    diastolic_mmHg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_percent: int | None = None
    respiratory_rate_per_min: int | None = None


class Level(IntEnum):
    """Action level; higher is worse. HOLD = do not start, or pause; STOP = stop the session."""

    OK = 0
    CAUTION = 1
    HOLD = 2
    STOP = 3

    @property
    def label(self) -> str:
        return {0: "within limits", 1: "caution", 2: "hold (do not start, or pause)", 3: "stop"}[int(self)]


@dataclass(frozen=True)
class Finding:
    """Why one vital sign reached a level, with the setting's source."""

    vital: str
    level: Level
    message: str
    source: str


@dataclass(frozen=True)
class VitalAssessment:
    """Overall level (the worst finding) and every finding above OK."""

    level: Level
    findings: tuple[Finding, ...]


def validate_reading(r: VitalReading) -> VitalReading:
    """Reject physiologically impossible values with a specific :class:`ClinicalInputError` (field = vital).

    Bounds are input-sanity limits (:data:`PLAUSIBLE`), set wide so that a real emergency reading is never
    rejected; diastolic must be below systolic.
    """
    if not isinstance(r, VitalReading):
        raise ClinicalInputError(f"expected a VitalReading, not {type(r).__name__}")
    for f in fields(r):
        v = getattr(r, f.name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise ClinicalInputError(f"must be a whole number, not {v!r}", f.name)
        lo, hi, unit = PLAUSIBLE[f.name]
        if not lo <= v <= hi:
            raise ClinicalInputError(
                f"{v} {unit} is not a possible reading (accepted {lo}-{hi} {unit}); re-measure", f.name
            )
    if r.systolic_mmHg is not None and r.diastolic_mmHg is not None and r.diastolic_mmHg >= r.systolic_mmHg:
        raise ClinicalInputError(
            f"diastolic {r.diastolic_mmHg} mmHg must be below systolic {r.systolic_mmHg} mmHg; re-measure",
            "diastolic_mmHg",
        )
    return r


def _src(key: str) -> str:
    s = SETTINGS_BY_KEY[key]
    return f"setting {key} ({'confirmed' if s.confirmed else 'UNCONFIRMED default'}): {s.source}"


def classify_reading(
    r: VitalReading,
    *,
    phase: str,
    baseline: VitalReading | None = None,
    settings: Mapping[str, object] | None = None,
) -> VitalAssessment:
    """Classify each vital sign against the clinic's limits for ``phase`` ("pre_dose", "during", "recovery").

    Pre-dose: BP above the label's 140/90 guide is HOLD (prescriber weighs risk and benefit before starting);
    BP above the stop limits is STOP.  During and recovery: caution / hold / stop limits, plus a rise from
    ``baseline`` of systolic >= +40 or diastolic >= +25 mmHg (SPR-PI §5.6).  HR, SpO2 and respiratory rate use
    the same limits in every phase.  Sources: each finding names its setting and source.
    """
    if phase not in PHASES:
        raise ClinicalInputError(f"phase must be one of {', '.join(PHASES)}, not {phase!r}", "phase")
    validate_reading(r)
    if baseline is not None:
        validate_reading(baseline)
    cfg = resolve(settings)
    findings: list[Finding] = []

    def past(side: str, vital: str, value: int | None, levels: Sequence[tuple[Level, str]], unit: str) -> None:
        """The worst of ``levels`` whose limit ``value`` is past (``side``: "above" or "below"), as a finding."""
        if value is None:
            return
        beyond = operator.gt if side == "above" else operator.lt
        for level, key in sorted(levels, key=lambda t: -t[0]):
            limit = cfg[key]
            if beyond(value, limit):
                findings.append(Finding(vital, level, f"{vital} {value} {unit} is {side} {limit} {unit}: "
                                        f"{level.label}", _src(key)))
                return

    above, below = partial(past, "above"), partial(past, "below")

    if phase == "pre_dose":
        above("systolic", r.systolic_mmHg, [(Level.HOLD, "vitals.pre_dose_systolic_hold_mmHg"),
                                            (Level.STOP, "vitals.systolic_stop_mmHg")], "mmHg")
        above("diastolic", r.diastolic_mmHg, [(Level.HOLD, "vitals.pre_dose_diastolic_hold_mmHg"),
                                              (Level.STOP, "vitals.diastolic_stop_mmHg")], "mmHg")
    else:
        above("systolic", r.systolic_mmHg, [(Level.CAUTION, "vitals.systolic_caution_mmHg"),
                                            (Level.HOLD, "vitals.systolic_hold_mmHg"),
                                            (Level.STOP, "vitals.systolic_stop_mmHg")], "mmHg")
        above("diastolic", r.diastolic_mmHg, [(Level.CAUTION, "vitals.diastolic_caution_mmHg"),
                                              (Level.HOLD, "vitals.diastolic_hold_mmHg"),
                                              (Level.STOP, "vitals.diastolic_stop_mmHg")], "mmHg")
    below("systolic", r.systolic_mmHg, [(Level.HOLD, "vitals.systolic_low_hold_mmHg")], "mmHg")
    above("heart rate", r.heart_rate_bpm, [(Level.CAUTION, "vitals.heart_rate_high_caution_bpm"),
                                           (Level.HOLD, "vitals.heart_rate_high_hold_bpm"),
                                           (Level.STOP, "vitals.heart_rate_high_stop_bpm")], "bpm")
    below("heart rate", r.heart_rate_bpm, [(Level.CAUTION, "vitals.heart_rate_low_caution_bpm"),
                                           (Level.HOLD, "vitals.heart_rate_low_hold_bpm"),
                                           (Level.STOP, "vitals.heart_rate_low_stop_bpm")], "bpm")
    below("SpO2", r.spo2_percent, [(Level.CAUTION, "vitals.spo2_low_caution_percent"),
                                   (Level.HOLD, "vitals.spo2_low_hold_percent"),
                                   (Level.STOP, "vitals.spo2_low_stop_percent")], "%")
    below("respiratory rate", r.respiratory_rate_per_min,
          [(Level.CAUTION, "vitals.respiratory_rate_low_caution_per_min"),
           (Level.HOLD, "vitals.respiratory_rate_low_hold_per_min"),
           (Level.STOP, "vitals.respiratory_rate_low_stop_per_min")], "breaths/min")
    above("respiratory rate", r.respiratory_rate_per_min,
          [(Level.CAUTION, "vitals.respiratory_rate_high_caution_per_min"),
           (Level.HOLD, "vitals.respiratory_rate_high_hold_per_min"),
           (Level.STOP, "vitals.respiratory_rate_high_stop_per_min")], "breaths/min")

    if baseline is not None and phase != "pre_dose":
        rise_level = Level.HOLD if cfg["vitals.baseline_rise_level"] == "hold" else Level.CAUTION
        for vital, now, base, key in (
            ("systolic", r.systolic_mmHg, baseline.systolic_mmHg, "vitals.systolic_rise_mmHg"),
            ("diastolic", r.diastolic_mmHg, baseline.diastolic_mmHg, "vitals.diastolic_rise_mmHg"),
        ):
            if now is not None and base is not None and now - base >= cfg[key]:  # type: ignore[operator]
                findings.append(Finding(
                    f"{vital} rise", rise_level,
                    f"{vital} rose {now - base:+d} mmHg from baseline {base} (limit +{cfg[key]}): {rise_level.label}",
                    _src(key) + "; level: " + _src("vitals.baseline_rise_level"),
                ))
    level = max((f.level for f in findings), default=Level.OK)
    return VitalAssessment(Level(level), tuple(findings))


def classify_series(
    readings: Sequence[tuple[datetime, VitalReading]],
    *,
    phase: str,
    baseline: VitalReading | None = None,
    settings: Mapping[str, object] | None = None,
) -> VitalAssessment:
    """Classify the latest reading of ``readings`` (any order), escalating to STOP for sustained problems: the
    rule of :func:`classify_latest`, given the whole series."""
    if not readings:
        raise ClinicalInputError("no readings to classify", "readings")
    ordered = sorted(readings, key=lambda t: t[0])
    latest_at, latest = ordered[-1]
    return classify_latest(latest_at, latest, reversed(ordered[:-1]), phase=phase, baseline=baseline,
                           settings=settings)


def classify_latest(
    latest_at: datetime,
    latest: VitalReading,
    earlier: Iterable[tuple[datetime, VitalReading]],
    *,
    phase: str,
    baseline: VitalReading | None = None,
    settings: Mapping[str, object] | None = None,
) -> VitalAssessment:
    """Classify ``latest`` (taken at ``latest_at``), escalating to STOP for sustained problems.

    STOP when BP is above the hold limit (180/110) on the latest reading and on an earlier one at least
    ``vitals.bp_repeat_minutes`` (5) before it with no normal BP in between, or when heart rate has been above
    the hold limit (120) for ``vitals.heart_rate_sustained_minutes`` (5).  Source: clinical.md §1 'Thresholds'
    row, one clinic protocol (S, weak): unconfirmed.

    ``earlier``: the readings taken before it, NEWEST FIRST. It is read only as far back as the rule looks: not at
    all when the latest reading is not above a hold limit, otherwise back to the first reading that breaks the run
    (a reading without that vital sign is stepped over), so a caller may hand a lazy iterator over a session of
    any length and only the readings the rule needs are fetched.
    """
    cfg = resolve(settings)
    result = classify_reading(latest, phase=phase, baseline=baseline, settings=cfg)
    findings = list(result.findings)
    if phase == "pre_dose":
        return result

    def bp_high(x: VitalReading) -> bool | None:
        if x.systolic_mmHg is None and x.diastolic_mmHg is None:
            return None
        return ((x.systolic_mmHg or 0) > cfg["vitals.systolic_hold_mmHg"]  # type: ignore[operator]
                or (x.diastolic_mmHg or 0) > cfg["vitals.diastolic_hold_mmHg"])  # type: ignore[operator]

    def hr_high(x: VitalReading) -> bool | None:
        if x.heart_rate_bpm is None:
            return None
        return x.heart_rate_bpm > cfg["vitals.heart_rate_high_hold_bpm"]  # type: ignore[operator]

    # one read of the history for both rules, each pulling only as far back as it looks
    for before, (name, test, key, source_key) in zip(itertools.tee(earlier), (
        ("blood pressure", bp_high, "vitals.bp_repeat_minutes", "vitals.systolic_hold_mmHg"),
        ("heart rate", hr_high, "vitals.heart_rate_sustained_minutes", "vitals.heart_rate_high_hold_bpm"),
    ), strict=True):
        if test(latest) is not True:
            continue
        start = latest_at
        for at, x in before:
            t = test(x)
            if t is None:
                continue
            if not t:
                break
            start = at
        minutes = (latest_at - start).total_seconds() / 60
        if minutes >= cfg[key]:  # type: ignore[operator]
            findings.append(Finding(name, Level.STOP, f"{name} above the hold limit for {minutes:g} min "
                                    f"(limit {cfg[key]} min): stop", _src(key) + "; " + _src(source_key)))
    level = max((f.level for f in findings), default=Level.OK)
    return VitalAssessment(Level(level), tuple(findings))
