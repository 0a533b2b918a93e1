"""Two defects an independent review found, and the portal menu:

* A patient's words of self-harm are never lost to a refusal: a file of the wrong kind, a text over the limit or a
  missing subject still raises the one urgent task (carrying what the patient typed, as nothing else is saved) and
  shows the crisis resources on the refused page, while the refusal itself still stands.
* The care team cannot write to a patient who has no portal account (the message could never be read): refused,
  nothing saved, and the chart does not offer it.
* The portal's menu lists Messages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import SafetyTask
from ketaclinic.messaging import services
from ketaclinic.messaging.models import Attachment, Message, Thread
from tests.factories import actor
from tests.messaging.conftest import EXE, my_messages, my_thread, staff_thread, upload

pytestmark = pytest.mark.django_db

CRISIS = "I want to kill myself tonight"


def chart(patient) -> str:
    return reverse("patients:chart", kwargs={"external_id": patient.external_id})


def no_message_saved(folder) -> bool:
    stored = list(folder.iterdir()) if folder.exists() else []
    return (not Message.objects.exists() and not Attachment.objects.exists() and stored == []
            and not AuditEntry.objects.filter(action="messaging.message.sent").exists())


def urgent_box(page: str) -> bool:
    return "Please reach out now" in page and 'role="alert"' in page


# ------------------------------------------------------------------------------------------ crisis words refused
def test_crisis_words_with_a_refused_file_raise_one_task_carrying_the_words_and_show_the_crisis_box(
        make_portal_patient, staff, clock, attachment_dir):
    patient, portal = make_portal_patient()
    measures.set_on_call(actor=actor(staff["clinic_admin"]), day=clock.today(), clinician=staff["prescriber"])
    response = portal.post(my_messages(), {"subject": "Tonight", "body": CRISIS,
                                           "attachment": upload("note.docx", EXE)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Only PDF, PNG or JPEG files are accepted" in page  # the file is still refused, by its bytes
    assert urgent_box(page)
    assert no_message_saved(attachment_dir) and not Thread.objects.exists()

    task = SafetyTask.objects.get()
    assert (task.patient, task.flag_code, task.status, task.assigned_to) == \
        (patient, "message_self_harm", "open", staff["prescriber"])
    assert CRISIS in task.message and "Tonight" in task.message and "not saved" in task.message
    assert task.origin_path == chart(patient)
    assert AuditEntry.objects.filter(action="measures.safety_task.opened", patient=patient).count() == 1
    assert AuditEntry.objects.filter(action="messaging.crisis.routed", patient=patient).count() == 1
    # the clinician on call reads the words on the task's page
    task_page = _client(staff["prescriber"]).get(
        reverse("measures:safety_task", kwargs={"task_id": task.external_id})).content.decode()
    assert CRISIS in task_page


def _client(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_a_crisis_reply_with_a_refused_file_links_the_task_to_the_conversation(make_portal_patient, staff,
                                                                               attachment_dir):
    patient, portal = make_portal_patient()
    sent = services.start_thread(actor=actor(staff["nurse"]), patient=patient, subject="Check-in",
                                 body="How are you feeling after Tuesday?")
    thread = sent.message.thread
    response = portal.post(my_thread(thread), {"body": "Honestly I want to die",
                                               "attachment": upload("x.pdf", EXE)})
    page = response.content.decode()
    assert response.status_code == 200 and "Only PDF, PNG or JPEG" in page and urgent_box(page)
    assert thread.messages.count() == 1  # only the nurse's
    task = SafetyTask.objects.get()
    assert task.origin_path == staff_thread(thread) and "Honestly I want to die" in task.message


def test_crisis_words_over_the_length_limit_raise_one_task_with_the_first_part_of_the_text(make_portal_patient,
                                                                                           attachment_dir):
    patient, portal = make_portal_patient()
    body = CRISIS + ". " + "x" * (2 * services.BODY_MAX)
    response = portal.post(my_messages(), {"subject": "Help", "body": body})
    page = response.content.decode()
    assert response.status_code == 200 and f"Use at most {services.BODY_MAX} characters" in page
    assert urgent_box(page)
    assert no_message_saved(attachment_dir) and not Thread.objects.exists()
    task = SafetyTask.objects.get()
    assert CRISIS in task.message and "the first" in task.message
    assert len(task.message) < len(body) + 1000


def test_the_service_routes_refused_crisis_words_once_and_still_refuses(make_portal_patient, attachment_dir):
    patient, _ = make_portal_patient()
    me = actor(patient.portal_account.user)
    with pytest.raises(services.MessagingError) as refused:
        services.start_thread(actor=me, patient=patient, subject="Help", body=CRISIS + "x" * services.BODY_MAX)
    assert refused.value.crisis and "body" in refused.value.errors
    with pytest.raises(services.MessagingError) as refused:  # a subject missing: the body still read
        services.start_thread(actor=me, patient=patient, subject="  ", body=CRISIS)
    assert refused.value.crisis and "subject" in refused.value.errors
    assert SafetyTask.objects.filter(patient=patient).count() == 2  # one per post
    assert no_message_saved(attachment_dir)


def test_crisis_words_refused_for_a_control_character_still_reach_the_clinician(make_portal_patient):
    _, portal = make_portal_patient()
    page = portal.post(my_messages(), {"subject": "Help", "body": CRISIS + "\x00\x1b"}).content.decode()
    assert "invisible control character" in page and urgent_box(page)
    task = SafetyTask.objects.get()
    assert CRISIS in task.message and "\x00" not in task.message and not Message.objects.exists()


def test_a_refused_everyday_post_raises_no_task_and_shows_no_urgent_box(make_portal_patient, attachment_dir):
    _, portal = make_portal_patient()
    page = portal.post(my_messages(), {"subject": "Forms", "body": "Here is my form",
                                       "attachment": upload("form.docx", EXE)}).content.decode()
    assert "Only PDF, PNG or JPEG" in page and not urgent_box(page) and "In a crisis?" in page
    long_page = portal.post(my_messages(), {"subject": "Forms",
                                            "body": "y" * (services.BODY_MAX + 1)}).content.decode()
    assert not urgent_box(long_page)
    assert not SafetyTask.objects.exists() and no_message_saved(attachment_dir)


def test_staff_words_in_a_refused_post_raise_no_task(make_portal_patient, staff):
    patient, _ = make_portal_patient()
    with pytest.raises(services.MessagingError) as refused:
        services.start_thread(actor=actor(staff["therapist"]), patient=patient, subject="Safety plan",
                              body="If you want to kill yourself, call 988.", upload=services.Upload(EXE, "a.pdf", len(EXE)))
    assert not refused.value.crisis and not SafetyTask.objects.exists()


# ------------------------------------------------------------------------------------------ no portal account
def test_staff_cannot_write_to_a_patient_without_a_portal_account(patient, staff, client_for, attachment_dir):
    with pytest.raises(services.MessagingError) as refused:
        services.start_thread(actor=actor(staff["nurse"]), patient=patient, subject="Before Monday",
                              body="Please bring your medication list.")
    assert refused.value.errors["thread"] == services.NO_PORTAL_ACCOUNT
    start = reverse("messaging:start", kwargs={"patient_id": patient.external_id})
    response = client_for("nurse").post(start, {"subject": "Before Monday", "body": "Please bring your list."})
    page = response.content.decode()
    assert response.status_code == 200 and "This patient has no portal account yet" in page
    assert not Thread.objects.exists() and no_message_saved(attachment_dir)
    assert not AuditEntry.objects.filter(action="messaging.thread.started").exists()


def test_the_chart_offers_writing_only_to_a_patient_with_a_portal_account(patient, make_portal_patient, client_for):
    nurse = client_for("nurse")
    page = nurse.get(chart(patient)).content.decode()
    assert reverse("messaging:start", kwargs={"patient_id": patient.external_id}) not in page
    assert "Write to the patient" not in page and "This patient has no portal account yet" in page
    reachable, _ = make_portal_patient()
    page = nurse.get(chart(reachable)).content.decode()
    assert reverse("messaging:start", kwargs={"patient_id": reachable.external_id}) in page


# ------------------------------------------------------------------------------------------ portal menu
def test_the_portal_menu_lists_messages(make_portal_patient):
    _, portal = make_portal_patient()
    page = portal.get(reverse("portal:home")).content.decode()
    assert f'href="{my_messages()}"' in page and ">Messages<" in page
