"""Use cases of secure messaging. Each validates, writes and audits in one durable transaction.

* :func:`start_thread` and :func:`reply`: a message from the patient (portal) or from the care team (a clinical
  role). A message is never edited or deleted. An attachment is checked by type and size (and the scanner, if any)
  before anything is written: a refused file leaves no message, no file and no audit entry.
* Routing: a patient's message whose text holds words of self-harm (the clinical core's
  ``messages.self_harm_language``) raises one urgent safety task for the clinician on call
  (``measures.services.raise_safety_task``), linked to the thread, in the same transaction; the portal page shows
  the crisis resources at once.
* A patient's post that is refused (a file of the wrong kind, text too long, a subject missing) is still read for
  words of self-harm first: if they are there, the one urgent task is raised all the same, carrying what the
  patient typed (the first part of it; nothing else is saved), and the refusal says so (``MessagingError.crisis``)
  so the portal shows the crisis resources on the refused page. :func:`route_refused_post` does the same for a
  post the form refused before the service saw it.
* The care team writes only to a patient with an active portal account (else the message could never be read).
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
from ketaclinic.inputs import CONTROL_CHARACTER, MULTILINE_ALLOWED
from ketaclinic.measures import services as measures
from ketaclinic.messaging import attachments
from ketaclinic.messaging.models import Attachment, Message, Thread
from ketaclinic.patients.models import Patient
from ketaclinic.portal.models import PatientAccount
from ketaclinic.usecases import Refused, use_case

SUBJECT_MAX = 120
BODY_MAX = 5000
CRISIS_ORIGIN = "Secure message"
CRISIS_REFUSED_ORIGIN = "Secure message (refused, not saved)"
NO_PORTAL_ACCOUNT = ("This patient has no portal account yet: invite them from the chart's portal section, "
                     "or phone them.")


class MessagingError(ValueError):
    """Bad input to a messaging use case; ``errors`` maps a field name to its message."""

    def __init__(self, errors: Mapping[str, str], *, crisis: bool = False):
        self.errors = dict(errors)
        #: the refused post held words of self-harm and the urgent task was raised all the same
        self.crisis = crisis
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


def has_portal_account(patient: Patient) -> bool:
    """Whether the patient can read a message: a portal account whose login is active."""
    return PatientAccount.objects.filter(patient=patient, user__is_active=True).exists()


def _writable(actor: Actor, patient: Patient) -> str:
    side = side_of(actor, patient)
    if side == Message.Side.CARE_TEAM and not has_portal_account(patient):
        raise MessagingError({"thread": NO_PORTAL_ACCOUNT})
    return side


def _words_of(subject: str | None, body: str | None) -> str:
    return "\n".join(t for t in ((subject or "").strip(), (body or "").strip()) if t)


def _route_refused_words(actor: Actor, patient: Patient, thread: Thread | None, subject: str | None,
                         body: str | None, errors: Mapping[str, str]) -> bool:
    """A patient's refused post: if its text holds words of self-harm, raise the urgent task carrying what they
    typed (the first part: a subject's and a message's worth), audited; True if it did."""
    typed = _words_of(subject, body)
    finding = self_harm_language(typed)
    if not finding.found:
        return False
    # a refused post may hold what no record keeps (a NUL, an escape): shown as U+FFFD, so the task is still written
    typed = CONTROL_CHARACTER.sub(lambda m: m.group() if m.group() in MULTILINE_ALLOWED else "\ufffd", typed)
    shown = typed[:SUBJECT_MAX + 1 + BODY_MAX]
    cut = f" (the first {len(shown)} of {len(typed)} characters)" if len(shown) < len(typed) else ""
    reasons = " ".join(errors.values())
    message = (f"{SELF_HARM_TASK_MESSAGE} The message could not be sent ({reasons}) and was not saved; "
               f"what the patient typed{cut}:\n\n{shown}")
    path = (reverse("messaging:thread", kwargs={"thread_id": thread.external_id}) if thread is not None
            else reverse("patients:chart", kwargs={"external_id": patient.external_id}))
    task = measures.raise_safety_task.within(
        actor=actor, patient=patient, flag_code=SELF_HARM_FLAG, message=message, source=SELF_HARM_SOURCE,
        origin=CRISIS_REFUSED_ORIGIN, origin_path=path)
    audit.record(actor, AuditAction.MESSAGING_CRISIS_ROUTED, subject=thread, patient=patient, details={
        "thread": str(thread.external_id) if thread is not None else None, "phrases": list(finding.phrases),
        "safety_task": str(task.external_id), "refused": sorted(errors)})
    return True


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
    side = _writable(actor, patient)
    try:
        checked_body, checked_subject = _check_text(body, subject)
        checked = _checked(upload)
    except MessagingError as e:
        if side == Message.Side.PATIENT and _route_refused_words(actor, patient, None, subject, body, e.errors):
            return Refused(MessagingError(e.errors, crisis=True))
        raise
    body, subject = checked_body, checked_subject
    thread = Thread.objects.create(patient=patient, subject=subject, started_by=actor.user)
    audit.record(actor, AuditAction.MESSAGING_THREAD_STARTED, subject=thread, patient=patient,
                 details={"side": side})
    return _send(actor, thread, side, body, checked, f"{subject}\n{body}")


@use_case
def reply(*, actor: Actor, thread: Thread, body: str, upload: Upload | None = None) -> Sent:
    """A message in an existing conversation."""
    thread = Thread.objects.select_for_update().select_related("patient__clinic").get(pk=thread.pk)
    side = _writable(actor, thread.patient)
    try:
        checked_body, _ = _check_text(body)
        checked = _checked(upload)
    except MessagingError as e:
        if side == Message.Side.PATIENT and _route_refused_words(actor, thread.patient, thread, None, body, e.errors):
            return Refused(MessagingError(e.errors, crisis=True))
        raise
    body = checked_body
    return _send(actor, thread, side, body, checked, body)


@use_case
def route_refused_post(*, actor: Actor, patient: Patient, thread: Thread | None = None, subject: str | None = None,
                       body: str | None = None, errors: Mapping[str, str]) -> bool:
    """A patient's post the form refused before any use case saw it (a text over the limit, an empty file): its
    words are read for self-harm all the same, and the urgent task raised with them (see the module). Only the
    patient's own posts are read; True if the task was raised."""
    if side_of(actor, patient) != Message.Side.PATIENT:
        return False
    if thread is not None and thread.patient_id != patient.pk:
        raise MessagingError({"thread": "This conversation is not yours."})
    return _route_refused_words(actor, patient, thread, subject, body, errors)


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
