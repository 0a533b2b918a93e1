"""Per-patient trajectories: each scale's totals over time with the baseline, the response and remission lines
and the dosing sessions, drawn server-side as SVG (no chart library, nothing from a CDN) and given as a table.

Two queries whatever the length of the history: final scores, and dosing sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.clinical.outcomes import REMISSION_KEY, RESPONSE_KEY, assess_change
from ketaclinic.clinical.scales import SCALES
from ketaclinic.measures import dosing_sessions
from ketaclinic.measures.models import Administration, Timing

TIMING_LABELS = dict(Timing.choices)


@dataclass
class Point:
    at: datetime
    day: date
    total: int
    band: str
    timing: str
    source: str
    external_id: str
    change_pct: float | None = None
    response: bool | None = None
    remission: bool | None = None

    @property
    def timing_label(self) -> str:
        return TIMING_LABELS.get(self.timing, self.timing)


@dataclass
class Dose:
    at: datetime
    day: date
    mg: Decimal | None
    drug: str
    route: str
    sequence: int
    external_id: str

    @property
    def label(self) -> str:
        return f"{self.mg.normalize():f} mg" if self.mg is not None else "dose not recorded"


@dataclass
class ScaleTrajectory:
    scale: str
    name: str
    max_total: int
    points: list[Point] = field(default_factory=list)
    baseline: int | None = None
    baseline_on: date | None = None
    response_pct: float | None = None
    response_line: float | None = None
    remission_line: float | None = None
    remission_label: str = ""
    svg: SafeString | str = ""

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


def load(patient, clinic, scales: tuple[str, ...] | None = None) -> tuple[list[ScaleTrajectory], list[Dose]]:
    """Trajectories for every scale with at least one final total (or only ``scales``), oldest point first."""
    tz = clinic.tz
    qs = Administration.objects.filter(
        patient=patient, total__isnull=False,
        status__in=[Administration.Status.FINAL, Administration.Status.AMENDED],
    )
    if scales:
        qs = qs.filter(scale__in=scales)
    rows = qs.order_by("administered_at", "pk").values_list(
        "scale", "administered_at", "total", "band", "timing", "source", "external_id")
    sessions = dosing_sessions.not_called_off(patient).filter(dose_started_at__isnull=False).order_by(
        "dose_started_at").values_list("dose_started_at", "administered_mg", "drug", "route", "sequence",
                                              "external_id")
    # the drug's and route's names as the sessions' own model gives them ("Intravenous infusion", not "iv")
    named = {f: dict(sessions.model._meta.get_field(f).flatchoices) for f in ("drug", "route")}
    doses = [Dose(at, timezone.localtime(at, tz).date(), mg, named["drug"].get(drug, drug),
                  named["route"].get(route, route), seq, str(ext))
             for at, mg, drug, route, seq, ext in sessions]
    limits = clinic.limits()
    by_scale: dict[str, ScaleTrajectory] = {}
    for scale, at, total, band, timing, source, ext in rows:
        spec = SCALES.get(scale)
        if spec is None:
            continue
        traj = by_scale.get(scale)
        if traj is None:
            traj = by_scale[scale] = ScaleTrajectory(scale, spec.name, spec.max_total)
        traj.points.append(Point(at, timezone.localtime(at, tz).date(), total, band, timing, source, str(ext)))
    for traj in by_scale.values():
        _lines(traj, limits)
        traj.svg = render_svg(traj, doses)
    order = {code: i for i, code in enumerate(SCALES)}
    return sorted(by_scale.values(), key=lambda t: order.get(t.scale, 99)), doses


def _lines(traj: ScaleTrajectory, limits: dict) -> None:
    """Baseline (the baseline-timed score, else the first), response and remission lines from core settings."""
    base = next((p for p in traj.points if p.timing == Timing.BASELINE), traj.points[0])
    traj.baseline, traj.baseline_on = base.total, base.day
    if traj.scale in RESPONSE_KEY:
        traj.response_pct = float(limits[RESPONSE_KEY[traj.scale]])
        if base.total > 0:
            traj.response_line = base.total * (1 - traj.response_pct / 100)
        if traj.scale in REMISSION_KEY:
            traj.remission_line = float(limits[REMISSION_KEY[traj.scale]])
            traj.remission_label = f"remission: total ≤ {traj.remission_line:g}"
        elif traj.scale == "pcl5":
            cut = int(limits["outcomes.pcl5_cutpoint"])
            traj.remission_line = cut - 0.5
            traj.remission_label = f"below the provisional cut-point {cut}"
        seen: dict[int, tuple] = {}  # totals repeat: ask the core once per distinct total
        for p in traj.points:
            if p.total not in seen:
                change = assess_change(traj.scale, base.total, p.total, settings=limits)
                seen[p.total] = (change.percent_change, change.response, change.remission)
            p.change_pct, p.response, p.remission = seen[p.total]


# ------------------------------------------------------------------------------------------ SVG
W, H = 760, 260
ML, MR, MT, MB = 40, 16, 16, 34


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def render_svg(traj: ScaleTrajectory, doses: list[Dose], *, width: int = W, height: int = H,
               mini: bool = False) -> SafeString:
    """An accessible SVG line chart: totals over time, baseline/response/remission lines, dosing markers."""
    if not traj.points:
        return mark_safe("")
    pts = traj.points
    start = pts[0].at
    end = max(pts[-1].at, max((d.at for d in doses), default=pts[-1].at))
    span = max((end - start).total_seconds(), 86400.0)
    pw, ph = width - ML - MR, height - MT - MB
    top = traj.max_total or 1

    def x(at: datetime) -> float:
        return ML + pw * max(0.0, (at - start).total_seconds()) / span

    def y(v: float) -> float:
        return MT + ph * (1 - v / top)

    uid = f"traj-{traj.scale}{'-mini' if mini else ''}"
    desc = (f"{traj.name} totals from {pts[0].day} to {pts[-1].day}: {len(pts)} scores, latest {pts[-1].total}"
            f"{f', baseline {traj.baseline}' if traj.baseline is not None else ''}; {len(doses)} dosing sessions.")
    out = [f'<svg class="trajectory{" mini" if mini else ""}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg" data-scale="{traj.scale}">',
           f'<title id="{uid}-t">{escape(traj.name)} over time</title><desc id="{uid}-d">{escape(desc)}</desc>']
    # Axes and horizontal grid.
    step = 5 if top <= 30 else 10 if top <= 60 else 20
    for v in range(0, top + 1, step):
        out.append(f'<line class="grid" x1="{ML}" x2="{width - MR}" y1="{_fmt(y(v))}" y2="{_fmt(y(v))}"/>'
                   f'<text class="tick" x="{ML - 6}" y="{_fmt(y(v) + 4)}" text-anchor="end">{v}</text>')
    out.append(f'<text class="tick" x="{ML}" y="{height - 8}">{pts[0].day:%Y-%m-%d}</text>')
    last_day = max([pts[-1].day] + [d.day for d in doses])
    out.append(f'<text class="tick" x="{width - MR}" y="{height - 8}" text-anchor="end">{last_day:%Y-%m-%d}</text>')
    # Dosing sessions in the shown period.
    shown = [d for d in doses if start <= d.at <= end]
    for d in shown:
        dx = _fmt(x(d.at))
        out.append(f'<g class="dose"><line x1="{dx}" x2="{dx}" y1="{MT}" y2="{MT + ph}"/>'
                   f'<title>Dosing session {d.sequence} on {d.day}: {escape(d.label)} ({escape(d.drug)}, '
                   f'{escape(d.route)})</title></g>')
        if not mini and len(shown) <= 24:
            out.append(f'<text class="dose-label" x="{dx}" y="{MT + 10}" transform="rotate(90 {dx} {MT + 10})">'
                       f'{escape(d.label)}</text>')
    # Reference lines.
    for cls, value, label in (("baseline", traj.baseline, f"baseline {traj.baseline}"),
                              ("response", traj.response_line,
                               f"response: {traj.response_pct:g}% below baseline" if traj.response_pct else ""),
                              ("remission", traj.remission_line, traj.remission_label)):
        if value is None:
            continue
        yy = _fmt(y(value))
        out.append(f'<g class="ref {cls}"><line x1="{ML}" x2="{width - MR}" y1="{yy}" y2="{yy}"/>'
                   f'<title>{escape(label)}</title></g>')
        if not mini:
            out.append(f'<text class="ref-label {cls}" x="{width - MR - 4}" y="{_fmt(y(value) - 4)}" '
                       f'text-anchor="end">{escape(label)}</text>')
    # The scores.
    path = " ".join(f"{_fmt(x(p.at))},{_fmt(y(p.total))}" for p in pts)
    out.append(f'<polyline class="series" points="{path}"/>')
    for p in pts:
        band = f" ({escape(p.band)})" if p.band else ""
        out.append(f'<circle class="point{" portal" if p.source == "portal" else ""}" cx="{_fmt(x(p.at))}" '
                   f'cy="{_fmt(y(p.total))}" r="{2.5 if mini or len(pts) > 60 else 4}" data-total="{p.total}" '
                   f'data-date="{p.day}"><title>{p.day}: {p.total}{band}, {escape(p.timing_label)}</title></circle>')
    out.append("</svg>")
    return mark_safe("".join(out))
