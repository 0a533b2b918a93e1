"""Integration worklist, booking and the therapist's notes (clinical roles only, every read audited)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ketaclinic.access import can_open
from ketaclinic.accounts.models import staff_holding
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Room, current_clinic
from ketaclinic.formfields import posted
from ketaclinic.integration import services
from ketaclinic.integration.forms import BookForm, NoteForm, StatusForm
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.patients.careteam import guarded
from ketaclinic.submit import submit


def _offer(request, external_id) -> IntegrationSession:
    return guarded(request, get_object_or_404(IntegrationSession.objects.select_related("patient", "patient__clinic", "therapist",
                                                                      "room", "dosing_session"),
                             external_id=external_id, patient__clinic=current_clinic()))


def _therapists():
    return staff_holding("therapist").order_by("last_name")


def worklist(request):
    clinic = current_clinic()
    offers = list(IntegrationSession.objects.filter(patient__clinic=clinic)
                  .exclude(status__in=[IntegrationSession.Status.COMPLETED, IntegrationSession.Status.DECLINED,
                                       IntegrationSession.Status.CANCELLED])
                  .select_related("patient", "therapist", "room").order_by("window_start")[:200])
    return render(request, "integration/list.html", {"offers": offers, "now": timezone.now()})


def _therapy_rooms(offer):
    return Room.objects.filter(clinic=offer.patient.clinic, kind=Room.Kind.THERAPY, active=True)


def _book_form(request, offer) -> BookForm:
    return BookForm(posted(request), offer=offer, therapists=_therapists(), rooms=_therapy_rooms(offer))


def detail(request, external_id):
    return _detail_page(request, _offer(request, external_id))


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


def _submit(request, offer, form, form_name: str, use_case, saved: str = ""):
    """A POST on the integration session's page: back to the page after it, or the page with the refused form."""
    return submit(request, form, use_case, refused_by=services.IntegrationError, saved=saved,
                  done=lambda _: redirect("integration:detail", external_id=offer.external_id),
                  again=lambda refused: _detail_page(request, offer, **{form_name: refused}))


@require_POST
def book(request, external_id):
    offer = _offer(request, external_id)
    form = _book_form(request, offer)
    return _submit(request, offer, form, "book_form", lambda actor, data: services.book(
        actor=actor, offer=offer, start=form.start(), therapist=data["therapist"], room=data["room"]),
        saved="Integration session booked.")


@require_POST
def status(request, external_id):
    offer = _offer(request, external_id)
    return _submit(request, offer, StatusForm(posted(request)), "status_form",
                   lambda actor, data: services.set_status(actor=actor, offer=offer, status=data["status"]))


@require_POST
def add_note(request, external_id):
    offer = _offer(request, external_id)
    return _submit(request, offer, NoteForm(posted(request)), "note_form",
                   lambda actor, data: services.write_note(actor=actor, offer=offer, text=data["text"]),
                   saved="Note saved.")
