"""Demo reminders (synthetic): a demo portal patient with an upcoming dosing session and a follow-up appointment
consents to texts at the front desk, the reminder pass sends every kind (appointment, session, preparation, ride
confirmation, questionnaire) through the console backends, and the patient texts YES to the ride confirmation.

The demo clinic reminds of appointments 72 hours ahead (a clinic setting; the default is 24), so a follow-up on the
next working day is reminded even when the demo is loaded on a Friday evening. The session is booked inside the
clinic's hours on a working day: loaded the day before days off, its preparation reminder is not due yet. If the
demo is loaded in the quiet hours, the pass runs as the worker would when they end (the messages show that moment
as their send time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ketaclinic.audit.services import Actor
from ketaclinic.clinic.hours import grid_starts, hours_of
from ketaclinic.clinic.models import Chair
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.portal.models import PatientAccount
from ketaclinic.reminders import contacts, engine, services
from ketaclinic.reminders.models import Reminder
from ketaclinic.scheduling import services as scheduling
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.models import TreatmentOrder

APPOINTMENT_LEAD_HOURS = 72


def _actor(user) -> Actor:
    return Actor.for_user(user)


def _book_session(desk, order, at):
    """The series' next session less than 24 hours after the reminder pass at ``at`` (so its session, preparation and
    ride reminders are all due then), at the latest time in them that the clinic books (its hours on a working day,
    on the calendar's rows) with a dosing chair free. When the clinic books no time in those 24 hours (a pass on a
    Friday, or the day before a holiday), the first time after them that it does: fewer of its reminders are due at
    the pass."""
    clinic = order.patient.clinic
    minutes = treatments.default_minutes(order, clinic.limits())
    hours = hours_of(clinic)
    soon, latest = at + timedelta(hours=1), at + timedelta(hours=23, minutes=45)
    first_day = timezone.localtime(soon, clinic.tz).date()
    closed = clinic.closed_days(first_day, first_day + timedelta(days=21))
    starts = [start for k in range(22) if (day := first_day + timedelta(days=k)) not in closed
              for start in grid_starts(clinic, day, minutes, hours) if start >= soon]
    within = [start for start in starts if start <= latest]
    room_kind = "intranasal" if order.route == "intranasal" else "infusion"
    chairs = Chair.objects.filter(room__clinic=clinic, room__kind=room_kind, active=True)
    for start in [*reversed(within), *[s for s in starts if s > latest][:40]]:
        for chair in chairs:
            try:
                return treatments.book_session.within(actor=desk, order=order, start=start, room=chair.room,
                                                      chair=chair)
            except treatments.TreatmentError:
                continue
    return None


def _book_follow_up(desk, clinic, patient, clinician, now):
    """The next free follow-up slot within the appointment lead time, on the calendar's own service."""
    types = {t.code: t for t in scheduling.types_for(clinic)}
    follow_up = types.get("follow_up")
    room = clinic.rooms.filter(kind="consult", active=True).first()
    if follow_up is None or room is None:
        return None
    local = timezone.localtime(now, clinic.tz)
    hours = scheduling.hours_for(clinic)
    for days in range(0, 4):
        day = local.date() + timedelta(days=days)
        for step in range(0, 24 * 2):
            at = (datetime.combine(day, hours.opens) + timedelta(minutes=30 * step)).time()
            if at < hours.opens or at >= hours.closes:
                continue
            start = wall_clock_moment(day, at, clinic.tz)
            if start is None or start <= now + timedelta(hours=1) or start > now + timedelta(hours=APPOINTMENT_LEAD_HOURS):
                continue
            try:
                return scheduling.book_appointment.within(
                    actor=desk, clinic=clinic, type=follow_up, start=start, clinician=clinician, room=room,
                    chair=room.chairs.filter(active=True).first(), patient=patient, note="Synthetic demo booking")
            except scheduling.SchedulingError:
                continue
    return None


def seed(ctx) -> None:
    clinic, users = ctx.clinic, ctx.users
    desk, admin = _actor(users["frontdesk"]), _actor(users["admin"])
    now = timezone.now()
    cfg = contacts.settings_for(clinic)
    values = {name: getattr(cfg, name) for name in services.SETTINGS_FIELDS}
    services.update_settings.within(actor=admin, clinic=clinic,
                                    values={**values, "appointment_lead_hours": APPOINTMENT_LEAD_HOURS})
    portal = set(PatientAccount.objects.filter(patient__clinic=clinic).values_list("patient_id", flat=True))
    orders = sorted(TreatmentOrder.objects.filter(patient__clinic=clinic, status=TreatmentOrder.Status.ACTIVE)
                    .select_related("patient"), key=lambda o: (o.patient_id not in portal, o.pk))
    session = None
    # the reminder pass runs now, or when the quiet hours end (read in the clinic's zone here)
    at = contacts.after_quiet_hours(now, clinic.tz, cfg.quiet_start, cfg.quiet_end)
    for order in orders:
        if order.patient_id in portal and contacts.phone_number(order.patient.phone):
            session = _book_session(desk, order, at)
            if session is not None:
                break
    if session is None:
        print("  reminders: no demo portal patient with an active order could be booked; no reminder demo")
        return
    patient = session.patient
    services.record_consent.within(actor=desk, patient=patient, channel="sms", allowed=True,
                                   note="Synthetic demo: signed the texting consent at the front desk")
    appointment = _book_follow_up(desk, clinic, patient, users["prescriber"], at)
    when = timezone.localtime(at, clinic.tz).strftime("%Y-%m-%d %H:%M")
    print(f"\nReminder demo for {patient.display_name} ({patient.mrn}): the reminder pass "
          f"{'runs now' if at == now else 'runs as the worker will when quiet hours end, at ' + when}; "
          "every message below goes to the console backends.")
    result = engine.run(now=at)
    kinds = sorted(set(Reminder.objects.filter(patient=patient, status="sent").values_list("kind", flat=True)))
    print(f"  reminders sent: {result.sent} ({', '.join(kinds)})"
          + ("" if appointment else "; no follow-up slot was free for the appointment reminder"))
    reply = services.receive_sms.within(from_number=patient.phone, text="YES", via="console")
    print(f"  the patient texted YES: {reply}")
