"""Report charts drawn server-side as SVG: grouped bars, lines and Kaplan–Meier steps with their confidence band.

No chart library and nothing from a CDN: the picture is built from the section's own Chart (ketaclinic/reports/
base.py), every text escaped, and each chart names itself for screen readers (role="img" with a title and a
description that points to the table beside it, which holds every number the chart shows).
"""

from __future__ import annotations

from html import escape
from itertools import count

from django.utils.safestring import SafeString, mark_safe

from ketaclinic.reports.base import Chart

W, H = 720, 300
ML, MR, MT, MB = 56, 16, 16, 64  # margins: left (y ticks), right, top, bottom (category labels, legend)
PALETTE = 6  # series colours come from CSS classes s0..s5 (static/css/reports.css), both themes

_ids = count(1)


def _f(v: float) -> str:
    return f"{v:.1f}"


def _nice_max(v: float) -> float:
    """A round top for the y axis at or above ``v``."""
    if v <= 0:
        return 1.0
    for mag in range(-3, 9):
        for step in (1, 2, 2.5, 5):
            top = step * 10 ** mag
            if top >= v:
                return top
    return v


def _ticks(top: float, n: int = 4) -> list[float]:
    return [top * i / n for i in range(n + 1)]


def _tick_label(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1 or v == 0 else f"{v:.2f}"


def render(chart: Chart, *, title: str, table_id: str = "") -> SafeString:
    if chart.kind == "bar":
        return _bars(chart, title, table_id)
    return _lines(chart, title, table_id, step=chart.kind == "step")


def _frame(chart: Chart, title: str, table_id: str, top: float) -> tuple[list[str], str]:
    uid = f"rc{next(_ids)}"
    desc = f"{chart.y_label} by {chart.x_label}."
    if table_id:
        desc += " Every value is in the table below the chart."
    out = [f'<svg class="report-chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{uid}-t {uid}-d" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>']
    ph = H - MT - MB
    for v in _ticks(top):
        y = MT + ph - (v / top) * ph if top else MT + ph
        out.append(f'<line class="grid" x1="{ML}" x2="{W - MR}" y1="{_f(y)}" y2="{_f(y)}"/>'
                   f'<text class="tick" x="{ML - 6}" y="{_f(y + 4)}" text-anchor="end">{_tick_label(v)}</text>')
    out.append(f'<text class="axis" x="12" y="{MT + ph / 2:.0f}" transform="rotate(-90 12 {MT + ph / 2:.0f})" '
               f'text-anchor="middle">{escape(chart.y_label)}</text>')
    return out, uid


def _legend(chart: Chart, out: list[str]) -> None:
    if len(chart.series) < 2:
        return
    x = ML
    for i, s in enumerate(chart.series):
        out.append(f'<rect class="s{i % PALETTE}" x="{x}" y="{H - 18}" width="10" height="10"/>'
                   f'<text class="legend" x="{x + 14}" y="{H - 9}">{escape(s.name)}</text>')
        x += 24 + 7 * len(s.name)


def _categories(chart: Chart) -> list[str]:
    """The x values of every series, as text, each once, in the order they first appear."""
    return list(dict.fromkeys(str(x) for s in chart.series for x, _ in s.points))


def _no_data(out: list[str]) -> SafeString:
    """The frame ``out`` closed with a message where the plot would be: nothing to draw for these filters."""
    pw, ph = W - ML - MR, H - MT - MB
    out.append(f'<text class="tick" x="{ML + pw / 2:.0f}" y="{MT + ph / 2:.0f}" text-anchor="middle">'
               'No data for these filters</text></svg>')
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped


def _closed(chart: Chart, out: list[str]) -> SafeString:
    """The drawn chart ``out`` with its legend, closed."""
    _legend(chart, out)
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped


def _bars(chart: Chart, title: str, table_id: str) -> SafeString:
    categories = _categories(chart)
    values = [y for s in chart.series for _, y in s.points if y is not None]
    top = chart.y_max if chart.y_max is not None else _nice_max(max(values, default=0))
    out, _ = _frame(chart, title, table_id, top)
    if not categories:
        return _no_data(out)
    pw, ph = W - ML - MR, H - MT - MB
    group = pw / len(categories)
    n = max(1, len(chart.series))
    bar = max(2.0, (group * 0.8) / n)
    for ci, cat in enumerate(categories):
        gx = ML + ci * group + group * 0.1
        for si, s in enumerate(chart.series):
            y = dict((str(k), v) for k, v in s.points).get(cat)
            if y is None:
                continue
            h = 0 if not top else min(y, top) / top * ph
            out.append(f'<rect class="s{si % PALETTE}" x="{_f(gx + si * bar)}" y="{_f(MT + ph - h)}" '
                       f'width="{_f(bar - 1)}" height="{_f(h)}"><title>{escape(s.name)}, {escape(cat)}: '
                       f'{_tick_label(y)}</title></rect>')
        label = cat if len(cat) <= 18 else cat[:17] + "…"
        out.append(f'<text class="tick" x="{_f(ML + ci * group + group / 2)}" y="{MT + ph + 16}" '
                   f'text-anchor="middle">{escape(label)}</text>')
    return _closed(chart, out)


def _numeric(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _lines(chart: Chart, title: str, table_id: str, *, step: bool) -> SafeString:
    """Lines over a numeric x (days, minutes), or over categories in order (weeks, months), labelled sparsely."""
    categorical = any(not _numeric(x) for s in chart.series for x, _ in s.points)
    categories = _categories(chart) if categorical else []
    xs = ([float(i) for i in range(len(categories))] if categorical
          else [float(x) for s in chart.series for x, _ in s.points])
    ys = [y for s in chart.series for _, y in s.points if y is not None]
    ys += [hi for s in chart.series for _, hi in (s.band or [])]
    top = chart.y_max if chart.y_max is not None else _nice_max(max(ys, default=0))
    out, _ = _frame(chart, title, table_id, top)
    if not xs:
        return _no_data(out)
    pw, ph = W - ML - MR, H - MT - MB
    x_max = max(1.0, float(len(categories) - 1)) if categorical else _nice_max(max(xs))
    position = {c: float(i) for i, c in enumerate(categories)}

    def xv(x) -> float:
        return position[str(x)] if categorical else float(x)

    def px(x: float) -> float:
        return ML + (x / x_max) * pw if x_max else ML

    def py(y: float) -> float:
        return MT + ph - (min(y, top) / top) * ph if top else MT + ph

    if categorical:
        every = max(1, len(categories) // 6)
        for i, c in enumerate(categories):
            if i % every == 0 or i == len(categories) - 1:
                out.append(f'<text class="tick" x="{_f(px(i))}" y="{MT + ph + 16}" text-anchor="middle">'
                           f'{escape(c)}</text>')
    else:
        for v in _ticks(x_max):
            out.append(f'<text class="tick" x="{_f(px(v))}" y="{MT + ph + 16}" text-anchor="middle">'
                       f'{_tick_label(v)}</text>')
    out.append(f'<text class="axis" x="{ML + pw / 2:.0f}" y="{MT + ph + 34}" text-anchor="middle">'
               f'{escape(chart.x_label)}</text>')
    for si, s in enumerate(chart.series):
        pts = [(xv(x), y) for x, y in s.points if y is not None]
        if not pts:
            continue
        if s.band:
            upper = [(xv(x), hi) for (x, _), (_lo, hi) in zip(s.points, s.band, strict=True)]
            lower = [(xv(x), lo) for (x, _), (lo, _hi) in zip(s.points, s.band, strict=True)]
            poly = _path(upper, px, py, step) + _path(lower, px, py, step, reverse=True)
            out.append(f'<polygon class="band s{si % PALETTE}" points="{poly}"/>')
        out.append(f'<polyline class="series s{si % PALETTE}" points="{_path(pts, px, py, step)}"/>')
        if len(pts) == 1:  # a single point draws no line: mark it
            out.append(f'<circle class="s{si % PALETTE}" cx="{_f(px(pts[0][0]))}" cy="{_f(py(pts[0][1]))}" r="3"/>')
    return _closed(chart, out)


def _path(pts, px, py, step: bool, reverse: bool = False) -> str:
    """Points of a polyline; for a step function each value holds until the next x. ``reverse`` gives the same
    outline walked backwards (the lower edge of a band)."""
    out: list[tuple[float, float]] = []
    prev = None
    for x, y in pts:
        if step and prev is not None:
            out.append((x, prev))
        out.append((x, y))
        prev = y
    if reverse:
        out.reverse()
    return " ".join(f"{_f(px(x))},{_f(py(y))}" for x, y in out) + " "
