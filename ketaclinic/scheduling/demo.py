"""Demo calendar (synthetic): the clinicians' weekly hours inside the clinic's hours, and a few consults,
follow-ups and integration appointments over the coming working days, booked through the calendar's own services
(so every one passes the same checks as the front desk's); one is cancelled and a waitlist entry suits its slot, so
the calendar shows the offer. Follow-ups and integration visits are self-bookable in the portal, and a demo portal
patient has booked a follow-up there (``selfbooking.book``, as the patient)."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Room
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.portal.models import PatientAccount
from ketaclinic.scheduling import selfbooking, services
from ketaclinic.treatments.models import TreatmentOrder

#: (type code, clinician, wall-clock time) booked on each working day, where free.
DAY_PLAN = (("consult", "prescriber", time(9, 0)), ("follow_up", "prescriber", time(11, 0)),
            ("follow_up", "nurse2", time(13, 30)), ("integration", "therapist", time(15, 0)))
DAYS = 6


def _actor(user) -> Actor:
    return Actor.for_user(user)


def seed(ctx) -> None:
    clinic, users = ctx.clinic, ctx.users
    admin, desk = _actor(users["admin"]), _actor(users["frontdesk"])
    hours = services.hours_for(clinic)
    working = sorted(clinic.weekdays())
    for key in ("prescriber", "nurse", "nurse2", "therapist"):
        services.set_availability.within(actor=admin, clinic=clinic, clinician=users[key],
                                          rows=[(d, hours.opens, hours.closes) for d in working])
    types = {t.code: t for t in services.types_for(clinic)}
    rooms = {r.kind: r for r in Room.objects.filter(clinic=clinic, active=True)}
    today = timezone.localtime(timezone.now(), clinic.tz).date()
    patients = list(ctx.patients)
    booked = []
    n = 0
    for k in range(DAYS):
        day = today + timedelta(days=k)
        if day.weekday() not in working:
            continue
        for code, who, at in DAY_PLAN:
            room = rooms.get(next(iter(types[code].kinds())))
            start = wall_clock_moment(day, at, clinic.tz)
            if room is None or start is None or start <= timezone.now():
                continue
            patient = patients[(7 * n + 3) % len(patients)]
            n += 1
            chair = room.chairs.filter(active=True).order_by("label").first()  # the demo's rooms have chairs
            try:
                booked.append(services.book_appointment.within(
                    actor=desk, clinic=clinic, type=types[code], start=start, clinician=users[who], room=room,
                    chair=chair, patient=patient, note="Synthetic demo booking"))
            except services.SchedulingError:
                continue  # the slot is taken by a demo treatment or integration session: leave it
    if len(booked) >= 2:
        freed = booked[-1]
        services.cancel.within(actor=desk, appointment=freed, reason="patient_request",
                               reason_text="Synthetic: asked to move to next month")
        waiting = next(p for p in reversed(patients) if p.pk != freed.patient_id)
        services.add_to_waitlist.within(actor=desk, clinic=clinic, patient=waiting, type=freed.type,
                                        note="Synthetic: can come at short notice")
    _portal_booking(clinic, admin, types)


def journey_accounts(clinic) -> list[PatientAccount]:
    """The demo's portal patients, the one whose journey the demo follows first: a patient with a phone in an
    active treatment series (the lowest order), as the reminders demo chooses (and the messaging demo asks here),
    so one demo patient gets the reminders, books a follow-up and writes to the care team."""
    accounts = list(PatientAccount.objects.filter(patient__clinic=clinic).select_related("user", "patient__clinic"))
    first_order = {}
    for order in TreatmentOrder.objects.filter(patient__clinic=clinic, status=TreatmentOrder.Status.ACTIVE,
                                               patient__in=[a.patient_id for a in accounts]).order_by("pk"):
        first_order.setdefault(order.patient_id, order.pk)
    return sorted(accounts, key=lambda a: (a.patient_id not in first_order or not a.patient.phone,
                                           first_order.get(a.patient_id, 0), a.pk))


def _portal_booking(clinic, admin, types) -> None:
    """Follow-ups and integration visits become self-bookable; the first demo portal patient who can, books the
    first follow-up the portal offers, as themselves."""
    for code in ("follow_up", "integration"):
        t = types[code]
        services.update_type.within(actor=admin, type=t, minutes=t.minutes, active=t.active, self_bookable=True)
    follow_up = services.types_for(clinic)
    follow_up = next(t for t in follow_up if t.code == "follow_up")
    for account in journey_accounts(clinic):
        patient = account.patient
        start = next((s for day in selfbooking.bookable_days(clinic)
                      for s in selfbooking.open_slots(clinic, follow_up, day, patient)), None)
        if start is None:
            return
        try:
            selfbooking.book.within(actor=Actor(user=account.user, roles=frozenset(), client_ip=None),
                                    patient=patient, type=follow_up, start=start)
        except services.SchedulingError:
            continue  # this patient already holds a follow-up: the next one books
        return
