"""The front desk books, moves and cancels appointments: what is refused (with the field it is about) changes
nothing, and every change is kept in the appointment's history and the audit trail."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.services import update_clinic
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import services
from ketaclinic.scheduling.models import Appointment, AppointmentChange, WaitlistEntry
from tests.factories import actor, make_order
from tests.scheduling.conftest import next_week_at, open_every_day, slot_today, types

pytestmark = pytest.mark.calendar

NEW = {"legal_given_name": "Nia", "legal_family_name": "Firstcall", "date_of_birth": date(1990, 5, 6),
       "sex_at_birth": "female", "phone": "(720) 555-0199"}


def _consult(clinic, desk, staff, rooms, start, **kw):
    kw.setdefault("new_patient", dict(NEW))
    return services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start,
                                     clinician=staff["prescriber"], room=rooms["consult"], **kw)


def _nothing_written(before_patients: int) -> bool:
    return (Patient.objects.count() == before_patients and not Appointment.objects.exists()
            and not AuditEntry.objects.filter(action="appointment.booked").exists())


def test_default_types_say_their_length_is_the_clinics_choice(clinic):
    ts = types(clinic)
    assert set(ts) == {"consult", "follow_up", "integration", "treatment", "esketamine"}
    assert all("the clinic's choice" in t.label for t in ts.values())
    assert ts["consult"].roles() == {"prescriber"} and ts["integration"].roles() == {"therapist"}


def test_a_brand_new_patient_is_registered_and_booked_for_a_consult_today(open_clinic, desk, staff, rooms, clinic,
                                                                          clock):
    start = slot_today(clinic, clock, minutes=15)
    a = _consult(clinic, desk, staff, rooms, start, minutes=15)
    assert timezone.localtime(a.start, clinic.tz).date() == timezone.localdate()
    assert a.patient.legal_family_name == "Firstcall" and a.patient.mrn.startswith("KC")
    assert [c.kind for c in a.changes.all()] == ["booked"]
    actions = list(AuditEntry.objects.filter(patient=a.patient).values_list("action", flat=True))
    assert "patient.registered" in actions and "appointment.booked" in actions


def test_the_registry_duplicate_check_holds_and_a_refusal_registers_nobody(open_clinic, desk, staff, rooms, clinic,
                                                                            make_patient):
    make_patient(**{k: NEW[k] for k in ("legal_given_name", "legal_family_name", "date_of_birth")})
    before = Patient.objects.count()
    with pytest.raises(services.SchedulingError) as e:
        _consult(clinic, desk, staff, rooms, next_week_at(clinic, 10))
    assert "already registered" in e.value.errors["confirm_duplicate"]
    assert _nothing_written(before)
    a = _consult(clinic, desk, staff, rooms, next_week_at(clinic, 10), confirm_duplicate=True)
    assert Patient.objects.count() == before + 1 and a.patient.legal_given_name == "Nia"


def test_a_slot_refused_for_the_slot_registers_no_new_patient(open_clinic, desk, staff, rooms, clinic):
    before = Patient.objects.count()
    past = timezone.now() - timedelta(minutes=30)
    with pytest.raises(services.SchedulingError) as e:
        _consult(clinic, desk, staff, rooms, past)
    assert "has passed" in e.value.errors["start"]
    assert _nothing_written(before)


def test_double_booking_the_clinician_or_the_room_is_refused_next_to_the_field(open_clinic, desk, staff, rooms,
                                                                                clinic, patient, make_patient):
    start = next_week_at(clinic, 10)
    _consult(clinic, desk, staff, rooms, start, new_patient=None, patient=patient)
    other = make_patient(legal_given_name="Other")
    with pytest.raises(services.SchedulingError) as e:  # same prescriber, half an hour later, another room
        services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["follow_up"],
                                  start=start + timedelta(minutes=30), clinician=staff["prescriber"],
                                  room=rooms["consult"], patient=other)
    assert "already booked" in e.value.errors["clinician"] and "already booked" in e.value.errors["room"]
    assert Appointment.objects.count() == 1
    # Right after the consult ends, the same prescriber and room are free.
    services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["follow_up"],
                              start=start + timedelta(minutes=60), clinician=staff["prescriber"],
                              room=rooms["consult"], patient=other)


def test_a_chair_holding_a_treatment_session_cannot_be_booked_again(open_clinic, desk, staff, rooms, clinic,
                                                                     patient, make_patient):
    from ketaclinic.treatments import services as treatments

    order = make_order(patient, staff)
    start = next_week_at(clinic, 9)
    treatments.book_session(actor=desk, order=order, start=start, room=rooms["infusion"], chair=rooms["a1"])
    with pytest.raises(services.SchedulingError) as e:
        services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["treatment"],
                                  start=start + timedelta(minutes=30), clinician=staff["nurse"],
                                  room=rooms["infusion"], chair=rooms["a1"], patient=make_patient())
    assert "treatment session" in e.value.errors["chair"]
    services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["treatment"],
                              start=start + timedelta(minutes=30), clinician=staff["nurse"],
                              room=rooms["infusion"], chair=rooms["a2"], patient=make_patient())


def test_outside_the_clinicians_hours_or_the_clinics_hours_or_days_is_refused(clinic, admin, desk, staff, rooms,
                                                                                patient):
    day = timezone.localdate() + timedelta(days=7)
    others = [d for d in range(7) if d != day.weekday()]
    update_clinic(actor=admin, clinic=clinic, data={"working_weekdays": ",".join(str(d) for d in others)})
    clinic.refresh_from_db()
    services.set_clinic_hours(actor=admin, clinic=clinic, opens=time(8), closes=time(18), slot_minutes=15)
    services.set_availability(actor=admin, clinic=clinic, clinician=staff["prescriber"],
                              rows=[(d, time(9), time(12)) for d in others])
    book = dict(actor=desk, clinic=clinic, type=types(clinic)["consult"], clinician=staff["prescriber"],
                room=rooms["consult"], patient=patient)
    with pytest.raises(services.SchedulingError) as e:
        services.book_appointment(start=wall_clock_moment(day, time(10), clinic.tz), **book)
    assert "not one of the clinic's working days" in e.value.errors["start"]
    open_day = day + timedelta(days=1)
    with pytest.raises(services.SchedulingError) as e:  # the clinic opens at 08:00
        services.book_appointment(start=wall_clock_moment(open_day, time(7, 30), clinic.tz), **book)
    assert "books from 08:00 to 18:00" in e.value.errors["start"]
    with pytest.raises(services.SchedulingError) as e:  # 11:30 + 60 min ends after the prescriber's 12:00
        services.book_appointment(start=wall_clock_moment(open_day, time(11, 30), clinic.tz), **book)
    assert "09:00-12:00 only" in e.value.errors["clinician"]
    assert not Appointment.objects.exists()
    services.book_appointment(start=wall_clock_moment(open_day, time(11), clinic.tz), **book)


def test_a_consult_needs_a_prescriber_in_a_consult_room(open_clinic, desk, staff, rooms, clinic, patient):
    with pytest.raises(services.SchedulingError) as e:
        services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"],
                                  start=next_week_at(clinic, 10), clinician=staff["therapist"],
                                  room=rooms["infusion"], chair=rooms["a1"], patient=patient)
    assert "needs a prescriber" in e.value.errors["clinician"] and "consult room" in e.value.errors["room"]


def test_billing_cannot_book(open_clinic, staff, rooms, clinic, patient):
    with pytest.raises(services.SchedulingError, match="may not book"):
        _consult(clinic, actor(staff["billing"]), staff, rooms, next_week_at(clinic, 10), new_patient=None,
                 patient=patient)


def test_reschedule_keeps_the_old_time_in_the_history_and_the_audit(open_clinic, desk, staff, rooms, clinic, patient):
    a = _consult(clinic, desk, staff, rooms, next_week_at(clinic, 10), new_patient=None, patient=patient)
    old = a.start
    a = services.reschedule(actor=desk, appointment=a, start=next_week_at(clinic, 14), reason="patient_request")
    changes = list(a.changes.order_by("at", "pk"))
    assert [c.kind for c in changes] == ["booked", "rescheduled"]
    assert (changes[1].from_start, changes[1].to_start, changes[1].reason) == (old, a.start, "patient_request")
    entry = AuditEntry.objects.get(action="appointment.rescheduled")
    assert entry.details["before"]["start"] == old.isoformat()


def test_a_refused_reschedule_changes_nothing(open_clinic, desk, staff, rooms, clinic, patient, make_patient):
    a = _consult(clinic, desk, staff, rooms, next_week_at(clinic, 10), new_patient=None, patient=patient)
    _consult(clinic, desk, staff, rooms, next_week_at(clinic, 14), new_patient=None, patient=make_patient())
    with pytest.raises(services.SchedulingError) as e:
        services.reschedule(actor=desk, appointment=a, start=next_week_at(clinic, 14), reason="other")
    assert "Say what the reason is" in e.value.errors["reason_text"] and "already booked" in e.value.errors["clinician"]
    a.refresh_from_db()
    assert a.start == next_week_at(clinic, 10) and a.changes.count() == 1


def test_cancel_needs_a_reason_and_a_no_show_waits_for_the_appointment_time(open_clinic, desk, staff, rooms, clinic,
                                                                             patient, clock):
    a = _consult(clinic, desk, staff, rooms, next_week_at(clinic, 10), new_patient=None, patient=patient)
    with pytest.raises(services.SchedulingError) as e:
        services.cancel(actor=desk, appointment=a, reason="")
    assert e.value.errors == {"reason": "Choose the reason."}
    with pytest.raises(services.SchedulingError, match="once its time has come"):
        services.cancel(actor=desk, appointment=a, reason="did_not_attend", no_show=True)
    clock.move_to(a.start + timedelta(minutes=20))
    a = services.cancel(actor=desk, appointment=a, reason="did_not_attend", no_show=True)
    assert a.status == "no_show"
    assert [c.kind for c in a.changes.all()] == ["booked", "no_show"]
    assert AuditEntry.objects.filter(action="appointment.no_show", patient=patient).exists()
    with pytest.raises(services.SchedulingError, match="already no-show"):
        services.cancel(actor=desk, appointment=a, reason="other", reason_text="again")


def test_history_rows_are_never_rewritten(open_clinic, desk, staff, rooms, clinic, patient):
    a = _consult(clinic, desk, staff, rooms, next_week_at(clinic, 10), new_patient=None, patient=patient)
    first = a.changes.get()
    services.reschedule(actor=desk, appointment=a, start=next_week_at(clinic, 11), reason="clinician_unavailable")
    services.cancel(actor=desk, appointment=a, reason="patient_ill", reason_text="flu")
    first.reason_text = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        first.save()
    with pytest.raises(ValueError, match="append-only"):
        first.delete()
    first_again = AppointmentChange.objects.get(pk=first.pk)
    assert (first_again.kind, first_again.to_start, first_again.at) == (first.kind, first.to_start, first.at)
    assert list(a.changes.values_list("kind", flat=True)) == ["booked", "rescheduled", "cancelled"]


def test_a_cancellation_offers_the_slot_to_matching_waitlist_entries(open_clinic, desk, staff, rooms, clinic,
                                                                      patient, make_patient):
    start = next_week_at(clinic, 10)
    a = _consult(clinic, desk, staff, rooms, start, new_patient=None, patient=patient)
    weekday = timezone.localtime(start, clinic.tz).weekday()
    suits = services.add_to_waitlist(actor=desk, clinic=clinic, patient=make_patient(legal_given_name="Wanda"),
                                     type=types(clinic)["consult"], weekdays=[weekday], earliest=time(9),
                                     latest=time(11))
    services.add_to_waitlist(actor=desk, clinic=clinic, patient=make_patient(legal_given_name="Late"),
                             type=types(clinic)["consult"], earliest=time(15))
    services.add_to_waitlist(actor=desk, clinic=clinic, patient=make_patient(legal_given_name="Other day"),
                             type=types(clinic)["consult"], weekdays=[(weekday + 1) % 7])
    services.add_to_waitlist(actor=desk, clinic=clinic, patient=make_patient(legal_given_name="Followup"),
                             type=types(clinic)["follow_up"])
    a = services.cancel(actor=desk, appointment=a, reason="patient_request")
    offers = services.waitlist_matches(clinic, [a])
    assert [w for _, w in offers] == [suits]
    booked = services.book_appointment(actor=desk, clinic=clinic, type=types(clinic)["consult"], start=start,
                                       clinician=staff["prescriber"], room=rooms["consult"], patient=suits.patient,
                                       waitlist_entry=suits)
    suits.refresh_from_db()
    assert suits.status == WaitlistEntry.Status.BOOKED and booked.patient == suits.patient
    assert AuditEntry.objects.filter(action="waitlist.booked").count() == 1


def test_weekly_hours_stay_inside_the_clinics_days_and_hours_and_only_the_admin_sets_them(clinic, admin, desk,
                                                                                          staff):
    services.set_clinic_hours(actor=admin, clinic=clinic, opens=time(8), closes=time(18), slot_minutes=15)
    prescriber = staff["prescriber"]
    working = sorted(clinic.weekdays())
    closed = next(d for d in range(7) if d not in working)
    with pytest.raises(services.SchedulingError, match="not one of the clinic's working days"):
        services.set_availability(actor=admin, clinic=clinic, clinician=prescriber, rows=[(closed, time(9), time(12))])
    with pytest.raises(services.SchedulingError, match="outside the clinic's hours"):
        services.set_availability(actor=admin, clinic=clinic, clinician=prescriber,
                                  rows=[(working[0], time(7), time(12))])
    with pytest.raises(services.SchedulingError, match="overlaps"):
        services.set_availability(actor=admin, clinic=clinic, clinician=prescriber,
                                  rows=[(working[0], time(9), time(12)), (working[0], time(11), time(13))])
    with pytest.raises(services.SchedulingError, match="may not set"):
        services.set_availability(actor=desk, clinic=clinic, clinician=prescriber, rows=[(working[0], time(9), time(12))])
    made = services.set_availability(actor=admin, clinic=clinic, clinician=prescriber,
                                     rows=[(working[0], time(9), time(12)), (working[0], time(13), time(17))])
    assert len(made) == 2
    assert AuditEntry.objects.filter(action="scheduling.availability.set").count() == 1


def test_the_booking_days_follow_the_clinic_setting(clinic, admin, staff, rooms, desk, patient):
    """With every day open and the prescriber available, a booking a week ahead is accepted on any test date."""
    open_every_day(clinic, admin, [staff["prescriber"]], opens=time(7), closes=time(19))
    a = _consult(clinic, desk, staff, rooms, next_week_at(clinic, 7), new_patient=None, patient=patient)
    assert timezone.localtime(a.start, clinic.tz).time() == time(7)


def test_the_clinic_admin_changes_a_types_length_and_the_label_keeps_saying_it_is_the_clinics_choice(clinic, admin,
                                                                                                    desk):
    consult = types(clinic)["consult"]
    with pytest.raises(services.SchedulingError, match="may not change"):
        services.update_type(actor=desk, type=consult, minutes=90, active=True)
    with pytest.raises(services.SchedulingError) as e:
        services.update_type(actor=admin, type=consult, minutes=0, active=True)
    assert "minutes" in e.value.errors
    t = services.update_type(actor=admin, type=consult, minutes=90, active=True)
    assert t.minutes == 90 and "90 min by default (the clinic's choice)" in t.label
    entry = AuditEntry.objects.get(action="scheduling.type.updated")
    assert entry.details["before"]["minutes"] == 60 and entry.details["after"]["minutes"] == 90
