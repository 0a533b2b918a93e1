"""A patient's text reply: YES/NO recorded on the session whose ride confirmation they were sent, STOP/START set the
SMS opt-out, a reply from a number no patient has changes nothing, and the webhook refuses an unsigned or badly
signed post. The front desk reads the ride status on the reminders worklist."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.reminders import engine, services
from ketaclinic.reminders.contacts import channel_allowed
from ketaclinic.reminders.models import ChannelConsent, Reminder, RideReply
from ketaclinic.reminders.status import ride_status
from tests.factories import next_bookable
from tests.reminders.conftest import E164

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

SECRET = "test-webhook-secret-0123456789"


def _asked(texter, book, hours=30):
    patient = texter()
    session = book(patient, hours_ahead=hours)
    engine.run()
    assert Reminder.objects.filter(kind="ride", session=session, status="sent").exists()
    return patient, session


def test_yes_is_recorded_on_the_session_that_was_asked_about(texter, book, no_quiet_hours):
    patient = texter()
    asked = book(patient, hours_ahead=30)
    # not yet asked: its ride request is days away (the clinic's first bookable time four days after the first)
    later = book(patient, start=next_bookable(patient.clinic, asked.scheduled_start + timedelta(days=4)))
    engine.run()
    assert ride_status(asked).state == "asked" and ride_status(later).state == "not_asked"

    result = services.receive_sms(from_number="+1 303-555-0142", text=" yes ", via="console")
    [reply] = RideReply.objects.all()
    assert (reply.session, reply.patient, reply.answer, reply.from_number) == (asked, patient, "yes", E164)
    assert "recorded" in result
    assert ride_status(asked).state == "yes" and ride_status(asked).confirmed
    assert ride_status(later).state == "not_asked"
    entry = AuditEntry.objects.get(action=AuditAction.REMINDER_RIDE_REPLIED)
    assert entry.patient_id == patient.pk and entry.details["answer"] == "yes"


def test_a_yes_from_a_number_two_patients_share_is_recorded_on_neither(texter, book, no_quiet_hours):
    """A family's one mobile: both patients were asked about their ride; a YES cannot say whose, so nothing is
    recorded and the front desk phones."""
    first, second = texter(), texter(email="robin@example.invalid")
    asked = [book(first, hours_ahead=30), book(second, hours_ahead=30, chair="a2")]
    engine.run()
    result = services.receive_sms(from_number=E164, text="YES", via="webhook")
    assert "more than one patient" in result and RideReply.objects.count() == 0
    assert [ride_status(s).state for s in asked] == ["asked", "asked"]


def test_a_later_no_is_added_not_overwritten(texter, book, no_quiet_hours):
    _, session = _asked(texter, book)
    services.receive_sms(from_number=E164, text="YES", via="webhook")
    services.receive_sms(from_number=E164, text="No", via="webhook")
    assert list(RideReply.objects.values_list("answer", flat=True)) == ["yes", "no"]  # both kept, in order
    assert ride_status(session).state == "no"
    reply = RideReply.objects.first()
    reply.answer = "no"
    with pytest.raises(Exception, match="append-only"):
        reply.save()


def test_a_reply_from_an_unknown_number_changes_nothing(texter, book, no_quiet_hours):
    _, session = _asked(texter, book)
    consents = ChannelConsent.objects.count()
    audit_rows = AuditEntry.objects.count()
    for text in ("YES", "STOP", "NO", "START"):
        result = services.receive_sms(from_number="+1 720 555 0000", text=text, via="webhook")
        assert "nothing changed" in result
    assert RideReply.objects.count() == 0 and ChannelConsent.objects.count() == consents
    assert AuditEntry.objects.count() == audit_rows
    assert ride_status(session).state == "asked"


def test_yes_with_no_ride_request_waiting_changes_nothing(texter):
    texter()
    assert "nothing changed" in services.receive_sms(from_number=E164, text="YES", via="console")
    assert RideReply.objects.count() == 0


def test_stop_opts_out_of_texts_and_start_opts_back_in(texter, book, clock, no_quiet_hours):
    patient = texter()
    assert services.receive_sms(from_number="3035550142", text="STOP", via="webhook") == "Texts stopped."
    assert not channel_allowed(patient, "sms")
    book(patient, hours_ahead=30)
    engine.run()
    assert not Reminder.objects.filter(channel="sms").exists()
    services.receive_sms(from_number=E164, text="start", via="webhook")
    assert channel_allowed(patient, "sms")
    row = patient.channel_consents.order_by("-recorded_at", "-pk").first()
    assert (row.source, row.allowed) == ("keyword", True)


def test_the_console_command_records_a_reply(texter, book, no_quiet_hours, capsys):
    _, session = _asked(texter, book)
    call_command("sms_reply", "(303) 555-0142", "YES")
    assert "recorded" in capsys.readouterr().out
    assert ride_status(session).state == "yes"


def _signed(body: str, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """The provider's headers: the Unix time it signed at, and the HMAC of ``<time>.<body>``."""
    stamp = str(int(timezone.now().timestamp()) if at is None else at)
    mac = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-KetaClinic-Timestamp": stamp, "X-KetaClinic-Signature": "sha256=" + mac}


@override_settings(KETACLINIC_SMS_WEBHOOK_SECRET=SECRET)
def test_the_webhook_records_a_signed_reply_and_refuses_a_bad_signature(texter, book, no_quiet_hours):
    _, session = _asked(texter, book)
    body = urlencode({"from_number": E164, "text": "YES"})
    visitor = Client()
    url = "/reminders/sms/inbound/"
    kind = "application/x-www-form-urlencoded"

    bad = visitor.post(url, body, content_type=kind, headers=_signed(body, "wrong"))
    assert bad.status_code == 403 and RideReply.objects.count() == 0
    missing = visitor.post(url, body, content_type=kind)
    assert missing.status_code == 400 and RideReply.objects.count() == 0
    tampered = urlencode({"from_number": E164, "text": "NO"})
    assert visitor.post(url, tampered, content_type=kind,
                        headers=_signed(body)).status_code == 403
    assert RideReply.objects.count() == 0

    replayed = visitor.post(url, body, content_type=kind,
                            headers=_signed(body, at=int(timezone.now().timestamp()) - 301))  # captured, posted later
    assert replayed.status_code == 403 and RideReply.objects.count() == 0
    good = visitor.post(url, body, content_type=kind, headers=_signed(body))
    assert good.status_code == 200 and "recorded" in good.json()["result"]
    assert ride_status(session).state == "yes"


def test_the_webhook_refuses_everything_when_no_secret_is_configured(texter, book, no_quiet_hours):
    _asked(texter, book)
    body = urlencode({"from_number": E164, "text": "YES"})
    with override_settings(KETACLINIC_SMS_WEBHOOK_SECRET=""):
        response = Client().post("/reminders/sms/inbound/", body, content_type="application/x-www-form-urlencoded",
                                 headers=_signed(body, ""))
    assert response.status_code == 403 and RideReply.objects.count() == 0


def test_the_front_desk_reads_the_ride_status_on_the_worklist(texter, book, client_for, no_quiet_hours):
    patient, session = _asked(texter, book)
    services.receive_sms(from_number=E164, text="YES", via="console")
    page = client_for("front_desk").get("/reminders/")
    assert page.status_code == 200
    html = page.content.decode()
    assert patient.legal_family_name in html and 'data-ride="yes"' in html and "Ride confirmed" in html
    assert "Reminder settings" not in html  # the clinic admin's form only


def test_a_patient_without_sms_consent_shows_as_not_asked(texter, book, client_for, no_quiet_hours):
    patient = texter(sms=False)
    session = book(patient, hours_ahead=30)
    engine.run()
    assert ride_status(session).state == "no_sms"
    assert 'data-ride="no_sms"' in client_for("nurse").get("/reminders/").content.decode()


def test_staff_record_consent_on_the_patient_page(texter, client_for):
    patient = texter(sms=False)
    url = f"/reminders/patients/{patient.external_id}/"
    desk = client_for("front_desk")
    assert desk.get(url).status_code == 200
    response = desk.post(url, {"form": "consent", "channel": "sms", "allowed": "yes", "note": "Verbal, by phone"})
    assert response.status_code == 302 and channel_allowed(patient, "sms")
    refused = desk.post(url, {"form": "time_zone", "time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 400 and "time zone" in refused.content.decode()
    assert not hasattr(type(patient).objects.get(pk=patient.pk), "reminder_contact")


def test_the_clinic_admin_changes_quiet_hours(client_for, clinic):
    from ketaclinic.reminders.contacts import settings_for

    values = {"quiet_start": "22:00", "quiet_end": "07:30", "appointment_lead_hours": "24", "session_lead_hours": "48",
              "preparation_lead_hours": "24", "ride_lead_hours": "48", "max_attempts": "3", "retry_minutes": "15"}
    admin = client_for("clinic_admin")
    assert admin.post("/reminders/settings/", values).status_code == 302
    assert settings_for(clinic).quiet_end.strftime("%H:%M") == "07:30"
    bad = admin.post("/reminders/settings/", {**values, "retry_minutes": "-5"})
    assert bad.status_code == 400 and settings_for(clinic).retry_minutes == 15


def test_a_stale_ride_request_for_a_past_session_is_not_answered(texter, book, clock, no_quiet_hours):
    _, session = _asked(texter, book, hours=2)
    clock.shift(timedelta(hours=3))  # the session's time has passed
    assert "nothing changed" in services.receive_sms(from_number=E164, text="YES", via="console")


def test_the_worklist_reads_ride_statuses_in_the_same_queries_for_many_sessions(texter, book, client_for,
                                                                                 no_quiet_hours):
    """No query per session: the page costs the same for one booked session as for four (each with its ride asked
    or not, answered or not)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = texter()
    book(first, hours_ahead=30, chair="a1")  # the test clock may move on to a time the clinic books 30 h ahead
    desk = client_for("front_desk")  # signed in at the time the test goes on from
    engine.run()
    desk.get("/reminders/")  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert desk.get("/reminders/").status_code == 200
    for n, chair in enumerate(("a2", "s1", "s2")):
        p = texter(phone=f"(303) 555-02{n:02d}", email=f"p{n}@example.invalid", sms=n != 1)
        book(p, hours_ahead=30, chair=chair)
    engine.run()
    services.receive_sms(from_number="(303) 555-0200", text="NO", via="console")
    with CaptureQueriesContext(connection) as four:
        html = desk.get("/reminders/").content.decode()
    assert html.count("data-ride=") == 4 and 'data-ride="no"' in html and 'data-ride="no_sms"' in html
    assert len(four) == len(one), [q["sql"][:80] for q in four.captured_queries]
