"""Integration worklist, booking and the therapist's notes (clinical roles only, every read audited)."""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ketaclinic.accounts.models import User
from ketaclinic.audit import services as audit
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Room, current_clinic
from ketaclinic.inputs import day_window, parse_id
from ketaclinic.integration import services
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


def detail(request, external_id):
    offer = _offer(external_id)
    actor = Actor.from_request(request)
    audit.record(actor, "integration.session.viewed", subject=offer, patient=offer.patient,
                 details={"status": offer.status})
    notes = None
    if services.NOTE_READERS & set(actor.roles):
        notes = services.read_notes(actor=actor, offer=offer)
    rooms = Room.objects.filter(clinic=offer.patient.clinic, kind=Room.Kind.THERAPY, active=True)
    return render(request, "integration/detail.html", {
        "offer": offer, "patient": offer.patient, "notes": notes, "therapists": _therapists(), "rooms": rooms,
        "can_write": request.user.has_role("therapist"),
        "can_book": request.user.has_role("front_desk", "therapist", "prescriber", "nurse"),
    })


@require_POST
def book(request, external_id):
    offer = _offer(external_id)
    tz = offer.patient.clinic.tz
    try:
        d = date.fromisoformat(request.POST.get("date", ""))
        t = time.fromisoformat(request.POST.get("time", ""))
        lo, hi = day_window(timezone.localtime(timezone.now(), tz).date())
        if not lo <= d <= hi:
            raise ValueError("outside the bookable days")
        start = datetime.combine(d, t, tzinfo=tz)
    except ValueError:
        messages.error(request, "Give the date and time.")
        return redirect("integration:detail", external_id=offer.external_id)
    therapist = _therapists().filter(pk=parse_id(request.POST.get("therapist")) or 0).first()
    room = Room.objects.filter(pk=parse_id(request.POST.get("room")) or 0, clinic=offer.patient.clinic).first()
    try:
        services.book(actor=Actor.from_request(request), offer=offer, start=start, therapist=therapist, room=room)
    except services.IntegrationError as e:
        for m in e.errors.values():
            messages.error(request, m)
    else:
        messages.success(request, "Integration session booked.")
    return redirect("integration:detail", external_id=offer.external_id)


@require_POST
def status(request, external_id):
    offer = _offer(external_id)
    try:
        services.set_status(actor=Actor.from_request(request), offer=offer, status=request.POST.get("status", ""))
    except services.IntegrationError as e:
        for m in e.errors.values():
            messages.error(request, m)
    return redirect("integration:detail", external_id=offer.external_id)


@require_POST
def add_note(request, external_id):
    offer = _offer(external_id)
    try:
        services.write_note(actor=Actor.from_request(request), offer=offer, text=request.POST.get("text", ""))
    except services.IntegrationError as e:
        for m in e.errors.values():
            messages.error(request, m)
    else:
        messages.success(request, "Note saved.")
    return redirect("integration:detail", external_id=offer.external_id)
