"""``{{ r|vitals_row }}``: one row of the cockpit's vitals table (``cockpit.html#vitals_row``, also the row the htmx
answer to a saved reading appends).

Drawn here rather than by the template engine: the table shows up to some 30 rows of 14 values each (times,
figures, the level and who recorded it), and resolving and filtering those 400 values one by one was about a
quarter of the cockpit's rendering. The markup is the template's as it was, every value escaped as the template
escaped it; the times are in the request's time zone (the clinic's) as the ``time`` and ``date`` filters gave them.
"""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

ROW = ('<tr class="level-{level}"><td>{at}</td><td class="small">{phase}</td><td>{bp}</td><td>{hr}</td><td>{spo2}</td>'
       '<td>{rr}</td>\n      <td data-at="{iso}" data-systolic_mmHg="{sys}" data-diastolic_mmHg="{dia}" '
       'data-heart_rate_bpm="{hr}" data-spo2_percent="{spo2}"><span class="badge {level}">{level}</span></td>'
       '<td class="small">{by}</td></tr>')


def _blank(value) -> object:
    return "" if value is None else value


@register.filter
def vitals_row(r) -> str:
    at = timezone.localtime(r.taken_at) if r.taken_at is not None else None
    return format_html(ROW, level=r.level_name, at=f"{at:%H:%M}" if at else "", phase=r.get_phase_display(),
                       bp=r.bp, hr=_blank(r.heart_rate_bpm), spo2=_blank(r.spo2_percent),
                       rr=_blank(r.respiratory_rate_per_min), iso=at.isoformat() if at else "",
                       sys=_blank(r.systolic_mmHg), dia=_blank(r.diastolic_mmHg),
                       by=r.recorded_by.label if r.recorded_by is not None else "")
