"""Discharge readiness after a dosing session: ready, or the list of what is missing.

Minimum observation by route (esketamine >= 120 min from the first device: clinical.md §3c, C; IV and IM are
clinic settings), vitals within limits and near baseline, alert and oriented, steady gait, no active adverse
event, escort present and no-driving acknowledged (clinical.md §1 'Escort / driving' row).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ClinicalInputError
from .settings import resolve
from .vitals import Level, VitalReading, classify_reading, validate_reading

ROUTES = ("iv", "im", "intranasal")
_OBS_KEY = {"iv": "observation.iv_min_minutes", "im": "observation.im_min_minutes",
            "intranasal": "observation.esketamine_min_minutes"}
#: What ``minutes_since_dose_end`` is measured from, per route.
CLOCK_START = {
    "iv": "end of the infusion",
    "im": "the injection",
    "intranasal": "the first device (as on the REMS Patient Monitoring Form)",
}


@dataclass(frozen=True)
class DischargeInput:
    """Discharge check input. ``minutes_since_dose_end`` runs from the end of an IV infusion, from an IM injection,
    or from the FIRST esketamine device (REMS Patient Monitoring Form: 'first device to end of monitoring')."""

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


def discharge_readiness(d: DischargeInput, settings: Mapping[str, object] | None = None) -> DischargeDecision:
    """Ready to leave, or every item still missing.

    Sources: clinical.md §3c 'Observation' row (esketamine >= 2 h, C); §1 'Observation / discharge, IV' row (no
    standard; BP/HR back to baseline within ~90 min, S); §1 'Escort / driving' row (C label / S IV).  The
    near-baseline tolerances are unconfirmed clinic settings.
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
        if assessment.level > Level.OK:
            missing.append("Vital signs not within limits: " + "; ".join(f.message for f in assessment.findings))
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
    # For esketamine the label requires both, so no clinic setting can switch them off (clinical.md §1, C).
    label_rules = d.route == "intranasal"
    if (label_rules or cfg["discharge.escort_required"]) and not d.escort_present:
        missing.append("No escort present to take the patient home")
    if (label_rules or cfg["discharge.no_driving_ack_required"]) and not d.no_driving_acknowledged:
        missing.append("No-driving (until the next day after restful sleep) not acknowledged")
    return DischargeDecision(not missing, tuple(missing), minimum, remaining)
