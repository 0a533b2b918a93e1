"""Secure messages between a patient (portal) and the care team: sending and replying, read receipts, attachments
refused by type and size with nothing saved, downloads only to the thread's parties, care-team mode, and the
routing of self-harm words to the crisis resources and one urgent task."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import SafetyTask
from ketaclinic.messaging import services
from ketaclinic.messaging.models import Attachment, Message, Thread
from tests.factories import actor, let_time_pass
from tests.messaging.conftest import (
    EXE,
    HTML,
    JPEG,
    PDF,
    PNG,
    my_download,
    my_messages,
    my_thread,
    staff_download,
    staff_thread,
    upload,
)

pytestmark = pytest.mark.django_db


def send_from_portal(client, subject="Question about Thursday", body="Can I bring my sister as my escort?", **files):
    return client.post(my_messages(), {"subject": subject, "body": body, **files})


def nothing_saved(folder) -> bool:
    stored = list(folder.iterdir()) if folder.exists() else []
    return (not Thread.objects.exists() and not Message.objects.exists() and not Attachment.objects.exists()
            and stored == [] and not AuditEntry.objects.filter(action__startswith="messaging.message").exists())


# ------------------------------------------------------------------------------------------ sending and reading
def test_a_patient_writes_and_the_care_team_sees_it_unread_in_the_inbox_then_replies(make_portal_patient, client_for):
    patient, portal = make_portal_patient()
    response = send_from_portal(portal)
    thread = Thread.objects.get()
    assert response.status_code == 302 and response["Location"] == my_thread(thread)
    message = thread.messages.get()
    assert (message.side, message.sender, message.read_at) == ("patient", patient.portal_account.user, None)
    assert AuditEntry.objects.filter(action="messaging.message.sent", patient=patient).count() == 1

    nurse = client_for("nurse")
    inbox = nurse.get(reverse("messaging:inbox")).content.decode()
    assert "1 unread message from patients" in inbox and "Question about Thursday" in inbox and "1 unread" in inbox

    reply = nurse.post(staff_thread(thread), {"body": "Yes, any adult who can drive you home."})
    assert reply.status_code == 302
    assert list(thread.messages.values_list("side", flat=True)) == ["patient", "care_team"]
    page = portal.get(my_thread(thread)).content.decode()
    assert "Yes, any adult who can drive you home." in page


def test_the_read_receipt_is_recorded_once_by_the_other_side_and_shown_to_the_sender(make_portal_patient, client_for,
                                                                                     staff, clock):
    patient, portal = make_portal_patient()
    send_from_portal(portal)
    thread = Thread.objects.get()
    message = thread.messages.get()

    portal.get(my_thread(thread))  # the sender opening their own message does not mark it read
    message.refresh_from_db()
    assert message.read_at is None
    assert "not read yet" in portal.get(my_thread(thread)).content.decode()

    nurse = client_for("nurse")
    nurse.get(staff_thread(thread))
    message.refresh_from_db()
    first = message.read_at
    assert first is not None and message.read_by == staff["nurse"]
    assert AuditEntry.objects.filter(action="messaging.message.read", patient=patient).count() == 1

    let_time_pass(5)
    client_for("prescriber").get(staff_thread(thread))  # a second reader changes nothing
    message.refresh_from_db()
    assert (message.read_at, message.read_by) == (first, staff["nurse"])
    assert AuditEntry.objects.filter(action="messaging.message.read").count() == 1

    page = portal.get(my_thread(thread)).content.decode()
    assert "read " in page and staff["nurse"].label in page and "not read yet" not in page
    inbox = nurse.get(reverse("messaging:inbox")).content.decode()
    assert "0 unread messages from patients" in inbox


def test_a_staff_message_is_marked_read_when_the_patient_opens_it_not_when_staff_do(make_portal_patient, staff,
                                                                                    client_for):
    patient, portal = make_portal_patient()
    sent = services.start_thread(actor=actor(staff["prescriber"]), patient=patient, subject="Your next visit",
                                 body="Please confirm your ride for Monday.")
    client_for("nurse").get(staff_thread(sent.message.thread))
    sent.message.refresh_from_db()
    assert sent.message.read_at is None
    listing = portal.get(my_messages()).content.decode()
    assert "1 new" in listing
    portal.get(my_thread(sent.message.thread))
    sent.message.refresh_from_db()
    assert sent.message.read_at is not None and sent.message.read_by == patient.portal_account.user


def test_a_message_is_never_edited_or_deleted(make_portal_patient, staff):
    patient, _ = make_portal_patient()
    sent = services.start_thread(actor=actor(staff["nurse"]), patient=patient, subject="Hello", body="First words")
    message = Message.objects.get(pk=sent.message.pk)
    message.body = "Other words"
    with pytest.raises(ValueError, match="never changed"):
        message.save()
    with pytest.raises(ValueError, match="never deleted"):
        message.delete()
    assert Message.objects.get(pk=message.pk).body == "First words"


def test_only_clinical_roles_and_the_patient_write(make_portal_patient, make_patient, staff):
    patient, _ = make_portal_patient()
    other, _ = make_portal_patient()
    for role in ("front_desk", "billing", "compliance", "clinic_admin"):
        with pytest.raises(services.MessagingError):
            services.start_thread(actor=actor(staff[role]), patient=patient, subject="Hi", body="Hello")
    with pytest.raises(services.MessagingError):  # one patient never writes into another's record
        services.start_thread(actor=actor(other.portal_account.user), patient=patient, subject="Hi", body="Hello")
    assert not Thread.objects.exists()


def test_an_empty_message_is_refused_next_to_its_field_and_nothing_is_saved(make_portal_patient, attachment_dir):
    _, portal = make_portal_patient()
    response = send_from_portal(portal, body="   ")
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert nothing_saved(attachment_dir)


# ------------------------------------------------------------------------------------------ one patient, not another
def test_one_patient_cannot_read_post_to_or_download_from_another_patients_thread(make_portal_patient,
                                                                                  attachment_dir):
    _, alice = make_portal_patient()
    _, bob = make_portal_patient()
    send_from_portal(alice, attachment=upload("lab.pdf", PDF))
    thread = Thread.objects.get()
    att = Attachment.objects.get()
    assert alice.get(my_thread(thread)).status_code == 200
    assert alice.get(my_download(att)).status_code == 200

    assert bob.get(my_thread(thread)).status_code == 404
    assert bob.post(my_thread(thread), {"body": "Let me in"}).status_code == 404
    assert bob.get(my_download(att)).status_code == 404
    assert thread.messages.count() == 1
    assert "Question about Thursday" not in bob.get(my_messages()).content.decode()
    assert AuditEntry.objects.filter(action="portal.not_found").count() == 3


def test_staff_pages_refuse_a_portal_patient_and_non_clinical_roles(make_portal_patient, client_for):
    _, portal = make_portal_patient()
    send_from_portal(portal, attachment=upload("lab.pdf", PDF))
    thread, att = Thread.objects.get(), Attachment.objects.get()
    for url in (staff_thread(thread), staff_download(att), reverse("messaging:inbox")):
        assert portal.get(url).status_code == 403
        for role in ("front_desk", "billing", "compliance", "clinic_admin"):
            assert client_for(role).get(url).status_code == 403, (role, url)
        assert client_for("therapist").get(url).status_code == 200


# ------------------------------------------------------------------------------------------ care-team mode
@pytest.fixture
def care_team_mode(settings):
    settings.KETACLINIC_CHART_ACCESS = "care_team"
    settings.KETACLINIC_BREAK_GLASS_MINUTES = 240


def test_in_care_team_mode_a_clinician_outside_the_team_meets_the_break_glass_page(care_team_mode,
                                                                                  make_portal_patient, client_for):
    patient, portal = make_portal_patient()
    send_from_portal(portal, attachment=upload("lab.pdf", PDF))
    thread, att = Thread.objects.get(), Attachment.objects.get()
    nurse = client_for("nurse")
    glass = reverse("patients:break_glass", kwargs={"external_id": patient.external_id})
    for url in (staff_thread(thread), staff_download(att)):
        response = nurse.get(url)
        assert response.status_code == 302 and response["Location"].startswith(glass), url
    refused = nurse.post(staff_thread(thread), {"body": "Replying from outside the team"})
    assert refused.status_code == 403 and thread.messages.count() == 1
    assert "Question about Thursday" not in nurse.get(reverse("messaging:inbox")).content.decode()
    assert thread.messages.get().read_at is None  # nothing was read

    nurse.post(glass, {"reason_kind": "covering", "reason": "Covering the on-call line; the patient wrote in.",
                       "next": staff_thread(thread)})
    assert nurse.get(staff_thread(thread)).status_code == 200
    assert "Question about Thursday" in nurse.get(reverse("messaging:inbox")).content.decode()


def test_in_care_team_mode_the_care_team_opens_the_thread(care_team_mode, make_portal_patient, client_for, staff):
    from ketaclinic.patients import careteam

    patient, portal = make_portal_patient()
    send_from_portal(portal)
    careteam.add_member(actor=actor(staff["clinic_admin"]), patient=patient, member=staff["therapist"])
    assert client_for("therapist").get(staff_thread(Thread.objects.get())).status_code == 200


# ------------------------------------------------------------------------------------------ attachments
def test_a_pdf_is_stored_outside_the_checkout_0600_and_served_as_a_download_with_nosniff(make_portal_patient,
                                                                                       client_for, attachment_dir):
    patient, portal = make_portal_patient()
    send_from_portal(portal, attachment=upload("../../Lab Results.PDF", PDF, "text/html"))
    att = Attachment.objects.get()
    assert (att.content_type, att.filename, att.size) == ("application/pdf", "Lab Results.pdf", len(PDF))
    stored = attachment_dir / att.stored_as
    assert stored.read_bytes() == PDF
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(attachment_dir).st_mode) == 0o700
    assert not str(stored.resolve()).startswith(str(django_settings.BASE_DIR.resolve()))

    for client, url in ((client_for("nurse"), staff_download(att)), (portal, my_download(att))):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;") and "Lab Results.pdf" in \
            response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PDF
    assert AuditEntry.objects.filter(action="messaging.attachment.downloaded", patient=patient).count() == 1
    assert AuditEntry.objects.filter(action="messaging.portal.attachment_downloaded").count() == 1


@pytest.mark.parametrize("name,data", [("photo.png", PNG), ("photo.jpeg", JPEG), ("photo.JPG", JPEG)])
def test_png_and_jpeg_are_accepted_by_their_bytes(make_portal_patient, name, data):
    _, portal = make_portal_patient()
    assert send_from_portal(portal, attachment=upload(name, data, "application/octet-stream")).status_code == 302
    assert Attachment.objects.get().content_type == ("image/png" if data == PNG else "image/jpeg")


@pytest.mark.parametrize("name,data,says", [
    ("scan.pdf", PNG, "ends in .pdf, but its contents are a PNG image"),
    ("report.pdf", EXE, "Only PDF, PNG or JPEG files are accepted"),
    ("setup.exe", EXE, "Only PDF, PNG or JPEG files are accepted"),
    ("page.pdf", HTML, "Only PDF, PNG or JPEG files are accepted"),
    ("document", PDF, "ends in no type"),
    ("empty.pdf", b"", "empty"),
])
def test_a_file_of_the_wrong_kind_is_refused_by_its_bytes_and_nothing_is_saved(make_portal_patient, attachment_dir,
                                                                              name, data, says):
    _, portal = make_portal_patient()
    response = send_from_portal(portal, attachment=upload(name, data, "application/pdf"))
    page = response.content.decode()
    assert response.status_code == 200 and says in page
    assert "Nothing was sent." in page or data == b""  # an empty upload: Django's own "The submitted file is empty."
    assert nothing_saved(attachment_dir)


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_saved(make_portal_patient, attachment_dir, settings,
                                                                     client_for):
    settings.KETACLINIC_MESSAGE_ATTACHMENT_MAX_BYTES = 2048
    patient, portal = make_portal_patient()
    big = PDF + b"0" * 3000
    page = send_from_portal(portal, attachment=upload("big.pdf", big)).content.decode()
    assert "files up to 2 KB are accepted" in page
    assert nothing_saved(attachment_dir)
    # the care team's side refuses it the same way
    url = reverse("messaging:start", kwargs={"patient_id": patient.external_id})
    response = client_for("nurse").post(url, {"subject": "Forms", "body": "Attached", "attachment": upload("b.pdf", big)})
    assert response.status_code == 200 and "files up to 2 KB are accepted" in response.content.decode()
    assert nothing_saved(attachment_dir)
    assert send_from_portal(portal, attachment=upload("small.pdf", PDF)).status_code == 302


def infected(data: bytes):
    from ketaclinic.messaging.attachments import ScanResult

    return ScanResult(clean=False, scanner="test scanner", detail="a virus was found")


def clean(data: bytes):
    from ketaclinic.messaging.attachments import ScanResult

    return ScanResult(clean=True, scanner="test scanner")


def test_the_configured_scanner_refuses_a_flagged_file_and_names_itself_on_a_clean_one(make_portal_patient, settings,
                                                                                       attachment_dir):
    _, portal = make_portal_patient()
    settings.KETACLINIC_MESSAGE_SCANNER = "tests.messaging.test_messages.infected"
    page = send_from_portal(portal, attachment=upload("lab.pdf", PDF)).content.decode()
    assert "did not pass the virus check (a virus was found)" in page and nothing_saved(attachment_dir)
    settings.KETACLINIC_MESSAGE_SCANNER = "tests.messaging.test_messages.clean"
    assert send_from_portal(portal, attachment=upload("lab.pdf", PDF)).status_code == 302
    assert Attachment.objects.get().scanned_by == "test scanner"


def test_a_clamd_scanner_that_cannot_be_reached_refuses_the_file(make_portal_patient, settings, attachment_dir,
                                                                 tmp_path):
    _, portal = make_portal_patient()
    settings.KETACLINIC_MESSAGE_SCANNER = f"clamd:{tmp_path / 'no-such.sock'}"
    page = send_from_portal(portal, attachment=upload("lab.pdf", PDF)).content.decode()
    assert "could not be reached" in page and nothing_saved(attachment_dir)


# ------------------------------------------------------------------------------------------ crisis routing
def test_self_harm_words_show_the_crisis_box_at_once_and_raise_exactly_one_task_for_the_on_call_prescriber(
        make_portal_patient, staff, client_for, clock):
    patient, portal = make_portal_patient()
    measures.set_on_call(actor=actor(staff["clinic_admin"]), day=clock.today(), clinician=staff["prescriber"])
    response = send_from_portal(portal, subject="Rough week", body="I'm not going to kill myself, but it is hard.")
    thread = Thread.objects.get()
    assert response.status_code == 302 and response["Location"] == my_thread(thread)
    page = portal.get(response["Location"]).content.decode()
    assert "Please reach out now" in page and "988" in page and 'role="alert"' in page

    task = SafetyTask.objects.get()
    message = thread.messages.get()
    assert (task.patient, task.administration, task.flag_code, task.status) == \
        (patient, None, "message_self_harm", "open")
    assert (task.origin, task.origin_path, task.assigned_to) == ("Secure message", staff_thread(thread),
                                                                 staff["prescriber"])
    assert message.safety_task == task and message.self_harm_phrases == ["kill myself"]
    assert AuditEntry.objects.filter(action="measures.safety_task.opened", patient=patient).count() == 1
    assert AuditEntry.objects.filter(action="messaging.crisis.routed", patient=patient).count() == 1

    # once shown, the page goes back to the everyday box; no second task without a second such message
    again = portal.get(my_thread(thread)).content.decode()
    assert "Please reach out now" not in again and "In a crisis?" in again
    portal.post(my_thread(thread), {"body": "Thanks, my appointment is on Monday."})
    assert SafetyTask.objects.count() == 1

    # the task's page links to the conversation instead of a questionnaire, and the Today board lists it
    prescriber = client_for("prescriber")
    task_page = prescriber.get(reverse("measures:safety_task", kwargs={"task_id": task.external_id})).content.decode()
    assert staff_thread(thread) in task_page and "Secure message" in task_page
    assert "Urgent safety tasks (1)" in prescriber.get(reverse("clinic:today")).content.decode()
    thread_page = prescriber.get(staff_thread(thread)).content.decode()
    assert "an urgent safety task was raised" in thread_page


def test_a_reply_with_self_harm_words_shows_the_box_on_the_thread_it_was_sent_from(make_portal_patient, staff):
    patient, portal = make_portal_patient()
    sent = services.start_thread(actor=actor(staff["nurse"]), patient=patient, subject="Check-in",
                                 body="How are you feeling after Tuesday?")
    response = portal.post(my_thread(sent.message.thread), {"body": "Honestly I want to die"})
    page = portal.get(response["Location"]).content.decode()
    assert "Please reach out now" in page
    assert SafetyTask.objects.filter(patient=patient, flag_code="message_self_harm").count() == 1


def test_staff_words_and_everyday_messages_raise_no_task(make_portal_patient, staff):
    patient, portal = make_portal_patient()
    services.start_thread(actor=actor(staff["therapist"]), patient=patient, subject="Safety plan",
                          body="If you have thoughts of suicide, call 988 at any time.")
    page = portal.get(my_messages()).content.decode()
    send_from_portal(portal, body="See you Monday.")
    assert not SafetyTask.objects.exists()
    assert "Please reach out now" not in page and "In a crisis?" in page


def test_a_task_raised_by_a_message_is_acknowledged_like_any_other(make_portal_patient, staff, clock):
    patient, portal = make_portal_patient()
    send_from_portal(portal, body="I keep thinking about hurting myself")
    task = SafetyTask.objects.get()
    measures.acknowledge_safety_task(actor=actor(staff["prescriber"]), task=task, action="contacted",
                                     note="Called the patient; C-SSRS negative for intent; safety plan reviewed.")
    task.refresh_from_db()
    assert task.status == "acknowledged" and task.acknowledged_by == staff["prescriber"]
    assert clock.now() - task.created_at < timedelta(minutes=5)


def test_the_chart_offers_a_new_message_to_clinicians_only(make_portal_patient, client_for):
    patient, _ = make_portal_patient()  # one who can read it (see test_review_fixes for one who cannot)
    chart = reverse("patients:chart", kwargs={"external_id": patient.external_id})
    start = reverse("messaging:start", kwargs={"patient_id": patient.external_id})
    assert start in client_for("nurse").get(chart).content.decode()
    assert start not in client_for("front_desk").get(chart).content.decode()
    nurse = client_for("nurse")
    response = nurse.post(start, {"subject": "Before Monday", "body": "Please bring your medication list."})
    thread = Thread.objects.get(patient=patient)
    assert response.status_code == 302 and response["Location"] == staff_thread(thread)
    assert thread.messages.get().side == "care_team"


def test_message_text_is_encrypted_at_rest(make_portal_patient):
    from django.db import connection

    _, portal = make_portal_patient()
    send_from_portal(portal, body="My medication list changed last week.")
    with connection.cursor() as cur:
        cur.execute("SELECT body FROM messaging_message")
        (stored,) = cur.fetchone()
    assert "medication" not in stored and stored.startswith("enc")
    assert Message.objects.get().body == "My medication list changed last week."
