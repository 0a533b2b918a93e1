"""Times said in plain units for screens read at a glance across a room: "41 min since start", "vitals due in
3 min", "due now", "overdue by 2 min", "1 hour 5 min". One place for the wording (the Today board and the cockpit
use it through the ``plaintime`` template filters; static/js/app.js keeps a shown time fresh with the same words).
Pure: the caller passes the moments, so "now" is whatever the page was drawn at."""

from __future__ import annotations

import math
from datetime import datetime


def duration(minutes: int) -> str:
    """A whole number of minutes: "under 1 min", "1 min", "41 min", "1 hour", "2 hours 5 min"."""
    minutes = max(0, int(minutes))
    if minutes == 0:
        return "under 1 min"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    said = f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{said} {rest} min" if rest else said


def since(start: datetime, now: datetime) -> str:
    """How long ago ``start`` was, in whole minutes counted down ("41 min"; a start in the future is "under 1 min")."""
    return duration(math.floor((now - start).total_seconds() / 60))


def due(at: datetime, now: datetime) -> str:
    """When something timed is due: "due in 3 min" (a part-minute counts as a whole one), "due now" (within the
    minute after the moment), "overdue by 2 min" (whole minutes past). Parts of a second are dropped, so a reading
    due at 10:34:00.4 is "due in 10 min" at 10:24:00."""
    seconds = math.trunc((at - now).total_seconds())
    if seconds > 0:
        return f"due in {duration(math.ceil(seconds / 60))}"
    if seconds > -60:
        return "due now"
    return f"overdue by {duration(math.floor(-seconds / 60))}"


def until(at: datetime, now: datetime) -> str:
    """How long until ``at``, counted up to the minute ("in 25 min"), or "now" once it has come."""
    seconds = math.trunc((at - now).total_seconds())
    return f"in {duration(math.ceil(seconds / 60))}" if seconds > 0 else "now"
