"""Patient-facing portal views. Every page shows only the signed-in patient's own data: every id in a URL is
looked up within ``request.user.patient_account.patient`` and anything else is a 404. Every access is audited.
Staff views live in ``staff_views.py``; the two never share a module.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.views import change_password_page
from ketaclinic.acting import acting_clinic_id
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, client_ip
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical.preparation import (
    PREPARATION_SOURCE,
    aftercare_instructions,
    preparation_instructions,
)
from ketaclinic.clinical.scales import get_scale
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.measures import services as measures
from ketaclinic.measures import trajectory
from ketaclinic.measures.answering import post_answers
from ketaclinic.measures.forms import ScaleAnswersForm
from ketaclinic.measures.models import Administration, DueItem
from ketaclinic.portal import education, markup, services
from ketaclinic.portal.forms import NEXT_REFUSED, WRONG_CODE, AcceptForm, ResendCodeForm, VerifyForm
from ketaclinic.portal.models import EducationPage
from ketaclinic.treatments.models import TreatmentSession

UPCOMING = (TreatmentSession.Status.BOOKED, TreatmentSession.Status.CHECKED_IN)
SESSION_FIELDS = ("external_id", "patient_id", "sequence", "drug", "route", "scheduled_start", "scheduled_minutes",
                  "status", "dose_started_at", "dose_ended_at", "discharged_at", "transferred_at")
#: Visits the patient has been to and finished: discharged home, or transferred to emergency care.
PAST_VISITS = (TreatmentSession.Status.DISCHARGED, TreatmentSession.Status.TRANSFERRED)


def _account(request):
    account = getattr(request.user, "patient_account", None)
    if account is None:  # the access policy already refused staff; belt and braces
        raise Http404
    return account


def portal_page(action: AuditAction):
    """Decorator for every portal page: second factor on a new device, patient scoping and the audit entry
    (``action``, one of the ``AuditAction.PORTAL_...`` page members)."""
    action = AuditAction(action)
    page = action.value.removeprefix("portal.")

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            account = _account(request)
            if request.session.get(services.SESSION_VERIFIED) != account.pk:
                if services.device_is_trusted(account, request.COOKIES.get(services.DEVICE_COOKIE)):
                    request.session[services.SESSION_VERIFIED] = account.pk
                else:
                    return redirect(f"{reverse('portal:verify')}?next={quote(request.get_full_path())}")
            request.patient = account.patient
            actor = Actor.from_request(request)
            try:
                response = view(request, *args, **kwargs)
            except Http404:
                audit.record(actor, AuditAction.PORTAL_NOT_FOUND, patient=account.patient,
                             details={"path": request.path, "page": page})
                raise
            audit.record(actor, action, patient=account.patient,
                         details={"path": request.path, "method": request.method, "status": response.status_code})
            return response

        return wrapper

    return decorate


def _crisis(clinic) -> dict:
    return {"clinic_phone": clinic.phone, "crisis_line": clinic.crisis_line}


# ------------------------------------------------------------------------------------------ public pages
@require_http_methods(["GET", "POST"])
def accept(request, token):
    """Public: the one-time invitation link. Expired, used or replaced links are refused with a clear message."""
    inv = services.find_invitation(token)
    if request.user.is_authenticated:
        return redirect("portal:home" if hasattr(request.user, "patient_account") else "clinic:today")
    refused = None
    if inv is None:
        refused = "This invitation link is not valid."
    elif inv.state != "open":
        refused = services.REFUSALS[inv.state]
    form = AcceptForm(posted(request))
    if refused:
        if inv is not None:
            audit.record(Actor(user=None, client_ip=client_ip(request), label_override="portal invitee"),
                         AuditAction.PORTAL_INVITATION_REFUSED, subject=inv, patient=inv.patient, details={"state": inv.state})
        return render(request, "portal/accept.html", {"refused": refused, "form": None}, status=410 if inv else 404)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.accept_invitation(token=token, password=form.cleaned_data["password"],
                                                 password2=form.cleaned_data["password2"],
                                                 client_ip=client_ip(request))
        except services.PortalError as e:
            show_refusal(form, e.errors)
        else:
            login(request, account.user, backend="django.contrib.auth.backends.ModelBackend")
            # The invitation link itself proved access to the email account: this device is trusted.
            request.session[services.SESSION_VERIFIED] = account.pk
            response = redirect("portal:home")
            _set_device_cookie(response, request, account)
            messages.success(request, "Your portal account is ready. Your username is your email address.")
            return response
    return render(request, "portal/accept.html", {"form": form, "email": inv.email, "refused": None})


def crisis(request):
    """Public: crisis resources, reachable without signing in. A signed-in patient is given their own clinic's
    number; a visitor who is not signed in, at an install of several clinics, every clinic's (the page cannot know
    which is theirs, and a wrong number is worse than a list)."""
    if acting_clinic_id() is None:
        clinics = [{"name": c.name, "phone": c.phone, "crisis_line": c.crisis_line}
                   for c in Clinic.objects.order_by("name", "pk")]
        if len(clinics) > 1:
            return render(request, "portal/crisis.html", {"crisis": {"clinics": clinics}})
    return render(request, "portal/crisis.html", {"crisis": _crisis(current_clinic())})


# ------------------------------------------------------------------------------------------ second factor
def _set_device_cookie(response, request, account) -> None:
    value = services.trust_device(account=account, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    response.set_cookie(services.DEVICE_COOKIE, value, max_age=services.DEVICE_DAYS * 86400, httponly=True,
                        secure=request.is_secure(), samesite="Lax", path="/portal/")


@require_http_methods(["GET", "POST"])
def verify(request):
    """New device: the patient types the 6-digit code emailed to them before any portal page opens."""
    account = _account(request)
    form = VerifyForm(posted(request), host=request.get_host(), next_url=request.GET.get("next", ""))
    next_url = form.next_url()
    if request.session.get(services.SESSION_VERIFIED) == account.pk:
        return redirect(next_url)
    error = ""
    if request.method == "POST":
        if form.is_valid():
            if services.check_code(account=account, code=form.cleaned_data["code"], client_ip=client_ip(request)):
                request.session[services.SESSION_VERIFIED] = account.pk
                response = redirect(next_url)
                if form.cleaned_data["trust"]:
                    _set_device_cookie(response, request, account)
                return response
            form.add_error("code", WRONG_CODE)
        elif form.has_error("next"):
            error = NEXT_REFUSED
    elif not services.has_live_code(account):
        try:
            services.issue_code(account=account, client_ip=client_ip(request))
        except services.PortalError as e:
            error = e.errors["code"]
    return render(request, "portal/verify.html", {"form": form, "error": error, "next": next_url,
                                                  "email": account.user.email, "minutes": services.CODE_MINUTES})


@require_POST
def resend_code(request):
    account = _account(request)
    form = ResendCodeForm(posted(request), host=request.get_host())
    try:
        services.issue_code(account=account, client_ip=client_ip(request))
    except services.PortalError as e:
        messages.error(request, e.errors["code"])
    else:
        messages.info(request, "A new code is on its way. Earlier codes no longer work.")
    return redirect(f"{reverse('portal:verify')}?next={quote(form.next_url())}")


# ------------------------------------------------------------------------------------------ portal pages
def _due(patient):
    now = timezone.now()
    return list(DueItem.objects.filter(patient=patient, status=DueItem.Status.OPEN, available_from__lte=now,
                                       scale__in=measures.PORTAL_SCALES).order_by("due_at"))


@portal_page(AuditAction.PORTAL_HOME_VIEWED)
def home(request):
    patient = request.patient
    now = timezone.now()
    upcoming = list(TreatmentSession.objects.filter(
        patient=patient, status__in=UPCOMING, scheduled_start__gte=now - timedelta(hours=6)
    ).only(*SESSION_FIELDS).order_by("scheduled_start")[:5])
    for s in upcoming:
        s.preparation = preparation_instructions(s.drug, s.route)
    drafts = list(Administration.objects.filter(patient=patient, source=Administration.Source.PORTAL,
                                                status=Administration.Status.DRAFT))
    return render(request, "portal/home.html", {
        "patient": patient, "upcoming": upcoming, "due": _due(patient), "drafts": drafts,
        "preparation_source": PREPARATION_SOURCE, "crisis": _crisis(patient.clinic),
    })


@portal_page(AuditAction.PORTAL_QUESTIONNAIRES_VIEWED)
def questionnaires(request):
    patient = request.patient
    drafts = list(Administration.objects.filter(patient=patient, source=Administration.Source.PORTAL,
                                                status=Administration.Status.DRAFT))
    recent = list(Administration.objects.filter(
        patient=patient, status__in=[Administration.Status.FINAL, Administration.Status.AMENDED]
    ).order_by("-administered_at")[:10])
    return render(request, "portal/questionnaires.html", {"due": _due(patient), "drafts": drafts, "recent": recent,
                                                          "crisis": _crisis(patient.clinic)})


@require_POST
@portal_page(AuditAction.PORTAL_QUESTIONNAIRE_STARTED)
def start(request, due_id):
    patient = request.patient
    item = get_object_or_404(DueItem, external_id=due_id, patient=patient, status=DueItem.Status.OPEN,
                             scale__in=measures.PORTAL_SCALES)
    admin = measures.start_administration(actor=Actor.from_request(request), patient=patient, scale=item.scale,
                                          source=Administration.Source.PORTAL, due_item=item)
    return redirect("portal:fill", administration_id=admin.external_id)


def _own_administration(request, administration_id) -> Administration:
    return get_object_or_404(Administration, external_id=administration_id, patient=request.patient,
                             source=Administration.Source.PORTAL)


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.PORTAL_QUESTIONNAIRE_OPENED)
def fill(request, administration_id):
    admin = _own_administration(request, administration_id)
    if admin.status != Administration.Status.DRAFT:
        return redirect("portal:done", administration_id=admin.external_id)
    scale = get_scale(admin.scale)
    answers = {a.item_id: a.value for a in admin.answers.all()}
    errors: dict[str, str] = {}
    form = ScaleAnswersForm(posted(request), scale=scale)
    if request.method == "POST":
        answers, errors, outcome = post_answers(form, answers, lambda answers: measures.save_answers(
            actor=Actor.from_request(request), administration=admin, answers=answers, submit=form.submit))
        if outcome is not None:
            if outcome.submitted or outcome.crisis:
                return redirect("portal:done", administration_id=admin.external_id)
            if not form.submit:
                messages.success(request, "Saved. You can come back and finish later.")
                return redirect("portal:questionnaires")
            errors = {m: "Please answer this question." for m in outcome.missing}
            errors["__all__"] = ("Some questions are not answered yet. Your answers are saved as a draft; "
                                 "nothing is sent to your care team until you answer every question.")
    items = [{"item": it, "value": answers.get(it.id), "error": errors.get(it.id)} for it in scale.items]
    return render(request, "portal/fill.html", {"admin": admin, "scale": scale, "items": items, "errors": errors,
                                                "form_error": errors.get("__all__", ""),
                                                "crisis": _crisis(request.patient.clinic)})


@portal_page(AuditAction.PORTAL_QUESTIONNAIRE_RESULT_VIEWED)
def done(request, administration_id):
    admin = _own_administration(request, administration_id)
    crisis_now = any(f.get("code") in measures.SAFETY_TASK_FLAGS and f.get("urgent") for f in admin.flags)
    return render(request, "portal/done.html", {"admin": admin, "crisis_now": crisis_now,
                                                "crisis": _crisis(request.patient.clinic)})


@portal_page(AuditAction.PORTAL_PROGRESS_VIEWED)
def progress(request):
    patient = request.patient
    trajectories, doses = trajectory.load(patient, patient.clinic, scales=measures.PORTAL_SCALES)
    return render(request, "portal/progress.html", {"trajectories": trajectories, "doses": doses,
                                                    "crisis": _crisis(patient.clinic)})


def _pdf_function():
    """The treatment journey's discharge-instructions PDF (``treatments.pdf.discharge_instructions``), if present."""
    try:
        module = importlib.import_module("ketaclinic.treatments.pdf")
    except ModuleNotFoundError:
        return None
    return getattr(module, "discharge_instructions", None)


def _integration_for(session):
    try:
        from ketaclinic.integration.models import IntegrationSession
    except ImportError:
        return None
    return IntegrationSession.objects.filter(dosing_session=session).first()


@portal_page(AuditAction.PORTAL_VISITS_VIEWED)
def visits(request):
    patient = request.patient
    sessions = list(TreatmentSession.objects.filter(patient=patient, status__in=PAST_VISITS)
                    .only(*SESSION_FIELDS).order_by("-scheduled_start")[:20])
    for s in sessions:
        # Home aftercare and the printable discharge instructions belong to a discharge home; a transfer to
        # emergency care shows its status only (visit_pdf serves discharged sessions).
        s.discharged_home = s.status == TreatmentSession.Status.DISCHARGED
        s.aftercare = aftercare_instructions(s.drug, s.route) if s.discharged_home else []
    return render(request, "portal/visits.html", {"sessions": sessions, "pdf": _pdf_function() is not None,
                                                  "crisis": _crisis(patient.clinic)})


@portal_page(AuditAction.PORTAL_VISIT_INSTRUCTIONS_DOWNLOADED)
def visit_pdf(request, session_id):
    """The same printable discharge instructions the nurse hands over, for the patient's own session only."""
    session = get_object_or_404(TreatmentSession.objects.select_related("patient__clinic"), external_id=session_id,
                                patient=request.patient, status=TreatmentSession.Status.DISCHARGED)
    make = _pdf_function()
    if make is None:
        raise Http404("Printable instructions are not available yet.")
    nxt = (TreatmentSession.objects.filter(patient=request.patient, scheduled_start__gt=session.scheduled_start,
                                           status__in=UPCOMING)
           .select_related("room").order_by("scheduled_start").first())
    data = make(session, nxt, _integration_for(session))
    response = HttpResponse(bytes(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="discharge-{session.scheduled_start:%Y-%m-%d}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.PORTAL_PASSWORD_PAGE_VIEWED)
def password_change(request):
    """The patient changes their own password: the old one is checked under the sign-in throttle (accounts)."""
    return change_password_page(request, template="portal/password_change.html", done=reverse("portal:home"))


# ------------------------------------------------------------------------------------------ education
@portal_page(AuditAction.PORTAL_LEARN_VIEWED)
def learn(request):
    """The education pages the clinic has approved, in order; a page not yet approved is listed as under review."""
    pages = [(p, education.published(p)) for p in education.pages_for(request.patient.clinic)]
    return render(request, "portal/learn.html", {"pages": pages, "crisis": _crisis(request.patient.clinic)})


@portal_page(AuditAction.PORTAL_LEARN_PAGE_VIEWED)
def learn_page(request, slug):
    page = get_object_or_404(EducationPage, clinic=request.patient.clinic, slug=slug)
    version = education.published(page)
    return render(request, "portal/learn_page.html", {
        "page": page, "version": version, "html": markup.render(version.body) if version else "",
        "crisis": _crisis(request.patient.clinic)})
