"""The demo clinic's secure messages (``messaging/demo.py``): a demo portal patient and the care team exchange
messages, one with a PDF attachment, with read receipts set, all through the services and synthetic."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.services import verify_chain
from ketaclinic.clinic.models import Clinic
from ketaclinic.messaging.models import Attachment, Message, Thread
from ketaclinic.portal.services import SESSION_VERIFIED
from tests.demo_world import demo_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with demo_world(django_db_blocker, patients=12):  # its attachments in a folder of its own
        yield Clinic.objects.filter(is_demo=True).order_by("pk").first()


@pytest.fixture(autouse=True)
def attachment_dir():  # the module's demo keeps its own folder (the package's autouse fixture is replaced)
    return None


def test_a_demo_patient_and_the_care_team_exchange_messages_with_a_pdf_and_read_receipts(demo):
    threads = list(Thread.objects.filter(patient__clinic=demo).order_by("started_at", "pk"))
    assert len(threads) == 2 and threads[0].patient == threads[1].patient
    conversation = threads[0]
    messages = list(conversation.messages.all())
    assert [m.side for m in messages] == ["patient", "care_team", "patient"]
    assert messages[0].read_at is not None and messages[0].read_by.username == "nurse"
    assert messages[1].read_at is not None and messages[1].read_by == conversation.patient.portal_account.user
    assert messages[2].read_at is None  # waiting in the care team's inbox
    attachment = Attachment.objects.get(message=messages[1])
    assert attachment.content_type == "application/pdf" and attachment.filename == "Visit checklist.pdf"
    assert not Message.objects.filter(safety_task__isnull=False).exists()
    assert verify_chain() is None


def test_the_demo_patient_opens_the_conversation_and_its_attachment_in_the_portal(demo):
    conversation = Thread.objects.filter(patient__clinic=demo).order_by("started_at", "pk").first()
    account = conversation.patient.portal_account
    client = Client()
    client.force_login(account.user)
    session = client.session
    session[SESSION_VERIFIED] = account.pk
    session.save()
    page = client.get(reverse("messaging:my_thread", kwargs={"thread_id": conversation.external_id}))
    assert page.status_code == 200 and "Visit checklist.pdf" in page.content.decode()
    att = Attachment.objects.get(message__thread=conversation)
    download = client.get(reverse("messaging:my_attachment", kwargs={"attachment_id": att.external_id}))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")
