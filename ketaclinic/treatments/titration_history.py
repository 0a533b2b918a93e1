"""Dose, dissociation and response together (issue 21 point 3): for a titrated order, each dosed session's dose
(and the signature that set it), its peak CADSS, lowest MOAA/S, BP rise and adverse events, next to the plan
scale's first score after it; and a chart of peak CADSS against that score's change from baseline.

The seed article notes that dissociation predicted a stronger and longer response (NIMH 2014: Luckenbaugh 2014,
doi:10.1016/j.jad.2014.02.017); the chart shows this patient's own sessions, never a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.clinical.scales import SCALES
from ketaclinic.clinical.titration import fmt
from ketaclinic.treatments.models import DoseDecision, TreatmentOrder
from ketaclinic.treatments.services import titration

CAPTION = ("Peak CADSS and the change in {scale} from baseline after each session of this series. More dissociation "
           "went with a larger improvement in Luckenbaugh 2014 (doi:10.1016/j.jad.2014.02.017); these are this "
           "patient's own sessions, not a prediction.")


@dataclass
class Row:
    sequence: int
    day: object
    dose: str
    decision: DoseDecision | None
    peak_cadss: int | None
    lowest_moaas: int | None
    bp_rise: str
    level: str
    adverse: str
    score: int | None = None
    change_pct: float | None = None


@dataclass
class History:
    plan: object
    scale_name: str
    baseline: int | None
    rows: list[Row]
    svg: SafeString | str


def history(order: TreatmentOrder, tz) -> History | None:
    """The series' history for a titrated ``order`` (None without a plan). A fixed number of queries."""
    plan = titration.plan_of(order)
    if plan is None:
        return None
    unit = plan.core().unit
    series = titration.series(order)
    decisions: dict[int, DoseDecision] = {}
    for d in DoseDecision.objects.filter(session__order=order).select_related("signed_by").order_by("signed_at",
                                                                                                      "pk"):
        decisions[d.session_id] = d  # the newest signature of each session
    scores = titration.plan_scores(plan, order.patient)
    base = titration.series_baseline(scores, series[0].session.dose_started_at if series else None)
    rows = []
    for i, item in enumerate(series):
        s, o = item.session, item.outcome
        rises = [f"{v:+d}" if v is not None else "–" for v in (o.systolic_rise_mmHg, o.diastolic_rise_mmHg)]
        row = Row(o.sequence, s.dose_started_at.astimezone(tz).date(), fmt(o.dose, unit), decisions.get(s.pk),
                  o.peak_cadss, o.lowest_moaas, "/".join(rises) + " mmHg" if any(r != "–" for r in rises) else "",
                  o.vitals_level.name.lower(), ", ".join(f"{sev} {kind}" for kind, sev in o.adverse_events))
        until = series[i + 1].session.dose_started_at if i + 1 < len(series) else None
        after = next((r for r in scores if r[2] > s.dose_started_at and (until is None or r[2] < until)), None)
        if after is not None:
            row.score = after[1]
            if base is not None and base[1] > 0:
                row.change_pct = round(100.0 * (after[1] - base[1]) / base[1], 1)
        rows.append(row)
    name = SCALES[plan.scale].name
    return History(plan, name, base[1] if base else None, rows, render_svg(rows, name))


W, H, ML, MR, MT, MB = 420, 240, 44, 12, 12, 36


def render_svg(rows: list[Row], scale_name: str) -> SafeString | str:
    """Peak CADSS (x, 0 to the highest seen or 40) against the change from baseline (y, -100% to +20% or the
    highest seen), one labelled dot per session with both. Empty when no session has both."""
    points = [(r.peak_cadss, r.change_pct, r.sequence, r.dose) for r in rows
              if r.peak_cadss is not None and r.change_pct is not None]
    if not points:
        return ""
    x_max = max(40, max(p[0] for p in points))
    y_top = max(20.0, max(p[1] for p in points))
    y_bottom = -100.0

    def x(v: float) -> float:
        return ML + (W - ML - MR) * v / x_max

    def y(v: float) -> float:
        return MT + (H - MT - MB) * (y_top - v) / (y_top - y_bottom)

    caption = escape(CAPTION.format(scale=scale_name))
    out = [f'<svg viewBox="0 0 {W} {H}" role="img" class="cadss-response" aria-label="{caption}">',
           f"<title>{caption}</title>",
           f'<line x1="{ML}" y1="{y(0):.1f}" x2="{W - MR}" y2="{y(0):.1f}" class="axis"/>',
           f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{H - MB}" class="axis"/>',
           f'<line x1="{ML}" y1="{y(-50):.1f}" x2="{W - MR}" y2="{y(-50):.1f}" class="response-line"/>',
           f'<text x="{W - MR}" y="{y(-50) - 3:.1f}" text-anchor="end" class="small">response: -50%</text>',
           f'<text x="{(ML + W - MR) / 2:.0f}" y="{H - 6}" text-anchor="middle" class="small">peak CADSS</text>',
           f'<text x="12" y="{(MT + H - MB) / 2:.0f}" transform="rotate(-90 12 {(MT + H - MB) / 2:.0f})" '
           f'text-anchor="middle" class="small">{escape(scale_name)} change %</text>']
    for tick in (0, x_max // 2, x_max):
        out.append(f'<text x="{x(tick):.1f}" y="{H - MB + 14}" text-anchor="middle" class="small">{tick}</text>')
    for tick in (-100, -50, 0):
        out.append(f'<text x="{ML - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" class="small">{tick}</text>')
    for cadss, pct, seq, dose in points:
        label = escape(f"session {seq}: {dose}, peak CADSS {cadss}, {pct:+.0f}%")
        out.append(f'<circle cx="{x(cadss):.1f}" cy="{y(pct):.1f}" r="5" class="dose-point"><title>{label}</title>'
                   f'</circle><text x="{x(cadss) + 7:.1f}" y="{y(pct) - 6:.1f}" class="small">{seq}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped

