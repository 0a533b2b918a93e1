"""Series and booking: the proposed dates of an order's sessions, the conflict checks (the clinic's booking hours and
working days among them, ``clinic.hours``), booking one session or a whole series (all or nothing), and
cancelling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.hours import BookingHours, hours_of, outside_hours
from ketaclinic.clinic.models import Chair, Clinic, Room
from ketaclinic.clinical import schedules
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.inputs import nonexistent_time_message, wall_clock_moment
from ketaclinic.treatments.models import Drug, TreatmentOrder, TreatmentSession
from ketaclinic.treatments.services._common import (
    CLOSED,
    S,
    TreatmentError,
    _clinical,
    _roles,
    limits_for,
    use_case,
)

BOOKING_MINUTES = (15, 600)  # the chair time a booking may hold (a booking limit, not a clinical one)
BOOKERS = (Role.FRONT_DESK, Role.PRESCRIBER, Role.NURSE, Role.CLINIC_ADMIN)


def default_minutes(order: TreatmentOrder, cfg: Mapping[str, object]) -> int:
    """Chair time to book: 30 min of pre-checks + dosing + the route's minimum observation (a booking default,
    the front desk can change it)."""
    obs = {"iv": "observation.iv_min_minutes", "im": "observation.im_min_minutes",
           "intranasal": "observation.esketamine_min_minutes"}[order.route]
    return 30 + int(order.infusion_minutes or 0) + int(cfg[obs])  # type: ignore[arg-type]


def after_booked(order: TreatmentOrder, start: date, clinic: Clinic) -> tuple[date, str]:
    """The day the order's remaining sessions may start from: ``start``, or later when a session of the order is
    already booked on or near it (the order's spacing after the last booked one), with the sentence saying so."""
    tz = clinic.tz
    last = max((timezone.localtime(s, tz).date() for s in
                order.sessions.exclude(status__in=CLOSED).values_list("scheduled_start", flat=True)), default=None)
    if last is None:
        return start, ""
    earliest = last + timedelta(days=max(order.min_spacing_days, 7 // max(order.sessions_per_week, 1)))
    if earliest <= start:
        return start, ""
    return earliest, (f"Session booked on {last:%A %-d %B}: the remaining sessions start from "
                      f"{earliest:%A %-d %B}.")


#: How far ahead the closed days are read for a proposed series: the longest a series runs (the esketamine calendar
#: reaches total_weeks up to 104 in the core; induction series are far shorter).
SERIES_REACH_WEEKS = 104


def propose_series(order: TreatmentOrder, start: date, clinic: Clinic) -> list[tuple[date, str]]:
    """Dates for the remaining sessions of the order, from the clinical core's schedules, starting no earlier than
    the order's spacing after its last booked session (:func:`after_booked`)."""
    booked = order.sessions.exclude(status__in=CLOSED).count()
    remaining = max(0, order.sessions_planned - booked)
    if remaining == 0:
        return []
    start, _why = after_booked(order, start, clinic)
    weekdays = clinic.weekdays() or schedules.WEEKDAYS
    # the days the clinic closed (holidays and the like) within any series' reach: the core moves a session later
    closed = frozenset(clinic.closed_days(start, start + timedelta(weeks=SERIES_REACH_WEEKS)))
    try:
        if order.drug == Drug.ESKETAMINE:
            every = int(clinic.limits()["schedules.esketamine_maintenance_every_weeks"])  # type: ignore[arg-type]
            # only as many weeks as the remaining sessions need: a closure in a later week the series does not
            # reach (a winter break) must not refuse the whole proposal
            cal: list[tuple[date, str]] = []
            for weeks in range(1, SERIES_REACH_WEEKS + 1):
                cal = schedules.esketamine_calendar(start, working_weekdays=weekdays, closed_dates=closed,
                                                    total_weeks=weeks, maintenance_every_weeks=every)
                if len(cal) >= remaining:
                    break
            return cal[:remaining]
        dates = schedules.induction_series(start, remaining, order.sessions_per_week,
                                           min_spacing_days=order.min_spacing_days, working_weekdays=weekdays,
                                           closed_dates=closed)
        return [(d, "induction") for d in dates]
    except ClinicalInputError as e:
        raise _clinical(e) from None


def booking_conflicts(*, order: TreatmentOrder, start: datetime, minutes: int, room: Room, chair: Chair | None,
                      exclude_pk: int | None = None, hours: BookingHours | None = None) -> list[str]:
    """Every reason the booking is refused (empty when it can be booked): outside the clinic's booking hours or
    working weekdays (``clinic.hours``: the calendar's hours; ``hours`` when the caller has read them already),
    on a closed day, a chair, room or the patient already taken, the order's spacing and frequency."""
    problems: list[str] = []
    if outside := outside_hours(order.patient.clinic, start, minutes, what="session", hours=hours):
        problems.append(outside)
    end = start + timedelta(minutes=minutes)
    live = TreatmentSession.objects.exclude(status__in=CLOSED)
    if exclude_pk:
        live = live.exclude(pk=exclude_pk)
    # Only sessions that can reach into [start, end): none is booked longer than BOOKING_MINUTES allows, so the
    # check reads a window of the room's and the patient's sessions, not their whole history.
    # Each check reads only the columns it needs: whole rows of every session of the order (and their patient, chair
    # and room) made a booking cost more the more sessions the order had.
    overlap = live.filter(scheduled_start__lt=end, scheduled_start__gt=start - timedelta(minutes=BOOKING_MINUTES[1])
                          ).only("scheduled_start", "scheduled_minutes", "room_id", "chair_id")
    candidates = [s for s in overlap.filter(Q(room=room) | Q(patient=order.patient)) if s.scheduled_end > start]
    for s in candidates:
        if chair is not None and s.chair_id == chair.pk:
            problems.append(f"{chair} is already booked {timezone.localtime(s.scheduled_start):%H:%M}-"
                            f"{timezone.localtime(s.scheduled_end):%H:%M}.")
        elif s.room_id == room.pk and (chair is None or s.chair_id is None):
            problems.append(f"{room.name} is already booked {timezone.localtime(s.scheduled_start):%H:%M}-"
                            f"{timezone.localtime(s.scheduled_end):%H:%M}.")
    tz = order.patient.clinic.tz
    day = start.astimezone(tz).date()
    if closed := order.patient.clinic.closed_on(day):
        problems.append(f"The clinic is closed on {day:%a %Y-%m-%d} ({closed}).")
    same_day = [at for at in live.filter(patient=order.patient, scheduled_start__gte=start - timedelta(days=1),
                                         scheduled_start__lt=start + timedelta(days=1)
                                         ).values_list("scheduled_start", flat=True)
                if at.astimezone(tz).date() == day]
    if same_day:
        problems.append(f"{order.patient.display_name} already has a session on {day:%Y-%m-%d}.")
    dates = sorted({at.astimezone(tz).date()
                    for at in live.filter(order=order).values_list("scheduled_start", flat=True)} | {day})
    for p in schedules.check_spacing(dates, order.min_spacing_days):
        if str(day) in p and "two sessions" not in p:
            problems.append(f"Spacing: {p} (the order allows at least {order.min_spacing_days} day(s)).")
    if order.drug == Drug.KETAMINE:
        week = [d for d in dates if abs((d - day).days) < 7]
        # at most sessions_per_week in any 7-day window containing the new date
        for anchor in week:
            window = [d for d in dates if 0 <= (d - anchor).days < 7]
            if day in window and len(window) > order.sessions_per_week:
                problems.append(f"More than {order.sessions_per_week} sessions in the 7 days from {anchor}: the "
                                "order's frequency does not allow it.")
                break
    return problems


@use_case
def book_session(*, actor: Actor, order: TreatmentOrder, start: datetime, room: Room, chair: Chair | None = None,
                 minutes: int | None = None) -> TreatmentSession:
    _roles(actor, *BOOKERS, what="book a session")
    order = TreatmentOrder.objects.select_for_update(of=("self",)).select_related("patient", "patient__clinic").get(pk=order.pk)
    if order.status != TreatmentOrder.Status.ACTIVE:
        raise TreatmentError("Only a signed, active order can be booked.")
    if timezone.is_naive(start):
        raise TreatmentError({"start": "Give a date and time."})
    if room.kind not in (Room.Kind.INFUSION, Room.Kind.INTRANASAL, Room.Kind.RECOVERY):
        raise TreatmentError({"room": f"{room.name} is a {room.get_kind_display().lower()}, not a dosing room."})
    if chair is not None and chair.room_id != room.pk:
        raise TreatmentError({"chair": f"{chair} is not in {room.name}."})
    if chair is None and room.chairs.filter(active=True).exists():
        raise TreatmentError({"chair": f"Choose a chair in {room.name}."})
    cfg = limits_for(order.patient)
    minutes = minutes or default_minutes(order, cfg)
    if not BOOKING_MINUTES[0] <= minutes <= BOOKING_MINUTES[1]:
        raise TreatmentError({"minutes": f"Booked minutes must be from {BOOKING_MINUTES[0]} to {BOOKING_MINUTES[1]}."})
    if start < timezone.now() - timedelta(hours=12):
        raise TreatmentError({"start": "That time is in the past."})
    taken = order.sessions.exclude(status__in=CLOSED).count()
    if taken >= order.sessions_planned:
        raise TreatmentError(f"All {order.sessions_planned} sessions of this order are already booked.")
    problems = booking_conflicts(order=order, start=start, minutes=minutes, room=room, chair=chair)
    if problems:
        raise TreatmentError({"start": " ".join(problems)})
    seq = (order.sessions.order_by("-sequence").values_list("sequence", flat=True).first() or 0) + 1
    session = TreatmentSession.objects.create(
        patient=order.patient, order=order, sequence=seq, drug=order.drug, route=order.route, room=room, chair=chair,
        scheduled_start=start, scheduled_minutes=minutes, booked_by=actor.user,
        escort_name="", escort_phone="",
    )
    audit.record(actor, AuditAction.SESSION_BOOKED, subject=session, patient=order.patient,
                 details={"start": start.isoformat(), "room": room.name, "chair": chair.label if chair else "",
                          "minutes": minutes, "sequence": seq})
    return session


@use_case
def book_series(*, actor: Actor, order: TreatmentOrder, days: Sequence[date], at: time, chair: Chair | None,
                minutes: int | None = None) -> list[TreatmentSession]:
    """Book every given day of the order at one time of day in one chair: all or nothing. Each day is booked by
    :func:`book_session` (same checks, one audit entry each); a refusal names the day it is about and books none
    of them."""
    _roles(actor, *BOOKERS, what="book a session")
    if not days or len(days) > order.sessions_planned:
        raise TreatmentError({"start": "Give the dates to book."})
    if chair is None:
        raise TreatmentError({"chair": "Choose a room and chair."})
    tz = order.patient.clinic.tz
    booked = []
    for day in sorted(days):
        start = wall_clock_moment(day, at, tz)
        if start is None:
            raise TreatmentError({"start": nonexistent_time_message(day, at, tz)})
        try:
            booked.append(book_session.within(actor=actor, order=order, start=start,
                                              room=chair.room, chair=chair, minutes=minutes))
        except TreatmentError as e:
            raise TreatmentError({k: f"{day:%a %d %b}: {v}" for k, v in e.errors.items()}) from e
    return booked


@use_case
def cancel_session(*, actor: Actor, session: TreatmentSession, reason: str, no_show: bool = False) -> TreatmentSession:
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status not in (S.BOOKED, S.CHECKED_IN):
        raise TreatmentError("Only a session that has not started can be cancelled.")
    if not reason.strip():
        raise TreatmentError({"reason": "Give the reason."})
    session.status = S.NO_SHOW if no_show else S.CANCELLED
    session.save(update_fields=["status"])
    audit.record(actor, AuditAction.SESSION_CANCELLED, subject=session, patient=session.patient,
                 details={"reason": reason, "no_show": no_show})
    return session


# ------------------------------------------------------------------------------------- series proposals explained
DAY_FORMAT = "%A %-d %B"
SEARCH_DAYS = 21  # how far ahead the nearest bookable series is looked for (a search limit, not a clinical one)


def series_default_start(order: TreatmentOrder, clinic: Clinic) -> date:
    """The day a proposal starts from when none is chosen: today while a session can still fit today (its chair
    time ends before midnight), else tomorrow."""
    now = timezone.localtime(timezone.now(), clinic.tz)
    minutes = default_minutes(order, clinic.limits())
    return now.date() if (now + timedelta(minutes=minutes)).date() == now.date() else now.date() + timedelta(days=1)


def _aims(order: TreatmentOrder, start: date, proposal: list[tuple[date, str]]) -> list[date]:
    """The day each proposed session was aimed at before the schedule moved it to an open day: the chosen start
    for the first, then (ketamine) the previous session plus the order's spacing, or (esketamine) the start of its
    week, or three days into it for the week's second induction session."""
    aims: list[date] = []
    if order.drug == Drug.ESKETAMINE:
        for i, (day, phase) in enumerate(proposal):
            if phase == "induction":  # twice a week in weeks 1-4: day 0 and day 3 of the week
                aim = start + timedelta(days=7 * (i // 2) + (3 if i % 2 else 0))
                if i % 2:
                    aim = max(aim, proposal[i - 1][0] + timedelta(days=2))
            elif phase == "optimisation":  # weekly in weeks 5-8
                aim = start + timedelta(days=7 * (4 + i - 8))
            else:
                aim = day
            aims.append(aim)
        return aims
    gap = max(order.min_spacing_days, 7 // max(order.sessions_per_week, 1))
    for i, (_day, _phase) in enumerate(proposal):
        aims.append(start if i == 0 else proposal[i - 1][0] + timedelta(days=gap))
    return aims


def explain_moves(order: TreatmentOrder, start: date, proposal: list[tuple[date, str]], clinic: Clinic) -> list[str]:
    """A sentence for each proposed date that is not the day it was aimed at, saying why it moved
    ("Saturday 4 July is not a working day: moved to Monday 6 July")."""
    working = clinic.weekdays() or schedules.WEEKDAYS
    start, why = after_booked(order, start, clinic)
    out = [why] if why and proposal else []
    closed = clinic.closed_days(start, proposal[-1][0]) if proposal else {}
    for aim, (day, _phase) in zip(_aims(order, start, proposal), proposal, strict=True):
        if day == aim or day < aim:
            continue
        if aim.weekday() not in working:
            out.append(f"{aim:{DAY_FORMAT}} is not a working day: moved to {day:{DAY_FORMAT}}.")
        elif aim in closed:
            out.append(f"The clinic is closed on {aim:{DAY_FORMAT}} ({closed[aim]}): moved to {day:{DAY_FORMAT}}.")
        else:
            out.append(f"{aim:{DAY_FORMAT}} would be too close to the session before, or more than the order's "
                       f"{order.sessions_per_week} a week: moved to {day:{DAY_FORMAT}}.")
    return out


def series_problems(*, order: TreatmentOrder, days: Sequence[date], at: time, chair: Chair,
                    minutes: int | None = None) -> list[str]:
    """Every reason the series of ``days`` at ``at`` in ``chair`` cannot be booked (empty when all of it can):
    the checks of :func:`book_session`, without booking anything."""
    tz = order.patient.clinic.tz
    minutes = minutes or default_minutes(order, limits_for(order.patient))
    problems: list[str] = []
    now = timezone.now()
    hours = hours_of(order.patient.clinic)  # read once for every day of the series
    for day in days:
        start = wall_clock_moment(day, at, tz)
        if start is None:
            problems.append(f"{day:%a %d %b}: {nonexistent_time_message(day, at, tz)}")
            continue
        if start <= now:
            problems.append(f"{day:%a %d %b}: {at:%H:%M} has passed.")
            continue
        for p in booking_conflicts(order=order, start=start, minutes=minutes, room=chair.room, chair=chair,
                                   hours=hours):
            problems.append(f"{day:%a %d %b}: {p}")
    return problems


def nearest_bookable_series(*, order: TreatmentOrder, start: date, at: time, chair: Chair, clinic: Clinic,
                            minutes: int | None = None, chairs: Sequence[Chair] = ()) -> list[dict]:
    """When the whole series from ``start`` cannot be booked at ``at`` in ``chair``: the nearest that can, as
    offers to book instead: the same dates in another of ``chairs``, and the first later start day (within
    :data:`SEARCH_DAYS`) whose whole series fits at that time in the chosen chair. Each offer is
    ``{"start", "days", "chair", "why"}``."""
    offers: list[dict] = []
    proposal = [d for d, _ in propose_series(order, start, clinic)]
    if not proposal:
        return offers
    for other in chairs:
        if other.pk != chair.pk and not series_problems(order=order, days=proposal, at=at, chair=other,
                                                        minutes=minutes):
            offers.append({"start": start, "days": proposal, "chair": other,
                           "why": f"the same dates in {other}"})
            break
    for k in range(1, SEARCH_DAYS + 1):
        later = start + timedelta(days=k)
        days = [d for d, _ in propose_series(order, later, clinic)]
        if days and not series_problems(order=order, days=days, at=at, chair=chair, minutes=minutes):
            offers.append({"start": later, "days": days, "chair": chair,
                           "why": f"starting {days[0]:{DAY_FORMAT}} in {chair}"})
            break
    return offers
