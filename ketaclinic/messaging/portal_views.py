"""The patient's side of secure messaging, in the portal: their conversations (and a new one), a conversation with
its read receipts, a reply, and an attachment's download. Every id in a URL is looked up within the signed-in
patient's own conversations (anything else is a 404); every page is audited (the portal's ``portal_page``).

A message with words of self-harm shows the crisis resources at once, on the page it was sent from (the portal's
``_crisis_box.html``, urgent), and the care team gets an urgent task (``services``). So does a message that is
refused (a file of the wrong kind, a text too long): its words are read first, the task is raised with them, and
the refused page shows the crisis resources above the refusal."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.formfields import posted
from ketaclinic.messaging import services
from ketaclinic.messaging.downloads import download
from ketaclinic.messaging.forms import MessageForm, NewThreadForm
from ketaclinic.messaging.models import Attachment, Thread
from ketaclinic.messaging.views import _files, _sent_message
from ketaclinic.portal.views import portal_page
from ketaclinic.submit import submit

#: The session key that carries "this patient just sent words of self-harm" to the page the message was sent from.
CRISIS_SHOWN = "messaging_crisis_thread"


def _crisis(clinic) -> dict:
    return {"clinic_phone": clinic.phone, "crisis_line": clinic.crisis_line}


class _Post:
    """One POST of the patient's: the use case is called at most once, and whether its refusal (or the form's)
    routed words of self-harm; a post the form refused is read by ``services.route_refused_post``."""

    def __init__(self, request, form, patient, thread=None):
        self.request, self.form, self.patient, self.thread = request, form, patient, thread
        self.called = False
        self.crisis = False

    def run(self, call):
        self.called = True
        try:
            return call()
        except services.MessagingError as e:
            self.crisis = e.crisis
            raise

    def refused_crisis(self) -> bool:
        """On a refused POST: whether the crisis resources go first (the form's refusal is routed here, once)."""
        if self.request.method != "POST":
            return False
        if not self.called:
            self.called = True
            data = self.form.data  # what was typed, as the form that refused it was bound to it
            self.crisis = services.route_refused_post(
                actor=Actor.from_request(self.request), patient=self.patient, thread=self.thread,
                subject=data.get("subject") if self.thread is None else None, body=data.get("body"),
                errors={k: " ".join(v) for k, v in self.form.errors.items()})
        return self.crisis


def _after_sending(request, sent):
    """The page the patient returns to: the conversation, with the crisis resources at once if they are needed."""
    thread_id = sent.message.thread.external_id
    if sent.crisis:
        request.session[CRISIS_SHOWN] = str(thread_id)
    return redirect("messaging:my_thread", thread_id=thread_id)


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.MESSAGING_PORTAL_MESSAGES_VIEWED)
def my_messages(request):
    patient = request.patient
    form = NewThreadForm(posted(request), _files(request))
    post = _Post(request, form, patient)
    return submit(request, form, lambda actor, data: post.run(lambda: services.start_thread(
        actor=actor, patient=patient, subject=data["subject"], body=data["body"],
        upload=services.Upload.from_django(data.get("attachment")))),
        refused_by=services.MessagingError, saved=_sent_message, done=lambda sent: _after_sending(request, sent),
        again=lambda form: render(request, "messaging/portal/messages.html", {
            "crisis_urgent": post.refused_crisis(), "threads": list(services.threads_of(patient)), "form": form,
            "crisis": _crisis(patient.clinic)}))


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.MESSAGING_PORTAL_THREAD_VIEWED)
def my_thread(request, thread_id):
    patient = request.patient
    conversation = get_object_or_404(Thread.objects.select_related("patient__clinic"), external_id=thread_id,
                                     patient=patient)
    form = MessageForm(posted(request), _files(request))
    post = _Post(request, form, patient, conversation)

    def page(form):
        urgent = post.refused_crisis()
        urgent = request.session.pop(CRISIS_SHOWN, None) == str(conversation.external_id) or urgent
        if request.method != "POST":
            services.mark_read(actor=Actor.from_request(request), thread=conversation)
        return render(request, "messaging/portal/thread.html", {
            "thread": conversation, "messages_": services.messages_of(conversation), "form": form,
            "crisis": _crisis(patient.clinic), "crisis_urgent": urgent})

    return submit(request, form, lambda actor, data: post.run(lambda: services.reply(
        actor=actor, thread=conversation, body=data["body"],
        upload=services.Upload.from_django(data.get("attachment")))),
        refused_by=services.MessagingError, saved=_sent_message, done=lambda sent: _after_sending(request, sent),
        again=page)


@require_GET
@portal_page(AuditAction.MESSAGING_PORTAL_ATTACHMENT_DOWNLOADED)
def my_attachment(request, attachment_id):
    att = get_object_or_404(Attachment.objects.select_related("message__thread"), external_id=attachment_id,
                            message__thread__patient=request.patient)
    return download(att)
