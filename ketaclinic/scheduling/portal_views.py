"""Self-scheduling in the patient portal: the patient's upcoming appointments, booking an offered time, moving and
cancelling outside the clinic's cancellation window. Thin views over :mod:`ketaclinic.scheduling.selfbooking`;
every appointment id is looked up within the signed-in patient's own appointments (anything else is a 404), and
every page is audited (the portal's ``portal_page``)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.inputs import parse_day
from ketaclinic.portal.views import portal_page
from ketaclinic.scheduling import forms, selfbooking
from ketaclinic.scheduling.models import Appointment
from ketaclinic.scheduling.services import SchedulingError, local


def _crisis(clinic) -> dict:
    return {"clinic_phone": clinic.phone, "crisis_line": clinic.crisis_line}


def _rules(clinic) -> dict:
    hours = selfbooking.rules(clinic)
    return {"notice": hours.portal_notice_hours, "horizon": hours.portal_horizon_days,
            "cancel": hours.portal_cancel_hours, "phone": clinic.phone}


@portal_page(AuditAction.PORTAL_APPOINTMENTS_VIEWED)
def my_appointments(request):
    patient = request.patient
    clinic = patient.clinic
    return render(request, "scheduling/portal/appointments.html", {
        "appointments": selfbooking.upcoming(patient), "types": selfbooking.self_bookable_types(clinic),
        "rules": _rules(clinic), "why_not_dosing": selfbooking.NOT_SELF_BOOKABLE_WHY,
        "cancel_form": forms.PortalCancelForm(), "crisis": _crisis(clinic),
    })


def _day(request, days):
    """The day asked for (``?day=``) if it is one of ``days``, else the first of them."""
    if not days:
        return None
    day, problem = parse_day(request.GET.get("day"), today=days[0], default=days[0])
    return day if (not problem and day in days) else days[0]


def _slot_page(request, template, *, clinic, type, days, day, form, extra, status=200):
    slots = selfbooking.open_slots(clinic, type, day, request.patient, exclude=extra.get("appointment")) \
        if (type is not None and day is not None) else []
    return render(request, template, {
        "form": form, "type": type, "days": days, "day": day, "rules": _rules(clinic), "crisis": _crisis(clinic),
        "slots": [(f"{local(s, clinic):%Y-%m-%dT%H:%M}", local(s, clinic)) for s in slots],
        "why_not_dosing": selfbooking.NOT_SELF_BOOKABLE_WHY, **extra,
    }, status=status)


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.PORTAL_BOOKING_VIEWED)
def my_book(request):
    patient = request.patient
    clinic = patient.clinic
    types = selfbooking.self_bookable_types(clinic)
    by_id = {t.pk: t for t in types}
    form = forms.PortalBookForm(posted(request))
    chosen = request.GET.get("type", "")
    type = by_id.get(int(chosen)) if chosen.isdigit() else (types[0] if len(types) == 1 else None)
    if request.method == "POST" and form.is_valid():
        type = by_id.get(form.cleaned_data["type"])
        if type is None:
            form.add_error("type", "Choose one of the appointments offered here.")
        else:
            try:
                a = selfbooking.book(actor=Actor.from_request(request), patient=patient, type=type,
                                     start=form.cleaned_data["start"])
            except SchedulingError as e:
                show_refusal(form, e.errors)
            else:
                messages.success(request, f"Booked: {a.type.get_code_display()} on "
                                          f"{local(a.start, clinic):%A %Y-%m-%d at %H:%M}.")
                return redirect("scheduling:my_appointments")
    days = selfbooking.bookable_days(clinic)
    return _slot_page(request, "scheduling/portal/book.html", clinic=clinic, type=type, days=days,
                      day=_day(request, days), form=form, extra={"types": types},
                      status=400 if form.is_bound and form.errors else 200)


def _own(request, external_id) -> Appointment:
    return get_object_or_404(Appointment.objects.select_related("type", "clinic"), external_id=external_id,
                             patient=request.patient)


@require_http_methods(["GET", "POST"])
@portal_page(AuditAction.PORTAL_APPOINTMENT_CHANGE_VIEWED)
def my_reschedule(request, external_id):
    patient = request.patient
    clinic = patient.clinic
    a = _own(request, external_id)
    form = forms.PortalMoveForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            selfbooking.reschedule(actor=Actor.from_request(request), patient=patient, appointment=a,
                                   start=form.cleaned_data["start"])
        except SchedulingError as e:
            show_refusal(form, e.errors)
        else:
            a.refresh_from_db()
            messages.success(request, f"Moved to {local(a.start, clinic):%A %Y-%m-%d at %H:%M}.")
            return redirect("scheduling:my_appointments")
    changeable = next((u for u in selfbooking.upcoming(patient) if u.pk == a.pk), None)
    days = selfbooking.bookable_days(clinic) if (changeable and changeable.can_change) else []
    return _slot_page(request, "scheduling/portal/reschedule.html", clinic=clinic, type=a.type, days=days,
                      day=_day(request, days), form=form, extra={"appointment": a, "current": changeable},
                      status=400 if form.is_bound and form.errors else 200)


@require_POST
@portal_page(AuditAction.PORTAL_APPOINTMENT_CHANGE_VIEWED)
def my_cancel(request, external_id):
    a = _own(request, external_id)
    form = forms.PortalCancelForm(posted(request))
    if form.is_valid():
        try:
            selfbooking.cancel(actor=Actor.from_request(request), patient=request.patient, appointment=a)
        except SchedulingError as e:
            messages.error(request, " ".join(e.errors.values()))
        else:
            messages.success(request, f"Cancelled: {a.type.get_code_display()} on "
                                      f"{local(a.start, a.clinic):%A %Y-%m-%d at %H:%M}.")
    return redirect("scheduling:my_appointments")

