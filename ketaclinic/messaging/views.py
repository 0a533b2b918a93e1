"""The care team's side of secure messaging: the inbox with unread counts, a conversation (reading it is the read
receipt of the patient's messages), a reply, a new conversation with a patient, and an attachment's download.

Every conversation is reached through its patient: ``careteam.guarded`` (a clinic that keeps records to their care
teams opens it to the care team, or by breaking the glass), as every record page does."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ketaclinic.access import can_open
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.formfields import posted
from ketaclinic.messaging import attachments, services
from ketaclinic.messaging.downloads import download
from ketaclinic.messaging.forms import MessageForm, NewThreadForm
from ketaclinic.messaging.models import Attachment, Thread
from ketaclinic.patients import careteam
from ketaclinic.patients.access import get_patient_for
from ketaclinic.submit import submit


def _files(request):
    return request.FILES if request.method == "POST" else None


def _sent_message(sent) -> str:
    text = "Message sent."
    if sent.attachment is not None:
        text += f" Attached: {sent.attachment.filename} ({attachments.human_size(sent.attachment.size)})."
    return text


@require_GET
def inbox(request):
    """The clinic's conversations, newest first, with the patient's unread messages counted; a clinician whose
    clinic keeps records to care teams sees the conversations of their own patients only."""
    threads = list(services.inbox(current_clinic()))
    if careteam.restricted(request.user):
        allowed: dict[int, bool] = {}
        for t in threads:
            if t.patient_id not in allowed:
                allowed[t.patient_id] = careteam.may_open(request.user, t.patient)
        threads = [t for t in threads if allowed[t.patient_id]]
    unread = sum(t.unread for t in threads)
    audit.record(Actor.from_request(request), AuditAction.MESSAGING_INBOX_VIEWED,
                 details={"threads": len(threads), "unread": unread})
    return render(request, "messaging/inbox.html", {"threads": threads, "unread": unread})


@require_http_methods(["GET", "POST"])
def start(request, patient_id):
    patient = get_patient_for(request, patient_id)
    form = NewThreadForm(posted(request), _files(request))
    return submit(request, form, lambda actor, data: services.start_thread(
        actor=actor, patient=patient, subject=data["subject"], body=data["body"],
        upload=services.Upload.from_django(data.get("attachment"))),
        refused_by=services.MessagingError, saved=_sent_message,
        done=lambda sent: redirect("messaging:thread", thread_id=sent.message.thread.external_id),
        again=lambda form: render(request, "messaging/start.html", {
            "patient": patient, "form": form, "reachable": services.has_portal_account(patient),
            "no_account": services.NO_PORTAL_ACCOUNT}))


def _thread_for(request, thread_id) -> Thread:
    return careteam.guarded(request, get_object_or_404(Thread.objects.select_related("patient__clinic"),
                                                       external_id=thread_id, patient__clinic=current_clinic()))


@require_http_methods(["GET", "POST"])
def thread(request, thread_id):
    conversation = _thread_for(request, thread_id)
    form = MessageForm(posted(request), _files(request))

    def page(form):
        if request.method != "POST":
            services.mark_read(actor=Actor.from_request(request), thread=conversation)
            audit.record(Actor.from_request(request), AuditAction.MESSAGING_THREAD_VIEWED, subject=conversation,
                         patient=conversation.patient)
        return render(request, "messaging/thread.html", {
            "thread": conversation, "patient": conversation.patient, "messages_": services.messages_of(conversation),
            "form": form, "can_open_chart": can_open(request.user, "patients:chart")})

    return submit(request, form, lambda actor, data: services.reply(
        actor=actor, thread=conversation, body=data["body"],
        upload=services.Upload.from_django(data.get("attachment"))),
        refused_by=services.MessagingError, saved=_sent_message,
        done=lambda sent: redirect("messaging:thread", thread_id=conversation.external_id), again=page)


@require_GET
def attachment(request, attachment_id):
    att = get_object_or_404(Attachment.objects.select_related("message__thread__patient"), external_id=attachment_id,
                            message__thread__patient__clinic=current_clinic())
    careteam.guarded(request, att.message.thread)
    response = download(att)
    audit.record(Actor.from_request(request), AuditAction.MESSAGING_ATTACHMENT_DOWNLOADED, subject=att,
                 patient=att.message.thread.patient, details={"sha256": att.sha256, "type": att.content_type})
    return response
