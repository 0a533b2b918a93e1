"""Change over time: response, remission, clinically meaningful change, and loss of response after induction.

Sources: clinical.md §4 'Response and remission rules' table and the PCL-5 row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .errors import ClinicalInputError
from .scales import get_scale
from .settings import resolve

#: Scales with change rules, and the setting that holds each rule's number.
RESPONSE_KEY = {
    "phq9": "outcomes.response_percent",
    "qids_sr16": "outcomes.response_percent",
    "madrs": "outcomes.response_percent",
    "gad7": "outcomes.gad7_response_percent",
    "pcl5": "outcomes.pcl5_response_percent",
}
REMISSION_KEY = {
    "phq9": "outcomes.phq9_remission_max",
    "madrs": "outcomes.madrs_remission_max",
    "qids_sr16": "outcomes.qids_remission_max",
}
RELAPSE_KEY = {
    "phq9": "outcomes.relapse_rise_phq9_points",
    "pcl5": "outcomes.relapse_rise_pcl5_points",
    "qids_sr16": "outcomes.relapse_rise_qids_sr16_points",
    "madrs": "outcomes.relapse_rise_madrs_points",
    "gad7": "outcomes.relapse_rise_gad7_points",
}


@dataclass(frozen=True)
class ChangeAssessment:
    """Baseline-to-current change on one scale. ``None`` means the reference defines no such rule for the scale."""

    scale: str
    baseline: int
    current: int
    change: int
    percent_change: float | None
    response: bool
    remission: bool | None
    meaningful_change: bool | None
    detail: str
    reliable_change: bool | None = None


@dataclass(frozen=True)
class RelapseSignal:
    """Loss-of-response check: latest score against the lowest score since the induction series ended."""

    fired: bool
    nadir_total: int | None
    nadir_on: date | None
    latest_total: int | None
    latest_on: date | None
    rise: int | None
    detail: str


def _check_total(scale_code: str, total: object, name: str) -> int:
    scale = get_scale(scale_code)
    if isinstance(total, bool) or not isinstance(total, int):
        raise ClinicalInputError(f"{scale.name} total must be a whole number, not {total!r}", name)
    if not scale.min_total <= total <= scale.max_total:
        raise ClinicalInputError(
            f"{scale.name} total {total} is outside the scale's range {scale.min_total}-{scale.max_total}", name
        )
    return total


def assess_change(
    scale_code: str,
    baseline_total: int,
    current_total: int,
    settings: Mapping[str, object] | None = None,
) -> ChangeAssessment:
    """Response, remission and meaningful change from ``baseline_total`` to ``current_total``.

    Response: reduction of at least the scale's response percent (50% for depression scales; clinical.md §4
    table, Cochrane CD011612.pub3, C).  Remission: PHQ-9 <= 4 (U), MADRS <= 12 (C, configurable), QIDS-SR16 <= 5
    (S), PCL-5 below the cut-point (S); GAD-7 has none in the reference.  Meaningful change: PCL-5 fall of 10
    points (S), reliable change 5 points (S); none defined for the other scales.
    """
    scale = get_scale(scale_code)
    if scale.code not in RESPONSE_KEY:
        raise ClinicalInputError(
            f"{scale.name} has no response/remission rules (it is not an outcome measure here)", "scale_code"
        )
    cfg = resolve(settings)
    base = _check_total(scale.code, baseline_total, "baseline_total")
    cur = _check_total(scale.code, current_total, "current_total")
    change = cur - base
    pct_needed = float(cfg[RESPONSE_KEY[scale.code]])
    notes = []
    if base == 0:
        percent: float | None = None
        response = False
        notes.append("baseline 0: percent change undefined, response not assessable (reported as no response)")
    else:
        percent = round(100.0 * change / base, 1)
        response = 100 * (base - cur) >= pct_needed * base
        notes.append(
            f"change {change:+d} ({percent:+.1f}%); response needs a fall of >= {pct_needed:g}% "
            f"(current <= {base * (1 - pct_needed / 100):g}): {'yes' if response else 'no'}"
        )
    remission: bool | None = None
    if scale.code in REMISSION_KEY:
        limit = int(cfg[REMISSION_KEY[scale.code]])
        remission = cur <= limit
        notes.append(f"remission needs total <= {limit}: {'yes' if remission else 'no'}")
    elif scale.code == "pcl5":
        cut = int(cfg["outcomes.pcl5_cutpoint"])
        remission = cur < cut
        notes.append(f"remission (S) = below the provisional cut-point {cut}: {'yes' if remission else 'no'}")
    else:
        notes.append("no remission rule in the reference for this scale")
    meaningful: bool | None = None
    reliable: bool | None = None
    if scale.code == "pcl5":
        mc = int(cfg["outcomes.pcl5_meaningful_change_points"])
        rc = int(cfg["outcomes.pcl5_reliable_change_points"])
        meaningful = base - cur >= mc
        reliable = base - cur >= rc
        notes.append(f"clinically meaningful fall >= {mc} points: {'yes' if meaningful else 'no'}; "
                     f"reliable fall >= {rc}: {'yes' if reliable else 'no'} (S)")
    detail = f"{scale.name} {base} -> {cur}: " + "; ".join(notes) + "."
    return ChangeAssessment(scale.code, base, cur, change, percent, response, remission, meaningful, detail, reliable)


def relapse_after_induction(
    scale_code: str,
    scores: Sequence[tuple[date, int]],
    induction_end: date,
    settings: Mapping[str, object] | None = None,
) -> RelapseSignal:
    """Loss of response after an induction series, for booster prompts.

    Takes the scores dated on or after ``induction_end``; the nadir is the lowest of them (the earliest if tied),
    and the signal fires when the latest score is at least the configured rise above that nadir (PHQ-9 +5 by
    default: issue 3 example, unconfirmed; PCL-5 +10: clinical.md §4 PCL-5 row, S).  A scale whose rise is not
    configured (0) raises :class:`ClinicalInputError` rather than silently never firing.
    """
    scale = get_scale(scale_code)
    key = RELAPSE_KEY.get(scale.code)
    if key is None:
        raise ClinicalInputError(f"{scale.name} has no loss-of-response rule", "scale_code")
    cfg = resolve(settings)
    rise_needed = int(cfg[key])
    if rise_needed <= 0:
        raise ClinicalInputError(
            f"no loss-of-response rise is configured for {scale.name}: set {key} (no default in the reference)", key
        )
    if not isinstance(induction_end, date):
        raise ClinicalInputError("induction_end must be a date", "induction_end")
    cleaned: list[tuple[date, int]] = []
    for n, entry in enumerate(scores):
        try:
            when, total = entry
        except (TypeError, ValueError):
            raise ClinicalInputError(f"score {n} must be a (date, total) pair", "scores") from None
        if not isinstance(when, date):
            raise ClinicalInputError(f"score {n} date must be a date, not {when!r}", "scores")
        cleaned.append((when, _check_total(scale.code, total, "scores")))
    post = sorted((p for p in cleaned if p[0] >= induction_end), key=lambda p: p[0])
    if not post:
        return RelapseSignal(False, None, None, None, None, None,
                             f"No {scale.name} score on or after the end of induction ({induction_end}).")
    nadir_on, nadir = min(post, key=lambda p: (p[1], p[0]))
    latest_on, latest = post[-1]
    rise = latest - nadir
    fired = rise >= rise_needed
    detail = (
        f"{scale.name}: post-induction low {nadir} on {nadir_on}; latest {latest} on {latest_on}; rise {rise:+d} "
        f"(threshold +{rise_needed}, setting {key}): {'LOSS OF RESPONSE - consider a booster' if fired else 'no signal'}."
    )
    return RelapseSignal(fired, nadir, nadir_on, latest, latest_on, rise, detail)
