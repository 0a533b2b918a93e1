"""Schedules: induction series, esketamine induction and maintenance calendar, integration window, spacing.

Sources: clinical.md §1 'Induction series' rows (2x or 3x weekly up to 4 weeks, Singh 2016; six infusions over
two weeks, Feder 2021), §3b TRD row (esketamine twice weekly weeks 1-4, weekly weeks 5-8, then every 2 weeks or
weekly).  The integration window (24-72 h) is an unconfirmed clinic setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from .errors import ClinicalInputError
from .settings import resolve

WEEKDAYS = frozenset({0, 1, 2, 3, 4})
_HORIZON_DAYS = 366


def _int(value: object, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ClinicalInputError(f"must be a whole number from {lo} to {hi}, not {value!r}", name)
    return value


def _check_start(start: object) -> None:
    """A schedule starts on a calendar date, not at a moment."""
    if not isinstance(start, date) or isinstance(start, datetime):
        raise ClinicalInputError("start must be a date", "start")


def _check_days(working_weekdays: frozenset[int], closed_dates: frozenset[date]) -> None:
    if not working_weekdays or not set(working_weekdays) <= set(range(7)):
        raise ClinicalInputError("working weekdays must be a non-empty set of 0 (Monday) to 6 (Sunday)",
                                 "working_weekdays")
    if any(not isinstance(d, date) for d in closed_dates):
        raise ClinicalInputError("closed dates must be dates", "closed_dates")


def check_spacing(dates: Sequence[date], min_spacing_days: int) -> tuple[str, ...]:
    """Problems with a list of session dates (empty when fine): out of order, same day, or closer than
    ``min_spacing_days`` apart."""
    _int(min_spacing_days, "min_spacing_days", 0, 60)
    problems = []
    for a, b in zip(dates, dates[1:], strict=False):
        gap = (b - a).days
        if gap < 0:
            problems.append(f"{b} comes before {a}: dates are out of order")
        elif gap == 0:
            problems.append(f"two sessions on {a}")
        elif gap < min_spacing_days:
            problems.append(f"{a} to {b} is {gap} day(s), less than the minimum {min_spacing_days}")
    return tuple(problems)


def induction_series(
    start: date,
    sessions: int,
    per_week: int,
    *,
    min_spacing_days: int = 1,
    working_weekdays: frozenset[int] = WEEKDAYS,
    closed_dates: frozenset[date] = frozenset(),
    max_weeks: int | None = None,
) -> list[date]:
    """Induction series dates: ``sessions`` sessions, at most ``per_week`` in any 7-day window, at least
    ``min_spacing_days`` apart, on clinic working days that are not closed, starting on or after ``start``.

    Sessions are spread evenly: the next one is aimed ``max(min_spacing_days, 7 // per_week)`` days after the
    previous (e.g. Mon/Wed/Fri for 3 a week) and moves later when that day is closed.  ``max_weeks`` (e.g. 4,
    Singh 2016 'up to 4 weeks') raises :class:`ClinicalInputError` if the series cannot fit.  Source: clinical.md §1
    'Induction series' rows (C).
    """
    _check_start(start)
    _int(sessions, "sessions", 1, 24)
    _int(per_week, "per_week", 1, 7)
    _int(min_spacing_days, "min_spacing_days", 1, 14)
    _check_days(working_weekdays, closed_dates)
    target_gap = max(min_spacing_days, 7 // per_week)
    out: list[date] = []
    day = start
    while len(out) < sessions:
        if (day - start).days > _HORIZON_DAYS:
            raise ClinicalInputError("no schedule fits within a year: check working days and closed dates",
                                     "closed_dates")
        ok = day.weekday() in working_weekdays and day not in closed_dates
        if ok and out:
            ok = (day - out[-1]).days >= target_gap
            window = [d for d in out if (day - d).days < 7]
            ok = ok and len(window) < per_week
        if ok:
            out.append(day)
        day += timedelta(days=1)
    if max_weeks is not None:
        _int(max_weeks, "max_weeks", 1, 52)
        if (out[-1] - out[0]).days >= max_weeks * 7:
            raise ClinicalInputError(
                f"{sessions} sessions at {per_week} a week do not fit in {max_weeks} weeks (last on {out[-1]})",
                "max_weeks")
    return out


def _next_open(day: date, limit: date, working: frozenset[int], closed: frozenset[date], taken: list[date],
               min_gap: int) -> date | None:
    while day < limit:
        if day.weekday() in working and day not in closed and (not taken or (day - taken[-1]).days >= min_gap):
            return day
        day += timedelta(days=1)
    return None


def esketamine_calendar(
    start: date,
    *,
    maintenance_every_weeks: int = 2,
    total_weeks: int = 12,
    working_weekdays: frozenset[int] = WEEKDAYS,
    closed_dates: frozenset[date] = frozenset(),
    min_spacing_days: int = 2,
) -> list[tuple[date, str]]:
    """Spravato calendar: weeks 1-4 twice weekly ("induction"), weeks 5-8 weekly ("optimisation"), week 9 on
    every 1 or 2 weeks ("maintenance"), up to ``total_weeks``.

    Week k runs from ``start + 7(k-1)``; the twice-weekly sessions aim for day 0 and day 3 of the week.  A closed
    or non-working day moves the session later within the same week; if the week has no open day,
    :class:`ClinicalInputError` is raised.  Source: clinical.md §3b TRD row (C).
    """
    _check_start(start)
    _int(maintenance_every_weeks, "maintenance_every_weeks", 1, 2)
    _int(total_weeks, "total_weeks", 1, 104)
    _int(min_spacing_days, "min_spacing_days", 1, 3)
    _check_days(working_weekdays, closed_dates)
    out: list[tuple[date, str]] = []
    taken: list[date] = []

    def add(aim: date, week_end: date, phase: str, week: int) -> None:
        d = _next_open(aim, week_end, working_weekdays, closed_dates, taken, min_spacing_days)
        if d is None:
            raise ClinicalInputError(f"week {week} ({aim} to {week_end - timedelta(days=1)}) has no open day for a "
                                     f"{phase} session", "closed_dates")
        taken.append(d)
        out.append((d, phase))

    for week in range(1, total_weeks + 1):
        ws = start + timedelta(days=7 * (week - 1))
        we = ws + timedelta(days=7)
        if week <= 4:
            add(ws, we, "induction", week)
            add(max(ws + timedelta(days=3), taken[-1] + timedelta(days=min_spacing_days)), we, "induction", week)
        elif week <= 8:
            add(ws, we, "optimisation", week)
        elif (week - 9) % maintenance_every_weeks == 0:
            add(ws, we, "maintenance", week)
    return out


def integration_window(dose_end: datetime, settings: Mapping[str, object] | None = None) -> tuple[datetime, datetime]:
    """Suggested window for an integration session after a dosing session: 24 to 72 h after it ends.

    Source: issue 3 (24-72 h), no number in clinical.md; settings schedules.integration_start_hours /
    integration_end_hours (unconfirmed).
    """
    if not isinstance(dose_end, datetime):
        raise ClinicalInputError("dose_end must be a datetime", "dose_end")
    cfg = resolve(settings)
    return (dose_end + timedelta(hours=int(cfg["schedules.integration_start_hours"])),  # type: ignore[arg-type]
            dose_end + timedelta(hours=int(cfg["schedules.integration_end_hours"])))  # type: ignore[arg-type]
