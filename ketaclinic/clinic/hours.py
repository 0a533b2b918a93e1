"""The clinic's booking hours, one rule for every booking path: a booking starts on one of the clinic's working
weekdays (``Clinic.working_weekdays``) and runs, start to end, inside its booking hours that day (the front desk's
calendar's ``scheduling.ClinicHours``, 08:00-18:00 unless the clinic admin changes them).

The hours are kept by ``scheduling``, which stands above ``treatments`` and ``integration`` in the layers: this module
(in ``clinic``, below all three) asks for them at run time through the ``<app>.booking_hours`` hook
(:func:`ketaclinic.apphooks.app_hooks`), so treatment sessions, integration sessions and the calendar's own
appointments are held to the same hours without a lower app importing a higher one. Without such a hook (no
``scheduling`` installed) a booking may take the whole of a working day.

Times are the clinic's wall clock (``Clinic.tz``); the end of a booking is counted in real minutes, so on the night
the clocks change a booking's wall-clock end moves with them, as the calendar draws it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from ketaclinic.apphooks import app_hooks
from ketaclinic.inputs import wall_clock_moment

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: The hours when no app keeps any (no ``booking_hours`` hook): the whole day, on rows of 15 minutes.
WHOLE_DAY = (time(0, 0), time(23, 59), 15)


@dataclass(frozen=True)
class BookingHours:
    """When the clinic books: on ``weekdays`` (0 Monday … 6 Sunday) from ``opens`` to ``closes``, on a grid of
    ``slot_minutes`` from opening (the calendar's rows)."""

    weekdays: frozenset[int]
    opens: time
    closes: time
    slot_minutes: int

    def days(self) -> str:
        """The working weekdays in words: "Monday to Friday", "Monday, Wednesday and Friday"."""
        days = sorted(self.weekdays)
        if not days:
            return "no day"
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            return f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
        names = [DAY_NAMES[d] for d in days]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    def span(self) -> str:
        return f"{self.opens:%H:%M} to {self.closes:%H:%M}"

    def describe(self) -> str:
        """ "from 08:00 to 18:00, Monday to Friday" """
        return f"from {self.span()}, {self.days()}"


def hours_of(clinic) -> BookingHours:
    """The clinic's booking hours: its working weekdays and the hours its ``booking_hours`` hook gives."""
    opens, closes, slot = WHOLE_DAY
    for hook in app_hooks("booking_hours", gatherer="ketaclinic.clinic"):
        opens, closes, slot = hook.booking_hours(clinic)
        break
    return BookingHours(weekdays=clinic.weekdays(), opens=opens, closes=closes, slot_minutes=int(slot))


def _span(start: datetime, end: datetime) -> str:
    if start.date() == end.date():
        return f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}"
    return f"{start:%a %Y-%m-%d %H:%M} to {end:%a %H:%M}"


def outside_hours(clinic, start: datetime, minutes: int, *, what: str = "booking",
                  hours: BookingHours | None = None) -> str:
    """Why a ``what`` from ``start`` (aware) for ``minutes`` cannot be booked under the clinic's hours: a day that
    is not a working weekday, or a start or end outside that day's booking hours (past midnight included). Empty
    when it fits. The message names the hours."""
    hours = hours or hours_of(clinic)
    tz = clinic.tz
    lstart = timezone.localtime(start, tz)
    lend = timezone.localtime(start + timedelta(minutes=minutes), tz)
    if lstart.weekday() not in hours.weekdays:
        return (f"{DAY_NAMES[lstart.weekday()]} is not one of the clinic's working days: it books "
                f"{hours.describe()}.")
    if lstart.time() < hours.opens or lend.date() != lstart.date() or lend.time() > hours.closes:
        return (f"The clinic books from {hours.span()} on its working days; this {what} would run "
                f"{_span(lstart, lend)}.")
    return ""


def grid_starts(clinic, day: date, minutes: int, hours: BookingHours) -> Iterator[datetime]:
    """The starts on ``day`` (a working weekday) on the calendar's grid (every ``slot_minutes`` from opening) at
    which a booking of ``minutes`` fits the hours, as aware moments; a wall-clock time the clocks skip is left
    out."""
    if day.weekday() not in hours.weekdays:
        return
    at = datetime.combine(day, hours.opens)
    step = timedelta(minutes=max(1, hours.slot_minutes))
    while at.time() <= hours.closes and at.date() == day:
        moment = wall_clock_moment(day, at.time(), clinic.tz)
        if moment is not None:
            if outside_hours(clinic, moment, minutes, hours=hours):
                return  # this start runs past closing, and so does every later one
            yield moment
        at += step


def first_bookable(clinic, earliest: datetime, latest: datetime, minutes: int,
                   hours: BookingHours | None = None) -> datetime | None:
    """The first start on the calendar's grid, not before ``earliest`` and not after ``latest``, at which a booking
    of ``minutes`` fits the clinic's hours on a working day the clinic has not closed; None when there is none."""
    hours = hours or hours_of(clinic)
    tz = clinic.tz
    first, last = timezone.localtime(earliest, tz).date(), timezone.localtime(latest, tz).date()
    closed = clinic.closed_days(first, last)
    day = first
    while day <= last:
        if day not in closed:
            for start in grid_starts(clinic, day, minutes, hours):
                if start > latest:
                    return None
                if start >= earliest:
                    return start
        day += timedelta(days=1)
    return None


def last_bookable(clinic, earliest: datetime, latest: datetime, minutes: int,
                  hours: BookingHours | None = None) -> datetime | None:
    """The last such start (see :func:`first_bookable`); None when there is none."""
    hours = hours or hours_of(clinic)
    tz = clinic.tz
    first, last = timezone.localtime(earliest, tz).date(), timezone.localtime(latest, tz).date()
    closed = clinic.closed_days(first, last)
    day = last
    while day >= first:
        if day not in closed:
            starts = [s for s in grid_starts(clinic, day, minutes, hours) if earliest <= s <= latest]
            if starts:
                return starts[-1]
        day -= timedelta(days=1)
    return None
