"""Integration worklist, booking and the therapist's notes (clinical roles only, every read audited)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ketaclinic.access import can_open
from ketaclinic.accounts.models import User
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Room, current_clinic
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.integration import services
from ketaclinic.integration.forms import BookForm, NoteForm, StatusForm
from ketaclinic.integration.models import IntegrationSession


def _offer(external_id) -> IntegrationSession:
    return get_object_or_404(IntegrationSession.objects.select_related("patient", "patient__clinic", "therapist",
                                                                      "room", "dosing_session"),
                             external_id=external_id, patient__clinic=current_clinic())


def _therapists():
    return User.objects.filter(role_grants__role="therapist", is_active=True).distinct().order_by("last_name")


def worklist(request):
    clinic = current_clinic()
    offers = list(IntegrationSession.objects.filter(patient__clinic=clinic)
                  .exclude(status__in=[IntegrationSession.Status.COMPLETED, IntegrationSession.Status.DECLINED,
                                       IntegrationSession.Status.CANCELLED])
                  .select_related("patient", "therapist", "room").order_by("window_start")[:200])
    return render(request, "integration/list.html", {"offers": offers, "now": timezone.now(),
                                                     "clinical": request.user.has_role("prescriber", "nurse",
                                                                                       "therapist")})


def _therapy_rooms(offer):
    return Room.objects.filter(clinic=offer.patient.clinic, kind=Room.Kind.THERAPY, active=True)


def _book_form(request, offer) -> BookForm:
    return BookForm(posted(request), offer=offer, therapists=_therapists(), rooms=_therapy_rooms(offer))


def detail(request, external_id):
    return _detail_page(request, _offer(external_id))


def _detail_page(request, offer, *, book_form=None, note_form=None, status_form=None):
    """The integration session; after a refused booking, status or note, with that bound form so its errors sit
    next to its fields."""
    actor = Actor.from_request(request)
    audit.record(actor, AuditAction.INTEGRATION_SESSION_VIEWED, subject=offer, patient=offer.patient,
                 details={"status": offer.status})
    notes = None
    if services.NOTE_READERS & set(actor.roles):
        notes = services.read_notes(actor=actor, offer=offer)
    return render(request, "integration/detail.html", {
        "offer": offer, "patient": offer.patient, "notes": notes,
        "book_form": book_form or BookForm(offer=offer, therapists=_therapists(), rooms=_therapy_rooms(offer)),
        "note_form": note_form or NoteForm(), "status_form": status_form,
        "can_write": can_open(request.user, "integration:add_note"),
        "can_book": can_open(request.user, "integration:book"),
    })




@require_POST
def book(request, external_id):
    offer = _offer(external_id)
    form = _book_form(request, offer)
    if form.is_valid():
        try:
            services.book(actor=Actor.from_request(request), offer=offer, start=form.start(),
                          therapist=form.cleaned_data["therapist"], room=form.cleaned_data["room"])
        except services.IntegrationError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Integration session booked.")
            return redirect("integration:detail", external_id=offer.external_id)
    return _detail_page(request, offer, book_form=form)


@require_POST
def status(request, external_id):
    offer = _offer(external_id)
    form = StatusForm(posted(request))
    if form.is_valid():
        try:
            services.set_status(actor=Actor.from_request(request), offer=offer, status=form.cleaned_data["status"])
        except services.IntegrationError as e:
            show_refusal(form, e.errors)
        else:
            return redirect("integration:detail", external_id=offer.external_id)
    return _detail_page(request, offer, status_form=form)


@require_POST
def add_note(request, external_id):
    offer = _offer(external_id)
    form = NoteForm(posted(request))
    if form.is_valid():
        try:
            services.write_note(actor=Actor.from_request(request), offer=offer, text=form.cleaned_data["text"])
        except services.IntegrationError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Note saved.")
            return redirect("integration:detail", external_id=offer.external_id)
    return _detail_page(request, offer, note_form=form)
