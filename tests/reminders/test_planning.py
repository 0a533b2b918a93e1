"""Each reminder kind goes out at its lead time before the appointment, session or questionnaire, on the channels the
patient allows, never in their quiet hours, and exactly once."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from ketaclinic.clinical.preparation import preparation_instructions
from ketaclinic.inputs import wall_clock_moment
from ketaclinic.reminders import engine, services
from ketaclinic.reminders.channels import LocmemSmsBackend
from ketaclinic.reminders.contacts import after_quiet_hours
from ketaclinic.reminders.models import Reminder
from ketaclinic.treatments import services as treatments
from tests.factories import actor, bookable, open_day
from tests.reminders.conftest import E164, set_reminder_settings

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

DENVER = zoneinfo.ZoneInfo("America/Denver")


def sent(**filters) -> list[tuple[str, str]]:
    return sorted(Reminder.objects.filter(status=Reminder.Status.SENT, **filters).values_list("kind", "channel"))


def test_session_ride_and_preparation_reminders_go_at_their_lead_times(texter, book, clock, no_quiet_hours):
    patient = texter()
    session = book(patient, hours_ahead=48 + 0.25)  # 48 h 15 min ahead: nothing is due yet
    assert engine.run().sent == 0 and LocmemSmsBackend.outbox == [] and mail.outbox == []

    clock.shift(timedelta(minutes=16))  # now 47 h 59 min ahead: the session reminder and the ride request are due
    result = engine.run()
    assert sent() == [("ride", "sms"), ("session", "email"), ("session", "sms")] and result.sent == 3
    ride = Reminder.objects.get(kind="ride")
    assert ride.to == E164 and "Reply YES" in ride.body and "STOP" in ride.body
    assert mail.outbox[0].to == ["avery@example.invalid"]

    clock.shift(timedelta(hours=23, minutes=58))  # 24 h 1 min ahead: preparation not yet
    assert engine.run().sent == 0
    clock.shift(timedelta(minutes=2))
    assert engine.run().sent == 2
    prep = Reminder.objects.get(kind="preparation", channel="email")
    for step in preparation_instructions(session.drug, session.route):  # the core's wording, nothing invented
        assert step in prep.body


def test_an_appointment_reminder_goes_a_day_ahead(texter, staff, clinic, clock, no_quiet_hours, rooms):
    from ketaclinic.scheduling import services as scheduling
    from tests.scheduling.conftest import open_every_day, types

    patient = texter()
    open_every_day(clinic, actor(staff["clinic_admin"]), [staff["prescriber"]])
    start = wall_clock_moment(clock.today() + timedelta(days=3), time(12, 0), clinic.tz)
    kind = types(clinic)["follow_up"]
    appointment = scheduling.book_appointment(actor=actor(staff["front_desk"]), clinic=clinic, type=kind, start=start,
                                              clinician=staff["prescriber"], room=rooms["consult"], patient=patient)
    clock.move_to(start - timedelta(hours=24, minutes=1))
    assert engine.run().sent == 0
    clock.move_to(start - timedelta(hours=23, minutes=59))
    assert engine.run().sent == 2
    [email] = mail.outbox
    assert email.subject.startswith("Your appointment") and "12:00" in email.body
    assert Reminder.objects.filter(appointment=appointment, status="sent").count() == 2


def test_a_questionnaire_due_is_reminded_once_and_not_again_by_measures(make_patient, staff, clinic, no_quiet_hours,
                                                                       texter):
    from ketaclinic.measures import services as measures
    from ketaclinic.portal.services import accept_invitation, invite

    patient = texter(email="quinn@example.invalid")
    _, token = invite(actor=actor(staff["front_desk"]), patient=patient, email=patient.email)
    accept_invitation(token=token, password="correct horse battery", password2="correct horse battery")
    measures.apply_default_schedule(actor=actor(staff["nurse"]), patient=patient)
    assert patient.due_measures.filter(available_from__lte=timezone.now(), status="open").count() > 1
    mail.outbox.clear()  # the portal's invitation

    engine.run()
    assert sent(kind="questionnaire") == [("questionnaire", "email"), ("questionnaire", "sms")]
    [email] = mail.outbox
    assert "questionnaire" in email.body and "988" in email.body and "PHQ" not in email.body
    assert measures.send_reminders() == 0  # measures' own e-mail finds the items already reminded
    assert engine.run().sent == 0 and len(mail.outbox) == 1


def test_the_same_run_twice_sends_nothing_twice(texter, book, no_quiet_hours):
    book(texter(), hours_ahead=20)  # session, preparation and ride all due
    first = engine.run()
    again = engine.run()
    assert first.sent == 5 and again.sent == 0 and again.planned == 0
    assert len(LocmemSmsBackend.outbox) == 3 and len(mail.outbox) == 2  # texts: 3 kinds; e-mails: all but the ride


def test_two_claims_of_one_row_send_it_once(texter, book, no_quiet_hours):
    book(texter(), hours_ahead=30)
    engine.plan()
    row = Reminder.objects.filter(channel="sms").first()
    now = timezone.now()
    assert engine.claim(row, now) is True
    assert engine.claim(row, now) is False  # a second worker finds it taken
    assert engine.send_one(row, now) == ""  # ... and sends nothing
    assert LocmemSmsBackend.outbox == []


def test_a_row_left_sending_by_a_stopped_worker_is_never_sent_again(texter, book, clock, no_quiet_hours):
    book(texter(), hours_ahead=30)
    engine.plan()
    row = Reminder.objects.filter(kind="ride").get()
    assert engine.claim(row, timezone.now())  # the worker stops here, before the send
    clock.shift(timedelta(minutes=20))
    engine.run()
    row.refresh_from_db()
    assert row.status == Reminder.Status.UNKNOWN and not any(m["body"].count("Reply YES") for m in
                                                             LocmemSmsBackend.outbox)


def test_a_failed_text_is_retried_up_to_the_cap(texter, book, clock, no_quiet_hours, clinic, staff):
    set_reminder_settings(clinic, staff, max_attempts=3, retry_minutes=10)
    patient = texter()
    services.record_consent(actor=actor(staff["front_desk"]), patient=patient, channel="email", allowed=False)
    book(patient, hours_ahead=40)  # session + ride by text
    LocmemSmsBackend.fail_next = 100
    engine.run()
    rows = Reminder.objects.filter(channel="sms")
    assert {(r.status, r.attempts) for r in rows} == {("failed", 1)}
    assert engine.run().failed == 0  # not before the retry wait
    clock.shift(timedelta(minutes=11))
    engine.run()
    clock.shift(timedelta(minutes=11))
    engine.run()
    assert {(r.status, r.attempts) for r in rows.all()} == {("gave_up", 3)}
    clock.shift(timedelta(minutes=11))
    LocmemSmsBackend.fail_next = 0
    assert engine.run().sent == 0 and LocmemSmsBackend.outbox == []  # given up: never tried again
    assert "refused" in rows.first().error


def test_a_text_that_fails_once_goes_on_the_retry(texter, book, clock, no_quiet_hours, clinic, staff):
    set_reminder_settings(clinic, staff, retry_minutes=5)
    book(texter(), hours_ahead=40)
    LocmemSmsBackend.fail_next = 1
    engine.run()
    clock.shift(timedelta(minutes=6))
    engine.run()
    assert sorted(Reminder.objects.filter(channel="sms").values_list("status", flat=True)) == ["sent", "sent"]
    assert len(LocmemSmsBackend.outbox) == 2


def test_a_text_whose_answer_was_lost_is_never_sent_again(texter, book, clock, no_quiet_hours, clinic, staff):
    """The provider took the text but its answer timed out: it may have gone out, so it is not retried (the
    patient would get it twice); the row says the outcome is unknown."""
    set_reminder_settings(clinic, staff, retry_minutes=5)
    patient = texter()
    services.record_consent(actor=actor(staff["front_desk"]), patient=patient, channel="email", allowed=False)
    book(patient, hours_ahead=40)  # session + ride by text
    LocmemSmsBackend.lose_answer_next = 1
    engine.run()
    clock.shift(timedelta(minutes=6))
    engine.run()
    statuses = sorted(Reminder.objects.filter(channel="sms").values_list("status", flat=True))
    assert statuses == ["sent", "unknown"]
    assert len(LocmemSmsBackend.outbox) == 2  # one text per reminder, none twice
    assert "TimeoutError" in Reminder.objects.get(status="unknown").error


def test_a_cancelled_session_is_not_reminded(texter, book, staff, no_quiet_hours):
    session = book(texter(), hours_ahead=30)
    engine.plan()
    treatments.cancel_session(actor=actor(staff["front_desk"]), session=session, reason="patient_request")
    engine.send_due()
    assert set(Reminder.objects.values_list("status", flat=True)) == {"skipped"}
    assert LocmemSmsBackend.outbox == [] and mail.outbox == []


# --------------------------------------------------------------------------------------------- consent and opt-out
def test_sms_needs_recorded_consent_and_email_is_on_with_an_address(texter, book, staff, no_quiet_hours):
    patient = texter(sms=False)
    book(patient, hours_ahead=20)
    engine.run()
    assert sent() == [("preparation", "email"), ("session", "email")] and LocmemSmsBackend.outbox == []
    services.record_consent(actor=actor(staff["front_desk"]), patient=patient, channel="sms", allowed=True)
    engine.run()
    assert ("ride", "sms") in sent() and len(LocmemSmsBackend.outbox) == 3


def test_an_email_opt_out_is_honoured(texter, book, staff, no_quiet_hours):
    patient = texter()
    services.record_consent(actor=actor(staff["nurse"]), patient=patient, channel="email", allowed=False,
                            note="Asked for texts only")
    book(patient, hours_ahead=30)
    engine.run()
    assert mail.outbox == [] and {c for _, c in sent()} == {"sms"}


def test_an_opt_out_after_planning_stops_the_message(texter, book, no_quiet_hours):
    patient = texter()
    book(patient, hours_ahead=30)
    engine.plan()
    services.receive_sms(from_number="303.555.0142", text="stop", via="console")
    engine.send_due()
    assert LocmemSmsBackend.outbox == []
    assert set(Reminder.objects.filter(channel="sms").values_list("status", flat=True)) == {"skipped"}


def test_sms_consent_needs_a_phone_number(make_patient, staff):
    patient = make_patient(email="x@example.invalid")
    with pytest.raises(services.ReminderError) as refused:
        services.record_consent(actor=actor(staff["front_desk"]), patient=patient, channel="sms", allowed=True)
    assert "phone" in refused.value.errors["channel"] and not patient.channel_consents.exists()


def test_billing_may_not_record_consent(texter, staff):
    patient = texter(sms=False)
    with pytest.raises(services.ReminderError):
        services.record_consent(actor=actor(staff["billing"]), patient=patient, channel="sms", allowed=True)


# --------------------------------------------------------------------------------------------- quiet hours
@pytest.mark.parametrize(("local_due", "expected_local"), [
    # the evening before clocks spring forward (2026-03-08 in the US): 08:00 MDT the next morning
    (datetime(2026, 3, 7, 22, 30), datetime(2026, 3, 8, 8, 0)),
    # the evening before clocks fall back (2026-11-01): 08:00 MST, one more hour of night
    (datetime(2026, 10, 31, 23, 0), datetime(2026, 11, 1, 8, 0)),
    # after midnight, inside the window: the same morning
    (datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 8, 0)),
    # outside quiet hours: at once
    (datetime(2026, 3, 8, 12, 0), datetime(2026, 3, 8, 12, 0)),
    (datetime(2026, 12, 31, 20, 59), datetime(2026, 12, 31, 20, 59)),
    (datetime(2026, 12, 31, 21, 0), datetime(2027, 1, 1, 8, 0)),
])
def test_quiet_hours_end_on_the_patients_wall_clock_across_daylight_saving(local_due, expected_local):
    due = local_due.replace(tzinfo=DENVER)
    got = after_quiet_hours(due, DENVER, time(21, 0), time(8, 0))
    assert got.astimezone(DENVER).replace(tzinfo=None) == expected_local


def test_quiet_hours_ending_in_the_skipped_hour_end_at_the_first_minute_that_exists():
    due = datetime(2026, 3, 8, 1, 0, tzinfo=DENVER)
    got = after_quiet_hours(due, DENVER, time(0, 0), time(2, 30))
    assert got.astimezone(DENVER).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 0)


def _day_without_clock_change(clinic, clock, days: int):
    """A day ``days`` or more ahead that the clinic books at 10:00 (a working day it has not closed) and whose 10:00 is
    as many hours from 10:00 two days before as the clock says (no daylight-saving change in between), so the test
    reads the same wall-clock hours on any date."""
    day = clock.today() + timedelta(days=days)
    while True:
        start = wall_clock_moment(day, time(10, 0), clinic.tz)
        if bookable(clinic, start, 240) and \
                start.astimezone(clinic.tz).utcoffset() == (start - timedelta(hours=48)).astimezone(clinic.tz).utcoffset():
            return day, start
        day += timedelta(days=1)


def test_a_patient_in_another_time_zone_waits_for_their_own_quiet_hours_to_end(texter, book, clinic, staff, clock):
    """Quiet hours 11:00-13:00 for the test (read on each patient's clock); the reminders come due at 10:00 clinic
    time, which is 12:00 in New York: the Denver patient is texted at once, the New York patient at 13:00 theirs."""
    set_reminder_settings(clinic, staff, quiet_start=time(11, 0), quiet_end=time(13, 0), session_lead_hours=48,
                          ride_lead_hours=48, preparation_lead_hours=1)
    here = texter()
    away = texter(phone="+1 212 555 0199", email="away@example.invalid")
    services.set_time_zone(actor=actor(staff["front_desk"]), patient=away, time_zone="America/New_York")
    new_york = zoneinfo.ZoneInfo("America/New_York")
    _day, start = _day_without_clock_change(clinic, clock, 10)
    book(here, chair="a1", start=start)
    book(away, chair="a2", start=start)
    due = start - timedelta(hours=48)
    clock.move_to(due)
    engine.run()
    assert {r.patient_id for r in Reminder.objects.filter(status="sent")} == {here.pk}
    opens = wall_clock_moment(due.astimezone(new_york).date(), time(13, 0), new_york)
    assert {r.send_after for r in Reminder.objects.filter(patient=away)} == {opens}
    clock.move_to(opens - timedelta(minutes=1))
    assert engine.run().sent == 0
    clock.move_to(opens)
    assert engine.run().sent == 3


def test_a_reminder_due_in_quiet_hours_waits_until_they_end(texter, book, clinic, staff, clock):
    # a session at 10:00 (inside the clinic's hours) reminded 60 h ahead: due at 22:00 three days before, in the
    # quiet hours, so sent when they end at 08:00
    set_reminder_settings(clinic, staff, quiet_start=time(21, 0), quiet_end=time(8, 0), session_lead_hours=60,
                          ride_lead_hours=60)
    patient = texter()
    start = open_day(clinic, 5)  # 10:00 on a day the clinic works, five or more days ahead
    day = start.astimezone(clinic.tz).date()
    book(patient, start=start)
    clock.move_to(start - timedelta(hours=60))
    assert engine.run().sent == 0
    [row, *_] = Reminder.objects.filter(kind="session")
    opens = wall_clock_moment(day - timedelta(days=2), time(8, 0), clinic.tz)
    assert row.send_after == opens
    clock.move_to(opens)
    assert engine.run().sent == 3
