"""The cockpit's vitals trend: an inline SVG drawn on the server from the readings the cockpit has already loaded
(no query of its own): blood pressure and heart rate on one panel, SpO2 on another, against the clinic's HOLD
limits (Clinic → Clinical limits) and the baseline (the newest reading before the dose). Each series has its own
line style and marker shape, so it reads without colour; the table beside it carries every number."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.safestring import mark_safe

W, H = 640, 330  # the drawing's own units (it scales to its box)
LEFT, RIGHT = 44, 620
TOP = {"bp": (14, 200), "spo2": (234, 306)}  # each panel's top and bottom
RANGE = {"bp": (40, 220), "spo2": (80, 100)}  # mmHg and bpm share 40..220; SpO2 80..100 %
SERIES = (("systolic_mmHg", "bp", "systolic", "Systolic (mmHg)"),
          ("diastolic_mmHg", "bp", "diastolic", "Diastolic (mmHg)"),
          ("heart_rate_bpm", "bp", "heart", "Heart rate (bpm)"),
          ("spo2_percent", "spo2", "spo2", "SpO2 (%)"))
#: The HOLD limits drawn: before the dose the pre-dose blood pressure limits apply, from the dose on the others.
LIMITS = {True: (("vitals.pre_dose_systolic_hold_mmHg", "bp", "systolic HOLD"),
                 ("vitals.pre_dose_diastolic_hold_mmHg", "bp", "diastolic HOLD")),
          False: (("vitals.systolic_hold_mmHg", "bp", "systolic HOLD"),
                  ("vitals.diastolic_hold_mmHg", "bp", "diastolic HOLD"))}
ALWAYS = (("vitals.heart_rate_high_hold_bpm", "bp", "heart rate HOLD"), ("vitals.spo2_low_hold_percent", "spo2", "SpO2 HOLD"))


def _y(panel: str, value: float) -> float:
    lo, hi = RANGE[panel]
    top, bottom = TOP[panel]
    value = min(max(float(value), lo), hi)
    return round(bottom - (value - lo) / (hi - lo) * (bottom - top), 1)


#: Each series' marker, drawn here as one string per series: some 100 markers through the template engine's loop
#: and tags were a tenth of the cockpit's rendering. Only numbers formatted by :func:`_n` go in.
MARKS = {"heart": '<rect x="{}" y="{}" width="6" height="6"></rect>',
         "diastolic": '<circle cx="{}" cy="{}" r="3.2" class="hollow"></circle>'}
MARK = '<circle cx="{}" cy="{}" r="3.5"></circle>'


def _n(value: float) -> str:
    """A coordinate as the SVG reads it (a dot for the decimal, whatever the locale), formatted here: the template
    engine's number formatting of some 250 coordinates was a tenth of the cockpit's time."""
    return f"{value:g}"


def build(rows: list, baseline, limits: dict, now: datetime, *, before_dose: bool) -> dict | None:
    """Everything the template draws, or None without readings. ``rows`` in time order; ``baseline`` the newest
    reading before the dose (None before the dose starts); ``limits`` the clinic's effective settings."""
    rows = [r for r in rows if r.taken_at is not None]
    if not rows:
        return None
    t0 = rows[0].taken_at
    t1 = max(rows[-1].taken_at, now) + timedelta(minutes=10)
    t1 = max(t1, t0 + timedelta(minutes=60))
    span = (t1 - t0).total_seconds()

    def x(at: datetime) -> float:
        return round(LEFT + (at - t0).total_seconds() / span * (RIGHT - LEFT), 1)

    series = []
    for field, panel, css, label in SERIES:
        points = [(x(r.taken_at), _y(panel, getattr(r, field))) for r in rows if getattr(r, field) is not None]
        if points:
            shift = -3 if css == "heart" else 0  # the heart rate's square is drawn from its corner
            marks = [(_n(a + shift), _n(b + shift)) for a, b in points]
            mark = MARKS.get(css, MARK)
            series.append({"css": css, "label": label, "points": points, "field": field,
                           "lo": _n(RANGE[panel][0]), "hi": _n(RANGE[panel][1]), "top": _n(TOP[panel][0]),
                           "bottom": _n(TOP[panel][1]), "marks": marks,
                           "marks_svg": mark_safe("".join(mark.format(a, b) for a, b in marks)),
                           "line": " ".join(f"{a},{b}" for a, b in points)})
    limit_lines = []
    for key, panel, label in LIMITS[before_dose] + ALWAYS:
        value = limits.get(key)
        if value is not None and RANGE[panel][0] <= float(value) <= RANGE[panel][1]:
            # labels alternate between the right edge and the middle, so two close limits do not overprint
            limit_lines.append({"ys": _n(_y(panel, value)), "label": f"{label} {value}",
                                "lx": _n(RIGHT - 2 if len(limit_lines) % 2 == 0 else (LEFT + RIGHT) // 2)})
    base_lines = []
    if baseline is not None:
        for field, label in (("systolic_mmHg", "baseline systolic"), ("diastolic_mmHg", "baseline diastolic")):
            value = getattr(baseline, field)
            if value is not None:
                base_lines.append({"ys": _n(_y("bp", value)), "label": f"{label} {value}"})
    step = 15 if span <= 2 * 3600 else 30 if span <= 4 * 3600 else 60
    first = t0.replace(second=0, microsecond=0) + timedelta(minutes=(-t0.minute) % step)
    ticks, at = [], first
    while at <= t1:
        ticks.append({"xs": _n(x(at)), "at": at})
        at += timedelta(minutes=step)
    yticks = [{"ys": _n(_y("bp", v)), "v": str(v)} for v in (60, 100, 140, 180, 220)] + \
             [{"ys": _n(_y("spo2", v)), "v": str(v)} for v in (80, 90, 100)]
    # the drawing's fixed numbers, as the SVG reads them
    svg = {"w": _n(W), "h": _n(H), "left": _n(LEFT), "right": _n(RIGHT), "bp_top": _n(TOP["bp"][0]),
           "spo2_top": _n(TOP["spo2"][0]), "spo2_bottom": _n(TOP["spo2"][1]), "tick_label_x": _n(LEFT - 4),
           "tick_label_y": _n(H - 8), "name_x": _n(LEFT + 4), "bp_name_y": _n(TOP["bp"][0] + 12),
           "spo2_name_y": _n(TOP["spo2"][0] + 12)}
    return {"series": series, "limits": limit_lines, "baselines": base_lines, "ticks": ticks, "yticks": yticks,
            "t0": t0, "t1": t1, "count": len(rows), "svg": svg}
