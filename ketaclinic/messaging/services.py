"""Use cases of secure messaging. Each validates, writes and audits in one durable transaction.

* :func:`start_thread` and :func:`reply`: a message from the patient (portal) or from the care team (a clinical
  role). A message is never edited or deleted. An attachment is checked by type and size (and the scanner, if any)
  before anything is written: a refused file leaves no message, no file and no audit entry.
* Routing: a patient's message whose text holds words of self-harm (the clinical core's
  ``messages.self_harm_language``) raises one urgent safety task for the clinician on call
  (``measures.services.raise_safety_task``), linked to the thread, in the same transaction; the portal page shows
  the crisis resources at once.
* :func:`mark_read`: the other side opening a thread sets each unread message's read time, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts.roles import CLINICAL
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical.messages import (
    SELF_HARM_FLAG,
    SELF_HARM_SOURCE,
    SELF_HARM_TASK_MESSAGE,
    self_harm_language,
)
from ketaclinic.measures import services as measures
from ketaclinic.messaging import attachments
from ketaclinic.messaging.models import Attachment, Message, Thread
from ketaclinic.patients.models import Patient
from ketaclinic.usecases import use_case

SUBJECT_MAX = 120
BODY_MAX = 5000
CRISIS_ORIGIN = "Secure message"


class MessagingError(ValueError):
    """Bad input to a messaging use case; ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its bytes, the name the sender gave it, and the size the upload reported."""

    data: bytes
    name: str
    size: int

    @classmethod
    def from_django(cls, upload) -> Upload | None:
        """Read an uploaded file, at most one byte past the limit (a larger one is refused by its size anyway)."""
        if upload is None:
            return None
        limit = attachments.max_bytes()
        data = upload.read(limit + 1) if upload.size <= limit else b""
        return cls(data=data, name=upload.name or "", size=upload.size)


@dataclass(frozen=True)
class Sent:
    message: Message
    attachment: Attachment | None
    crisis: bool


def side_of(actor: Actor, patient: Patient) -> str:
    """Which side ``actor`` writes from in ``patient``'s threads; refuses anyone else."""
    user = actor.user
    account = getattr(user, "patient_account", None) if user is not None else None
    if account is not None:
        if account.patient_id != patient.pk:
            raise MessagingError({"thread": "This conversation is not yours."})
        return Message.Side.PATIENT
    if user is not None and user.is_active and user.has_role(*CLINICAL):
        return Message.Side.CARE_TEAM
    raise MessagingError({"thread": "Only the patient and the clinicians of the care team write here."})


def _check_text(body: str, subject: str | None = None) -> tuple[str, str | None]:
    errors = {}
    body = (body or "").strip()
    if not body:
        errors["body"] = "Write your message."
    elif len(body) > BODY_MAX:
        errors["body"] = f"Use at most {BODY_MAX} characters (this has {len(body)})."
    if subject is not None:
        subject = subject.strip()
        if not subject:
            errors["subject"] = "Give the conversation a subject."
        elif len(subject) > SUBJECT_MAX:
            errors["subject"] = f"Use at most {SUBJECT_MAX} characters (this has {len(subject)})."
    if errors:
        raise MessagingError(errors)
    return body, subject


def _checked(upload: Upload | None) -> attachments.CheckedFile | None:
    if upload is None:
        return None
    try:
        return attachments.check(upload.data, upload.name, size=upload.size)
    except attachments.AttachmentRefused as e:
        raise MessagingError({"attachment": str(e)}) from None


def _send(actor: Actor, thread: Thread, side: str, body: str, checked: attachments.CheckedFile | None,
          scan_text: str) -> Sent:
    """Write one message (and its file), route self-harm words, audit; the thread's time moves on."""
    patient = thread.patient
    finding = self_harm_language(scan_text) if side == Message.Side.PATIENT else None
    task = None
    if finding is not None and finding.found:
        task = measures.raise_safety_task.within(
            actor=actor, patient=patient, flag_code=SELF_HARM_FLAG, message=SELF_HARM_TASK_MESSAGE,
            source=SELF_HARM_SOURCE, origin=CRISIS_ORIGIN,
            origin_path=reverse("messaging:thread", kwargs={"thread_id": thread.external_id}))
    now = timezone.now()
    message = Message.objects.create(thread=thread, side=side, sender=actor.user, body=body, sent_at=now,
                                     self_harm_phrases=list(finding.phrases) if finding else [], safety_task=task)
    stored = None
    attachment = None
    try:
        if checked is not None:
            stored = attachments.write(checked.data)
            attachment = Attachment.objects.create(
                message=message, filename=checked.filename, content_type=checked.content_type, size=checked.size,
                sha256=checked.sha256, stored_as=stored, scanned_by=checked.scanned_by)
        Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
        audit.record(actor, AuditAction.MESSAGING_MESSAGE_SENT, subject=message, patient=patient, details={
            "thread": str(thread.external_id), "side": side, "characters": len(body),
            "attachment": ({"type": attachment.content_type, "size": attachment.size, "sha256": attachment.sha256,
                            "scanned_by": attachment.scanned_by} if attachment else None)})
        if task is not None:
            audit.record(actor, AuditAction.MESSAGING_CRISIS_ROUTED, subject=message, patient=patient, details={
                "thread": str(thread.external_id), "phrases": list(finding.phrases),
                "safety_task": str(task.external_id)})
    except BaseException:
        if stored:
            attachments.discard(stored)
        raise
    return Sent(message=message, attachment=attachment, crisis=task is not None)


@use_case
def start_thread(*, actor: Actor, patient: Patient, subject: str, body: str, upload: Upload | None = None) -> Sent:
    """A new conversation with its first message, from the patient or from a clinician of the care team."""
    side = side_of(actor, patient)
    body, subject = _check_text(body, subject)
    checked = _checked(upload)
    thread = Thread.objects.create(patient=patient, subject=subject, started_by=actor.user)
    audit.record(actor, AuditAction.MESSAGING_THREAD_STARTED, subject=thread, patient=patient,
                 details={"side": side})
    return _send(actor, thread, side, body, checked, f"{subject}\n{body}")


@use_case
def reply(*, actor: Actor, thread: Thread, body: str, upload: Upload | None = None) -> Sent:
    """A message in an existing conversation."""
    thread = Thread.objects.select_for_update().select_related("patient__clinic").get(pk=thread.pk)
    side = side_of(actor, thread.patient)
    body, _ = _check_text(body)
    checked = _checked(upload)
    return _send(actor, thread, side, body, checked, body)


@use_case
def mark_read(*, actor: Actor, thread: Thread) -> list[Message]:
    """The read receipt: the messages of the other side that were not yet read get this moment and this reader.
    Each is set once (a conditional UPDATE); the sender's own messages are never marked by the sender."""
    side = side_of(actor, thread.patient)
    unread = list(Message.objects.filter(thread=thread, read_at__isnull=True).exclude(side=side)
                  .values_list("pk", "external_id"))
    if not unread:
        return []
    now = timezone.now()
    changed = Message.objects.filter(pk__in=[pk for pk, _ in unread], read_at__isnull=True) \
        .update(read_at=now, read_by=actor.user)
    if changed:
        audit.record(actor, AuditAction.MESSAGING_MESSAGE_READ, subject=thread, patient=thread.patient, details={
            "messages": [str(ext) for _, ext in unread], "side": side})
    return list(Message.objects.filter(pk__in=[pk for pk, _ in unread]))


# ------------------------------------------------------------------------------------------ reading
def threads_of(patient: Patient):
    """A patient's conversations, newest first, each with ``unread`` (the care team's messages not yet read)."""
    return (Thread.objects.filter(patient=patient)
            .annotate(unread=Count("messages", filter=Q(messages__side=Message.Side.CARE_TEAM,
                                                        messages__read_at__isnull=True)))
            .order_by("-last_message_at"))


def inbox(clinic, limit: int = 200):
    """The clinic's conversations, newest first, each with ``unread`` (the patient's messages not yet read)."""
    return (Thread.objects.filter(patient__clinic=clinic).select_related("patient")
            .annotate(unread=Count("messages", filter=Q(messages__side=Message.Side.PATIENT,
                                                        messages__read_at__isnull=True)))
            .order_by("-last_message_at")[:limit])


def messages_of(thread: Thread) -> list[Message]:
    return list(thread.messages.select_related("sender", "read_by").prefetch_related("attachments"))
