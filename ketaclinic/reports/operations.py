"""Operations: are the chairs used, do patients come, how fast do they get to treatment, are the REMS forms in on
time and do patients come back for integration?

Counted in the database; ``build`` makes the same ten queries whatever the data: the clinic, its booking hours,
its chairs, the booked chair minutes by week, appointments by type, sessions by route, the wait from registration
to the first dosed session (its median and 90th percentile in one query), sessions per patient, REMS forms and
integration sessions. A pool of a network's clinics (reports/scope.py) costs three more per further clinic: its
booking hours, chairs and closed days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from django.db import connections
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from ketaclinic.clinic.models import Chair
from ketaclinic.clinical.settings import spec
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.reports.base import Chart, Column, Report, ReportFilters, Section, Series, Table
from ketaclinic.reports.filters import (
    DIAGNOSIS_NOTE,
    ROUTE_ORDER,
    SESSION_FILTERS_NOTE,
    duration,
    in_group,
    in_period,
    not_applied,
    notes,
    pct,
    percentiles,
    route_label,
    session_q,
    sessions,
)
from ketaclinic.reports.scope import Scope
from ketaclinic.scheduling.models import Appointment, ClinicHours
from ketaclinic.treatments.models import RemsForm, TreatmentSession

S = TreatmentSession.Status
#: How many weeks the chair table shows when no date range is set (a page length, not a rule).
DEFAULT_WEEKS = 12


def build(filters: ReportFilters, clinics: Scope | None = None) -> Report:
    """The report of the clinic acting now, or of a pool of a network's clinics (``clinics``: reports/scope.py)."""
    clinics = clinics or Scope.current()
    today = timezone.localdate(timezone.now(), clinics.tz)
    sections = [
        _chairs(filters, clinics, today),
        *_no_shows(filters, clinics),
        _referral(filters, clinics),
        _per_patient(filters, clinics),
        _rems(filters, clinics, today),
        _integration(filters, clinics),
    ]
    return Report(slug="operations", title="Operations",
                  question="Are chairs used, do patients come, and how fast do they get to treatment?",
                  filters=filters, sections=sections, notes=[
                      f"Days are the clinic's own calendar days ({clinics.time_zone}).", SESSION_FILTERS_NOTE,
                      DIAGNOSIS_NOTE])


# ---------------------------------------------------------------------------------------------- chair use
def _week_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True)
class _Calendar:
    """One clinic's chair time: its active chairs, booking hours, working weekdays and closed days in the range."""
    name: str
    chairs: int
    opens: time
    closes: time
    weekdays: frozenset[int]
    closed: dict[date, str]

    @property
    def day_minutes(self) -> int:
        return max((self.closes.hour * 60 + self.closes.minute) - (self.opens.hour * 60 + self.opens.minute), 0)


def _calendar(filters: ReportFilters, clinic, start: date, end: date) -> _Calendar:
    hours = ClinicHours.objects.filter(clinic=clinic).first() or ClinicHours(clinic=clinic)
    chairs = Chair.objects.filter(active=True, room__active=True, room__clinic=clinic)
    if filters.room_id:
        chairs = chairs.filter(room_id=filters.room_id)
    weekdays = clinic.weekdays()
    # working weekdays the clinic closed (holidays and the like); a closed day that is no longer a working weekday
    # is not open anyway
    closed = {d: why for d, why in clinic.closed_days(start, end).items() if d.weekday() in weekdays}
    return _Calendar(clinic.name, chairs.count(), hours.opens, hours.closes, weekdays, closed)


def _chairs(filters: ReportFilters, clinics: Scope, today: date) -> Section:
    tz = clinics.tz
    end = filters.end or today
    start = filters.start or _week_of(end) - timedelta(weeks=DEFAULT_WEEKS - 1)
    f = ReportFilters(start=start, end=end, prescriber_id=filters.prescriber_id, room_id=filters.room_id,
                      diagnosis=filters.diagnosis, route=filters.route)
    booked = {(row["week"].date() if hasattr(row["week"], "date") else row["week"]): row for row in
              sessions(f, clinics).filter(chair__isnull=False).exclude(status=S.CANCELLED)
              .annotate(week=TruncWeek("scheduled_start", tzinfo=tz)).values("week").annotate(
                  minutes=Sum("scheduled_minutes"),
                  dosed=Sum("scheduled_minutes", filter=Q(dose_started_at__isnull=False)),
                  n=Count("pk")).order_by("week")}
    calendars = [_calendar(filters, clinic, start, end) for clinic in clinics.clinics]
    rows = []
    week = _week_of(start)
    while week <= end:
        days = [week + timedelta(days=i) for i in range(7)]
        open_minutes = sum(sum(1 for d in days if start <= d <= end and d.weekday() in c.weekdays and d not in c.closed)
                           * c.day_minutes * c.chairs for c in calendars)
        b = booked.get(week, {})
        minutes, dosed = int(b.get("minutes") or 0), int(b.get("dosed") or 0)
        rows.append((week.isoformat(), b.get("n", 0), minutes, dosed, open_minutes, pct(minutes, open_minutes),
                     pct(dosed, open_minutes)))
        week += timedelta(weeks=1)
    return Section(
        title="Chair utilisation by week",
        table=Table([Column("week", "Week starting (Monday)"), Column("sessions", "Sessions booked", "sessions"),
                     Column("booked", "Booked chair time", "min"), Column("dosed", "Of which dosed", "min"),
                     Column("open", "Chair time open", "min"), Column("used", "Booked / open", "%"),
                     Column("dosed_pct", "Dosed / open", "%")], rows),
        chart=Chart("line", "Week starting", "Chair time booked (% of open)",
                    [Series("booked", [(r[0], r[5]) for r in rows]), Series("dosed", [(r[0], r[6]) for r in rows])],
                    y_max=100),
        notes=notes(
            "Booked chair time: the booked length (scheduled_minutes) of every treatment session booked into a chair "
            "that week, not cancelled (a no-show held its chair, so it counts as booked; 'dosed' counts only "
            "sessions whose dosing started).",
            "Chair time open: " + "; ".join(
                f"{c.name + ': ' if clinics.pooled else ''}{c.chairs} active chair(s)"
                f"{' of the room chosen' if filters.room_id else ''} × the clinic's booking hours "
                f"({c.opens:%H:%M}-{c.closes:%H:%M}, scheduling.ClinicHours) on its working days "
                f"(Clinic.working_weekdays) inside the date range, less the days the clinic closed "
                f"({len(c.closed)} in the range: Calendar › Hours › Closed days)" for c in calendars)
            + (", added up over the clinics" if clinics.pooled else "")
            + ". A session is counted in the week of its clinic-local start.",
            "" if filters.start or filters.end else f"No date range set: the last {DEFAULT_WEEKS} weeks to today.",
            "Prescriber, route and diagnosis group narrow the booked time only; the open time is every chair's."
            if filters.prescriber_id or filters.route or filters.diagnosis else ""))


# ---------------------------------------------------------------------------------------------- no-shows
def _no_shows(filters: ReportFilters, clinics: Scope) -> list[Section]:
    now = timezone.now()
    appts = Appointment.objects.filter(in_period("start", filters, clinics.tz), clinics.q("clinic_id"),
                                       start__lt=now).exclude(
        status=Appointment.Status.CANCELLED)
    if filters.room_id:
        appts = appts.filter(room_id=filters.room_id)
    if filters.diagnosis:
        appts = appts.filter(in_group(filters.diagnosis))
    by_type = list(appts.values("type__code", "type__label").annotate(
        due=Count("pk"), missed=Count("pk", filter=Q(status=Appointment.Status.NO_SHOW))).order_by("type__code"))
    appt_rows = [(r["type__label"], r["due"], r["missed"], pct(r["missed"], r["due"])) for r in by_type]
    due, missed = sum(r[1] for r in appt_rows), sum(r[2] for r in appt_rows)
    appt_rows.append(("All appointments", due, missed, pct(missed, due)))
    by_route = {r["route"]: r for r in sessions(filters, clinics).filter(scheduled_start__lt=now).exclude(
        status=S.CANCELLED).values("route").annotate(
        due=Count("pk"), missed=Count("pk", filter=Q(status=S.NO_SHOW))).order_by()}
    sess_rows = [(route_label(code), by_route[code]["due"], by_route[code]["missed"],
                  pct(by_route[code]["missed"], by_route[code]["due"])) for code in ROUTE_ORDER if code in by_route]
    due, missed = sum(r[1] for r in sess_rows), sum(r[2] for r in sess_rows)
    sess_rows.append(("All treatment sessions", due, missed, pct(missed, due)))
    cols = [Column("what", "Kind"), Column("due", "Due (time has come, not cancelled)", "visits"),
            Column("missed", "No-shows", "visits"), Column("share", "No-show share", "%")]
    return [
        Section(title="No-shows: appointments by type", table=Table(cols, appt_rows),
                chart=Chart("bar", "Appointment type", "No-shows (%)",
                            [Series("no-show share", [(r[0], r[3]) for r in appt_rows])], y_max=100),
                notes=notes("Appointments of the front desk's calendar (scheduling.Appointment) whose time has come, "
                            "not cancelled; a no-show is recorded by the front desk once the time has passed "
                            "(scheduling/services.py cancel with no_show). Cancelled appointments are never due.",
                            not_applied(filters, "prescriber", "route"))),
        Section(title="No-shows: treatment sessions by route", table=Table(cols, sess_rows),
                chart=Chart("bar", "Route", "No-shows (%)",
                            [Series("no-show share", [(r[0], r[3]) for r in sess_rows])], y_max=100),
                notes=["Treatment sessions (treatments.TreatmentSession) whose booked start has come, not "
                       "cancelled; a no-show is marked by the front desk (treatments/services/booking.py "
                       "cancel_session with no_show)."]),
    ]


# ---------------------------------------------------------------------------------------------- referral
def _referral(filters: ReportFilters, clinics: Scope) -> Section:
    tz = clinics.tz
    # grouped from the sessions' side (the dosed sessions by patient, joined to their patient), which PostgreSQL
    # aggregates in one parallel hash pass; grouped from the patients' side it walked both tables by patient
    first = TreatmentSession.objects.filter(session_q(filters, clinics, dated=False),
                                            dose_started_at__isnull=False)
    if filters.diagnosis:
        first = first.filter(in_group(filters.diagnosis))
    waits = (first.values("patient_id", "patient__created_at").annotate(first_dosed=Min("dose_started_at"))
             .filter(in_period("first_dosed", filters, tz)).order_by()
             .annotate(wait=duration("first_dosed", "patient__created_at")))
    n, median, p90 = percentiles(waits, "wait")

    def days(seconds):
        return None if seconds is None else round(seconds / 86400, 1)

    return Section(
        title="Time from referral to first dosed session",
        table=Table([Column("n", "Patients with a first dosed session", "patients"),
                     Column("median", "Median", "days"), Column("p90", "90th percentile", "days")],
                    [(n, days(median), days(p90))]),
        chart=Chart("bar", "Statistic", "Days", [Series("days", [("median", days(median)),
                                                                 ("90th percentile", days(p90))])]),
        notes=notes(
            "Referral is the patient's registration with the clinic (Patient.created_at): it is the first record "
            "the clinic has of a patient, made when the front desk books their first consult "
            "(scheduling/services.py registers a new patient with the booking) or registers them. The first "
            "consult (screening.Consult) is already the first visit, so counting from it would leave out the wait "
            "for that visit.",
            "First dosed session: the earliest session whose dosing started. The date range selects patients by the "
            "clinic-local day of that first dosed session; prescriber, room and route select which sessions may be "
            "the first (the first one of that route, room or prescriber's order).",
            "Days are elapsed time / 24 h. Median: the middle value (mean of the two middle ones for an even count); "
            "90th percentile: nearest rank (ceil(0.9 n))."))


# ---------------------------------------------------------------------------------------------- per patient
def _per_patient(filters: ReportFilters, clinics: Scope) -> Section:
    inner = (sessions(filters, clinics).filter(dose_started_at__isnull=False).values("patient_id")
             .annotate(n=Count("pk")).order_by())
    sql, params = inner.query.sql_with_params()
    with connections[inner.db].cursor() as cur:  # where the queryset reads (the replica inside on_replica)
        cur.execute(f"SELECT per.n, COUNT(*) FROM ({sql}) per GROUP BY per.n ORDER BY per.n", params)
        dist = [(int(n), int(c)) for n, c in cur.fetchall()]
    patients = sum(c for _, c in dist)
    rows = [(n, c, pct(c, patients)) for n, c in dist]
    return Section(
        title="Dosed sessions per patient",
        table=Table([Column("sessions", "Dosed sessions", "sessions"), Column("patients", "Patients", "patients"),
                     Column("share", "Share of patients", "%")], rows),
        chart=Chart("bar", "Dosed sessions in the period", "Patients",
                    [Series("patients", [(str(n), c) for n, c, _ in rows])]),
        notes=["Each patient dosed at least once in the period is counted once, by how many of their sessions in "
               "the period (and filters) had their dosing started. Cancelled sessions and no-shows are never "
               "dosed."])


# ---------------------------------------------------------------------------------------------- REMS
def _rems(filters: ReportFilters, clinics: Scope, today: date) -> Section:
    tz = clinics.tz
    forms = RemsForm.objects.filter(session_q(filters, clinics, "session__")).order_by()
    if filters.diagnosis:
        forms = forms.filter(in_group(filters.diagnosis, "session__patient"))
    done = (RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED)
    submitted = Q(status=RemsForm.Status.SUBMITTED)
    c = forms.annotate(sent_on=TruncDate("submitted_at", tzinfo=tz)).aggregate(
        forms=Count("pk"),
        on_time=Count("pk", filter=submitted & Q(sent_on__lte=F("due_by"))),
        late=Count("pk", filter=submitted & Q(sent_on__gt=F("due_by"))),
        overdue=Count("pk", filter=Q(status__in=done, due_by__lt=today)),
        waiting=Count("pk", filter=Q(status__in=done, due_by__gte=today)),
        draft=Count("pk", filter=Q(status=RemsForm.Status.DRAFT)))
    days = spec("custody.rems_form_days")
    settled = c["on_time"] + c["late"] + c["overdue"]
    rows = [("Submitted on time", c["on_time"], pct(c["on_time"], settled)),
            ("Submitted late", c["late"], pct(c["late"], settled)),
            ("Not submitted, past due", c["overdue"], pct(c["overdue"], settled)),
            ("Not submitted, not yet due", c["waiting"], None),
            ("Still being captured (session not finished)", c["draft"], None),
            ("All forms", c["forms"], None)]
    return Section(
        title="Spravato REMS monitoring forms on time",
        table=Table([Column("what", "Forms"), Column("n", "Forms", "forms"),
                     Column("share", "Share of forms due", "%")], rows),
        chart=Chart("bar", "Form", "Share of forms due (%)",
                    [Series("forms", [(r[0], r[2]) for r in rows[:3]])], y_max=100),
        notes=[f"Every esketamine session gets a REMS Patient Monitoring Form, completed at discharge or emergency "
               f"transfer; it is due {clinics.limits()[days.key]} days after the day of dosing (RemsForm.due_by; "
               f"setting '{days.key}', {days.source}; treatments/services/rems.py). On time: marked submitted on or "
               f"before its due day (clinic-local day of submitted_at). The share is of the forms already due "
               f"(submitted, or past due).",
               "Forms are counted by the day of their session."])


# ---------------------------------------------------------------------------------------------- integration
def _integration(filters: ReportFilters, clinics: Scope) -> Section:
    # the clinic by the offer's own patient, who is always its dosing session's (integration/services.py
    # offer_after): the sessions are joined only for the session filters set (all records: 280 -> 40 ms over
    # 1,000,000 sessions, PostgreSQL)
    offers = IntegrationSession.objects.filter(
        session_q(filters, clinics, "dosing_session__", clinic="patient__clinic_id")).order_by()
    if filters.diagnosis:
        offers = offers.filter(in_group(filters.diagnosis))
    St = IntegrationSession.Status
    c = offers.aggregate(
        offered=Count("pk"), booked=Count("pk", filter=Q(status__in=(St.BOOKED, St.COMPLETED))),
        attended=Count("pk", filter=Q(status=St.COMPLETED)), declined=Count("pk", filter=Q(status=St.DECLINED)),
        cancelled=Count("pk", filter=Q(status=St.CANCELLED)), open=Count("pk", filter=Q(status=St.OFFERED)))
    rows = [("Offered", c["offered"], pct(c["offered"], c["offered"])),
            ("Booked", c["booked"], pct(c["booked"], c["offered"])),
            ("Attended", c["attended"], pct(c["attended"], c["offered"])),
            ("Declined by the patient", c["declined"], pct(c["declined"], c["offered"])),
            ("Cancelled", c["cancelled"], pct(c["cancelled"], c["offered"])),
            ("Offer still open", c["open"], pct(c["open"], c["offered"]))]
    return Section(
        title="Integration sessions: offered, booked, attended",
        table=Table([Column("what", "Integration sessions"), Column("n", "Sessions", "sessions"),
                     Column("share", "Share of offers", "%")], rows),
        chart=Chart("bar", "Stage", "Share of offers (%)", [Series("integration", [(r[0], r[2]) for r in rows[:3]])],
                    y_max=100),
        notes=["An integration session is offered after every discharge home, 24-72 h after dosing "
               "(integration/services.py offer_after; ketaclinic.clinical.schedules.integration_window). Booked: "
               "booked with a therapist (still booked, or attended); attended: marked completed. Counted by the day "
               "of the dosing session it follows, with that session's prescriber, room and route."])

