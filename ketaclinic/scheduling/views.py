"""Calendar pages: thin views. Each POST is read by a form of :mod:`ketaclinic.scheduling.forms` and makes one
service call; a refusal is shown next to its field and changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import can_open
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import formats
from ketaclinic.clinic.models import current_clinic
from ketaclinic.formfields import posted, say_refused
from ketaclinic.inputs import parse_day
from ketaclinic.patients import careteam
from ketaclinic.patients.careteam import guarded
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import calendar, closures, forms, selfbooking, services
from ketaclinic.scheduling.defaults import CHAIR_TIME
from ketaclinic.scheduling.models import Appointment, AppointmentType, Availability, WaitlistEntry
from ketaclinic.submit import submit


def _today(clinic):
    return timezone.localtime(timezone.now(), clinic.tz).date()


def calendar_url(day, view: str = "day", by: str = "place") -> str:
    return f"{reverse('scheduling:calendar')}?{urlencode({'date': day.isoformat(), 'view': view, 'by': by})}"


def calendar_page(request):
    clinic = current_clinic()
    today = _today(clinic)
    day, problem = parse_day(request.GET.get("date"), today=today, default=today)
    if problem:
        messages.warning(request, problem)
    view = request.GET.get("view") if request.GET.get("view") in calendar.VIEWS else "day"
    by = request.GET.get("by") if request.GET.get("by") in calendar.BY else "place"
    step = timedelta(days=7 if view == "week" else 1)
    grid = calendar.week_grid(clinic, request.user, day) if view == "week" else \
        calendar.day_grid(clinic, request.user, day, by)
    return render(request, "scheduling/calendar.html", {
        "clinic": clinic, "day": day, "today": today, "view": view, "by": by, "grid": grid,
        "prev": calendar_url(day - step, view, by), "next": calendar_url(day + step, view, by),
        "today_url": calendar_url(today, view, by),
        "day_url": calendar_url(day, "day", by), "week_url": calendar_url(day, "week", by),
        "place_url": calendar_url(day, view, "place"), "people_url": calendar_url(day, view, "clinician"),
        "can_book": can_open(request.user, "scheduling:book"),
        "can_hours": can_open(request.user, "scheduling:hours"),
        "can_waitlist": can_open(request.user, "scheduling:waitlist"),
    })


@require_http_methods(["GET", "POST"])
def book(request):
    clinic = current_clinic()
    prefill = forms.PrefillForm(request.GET, clinic=clinic).prefill()
    form = forms.BookForm(posted(request), clinic=clinic, initial=prefill)

    def book_appointment(actor, d):
        return services.book_appointment(
            actor=actor, clinic=clinic, type=d["type_obj"], start=d["start"], clinician=d["clinician_obj"],
            room=d["room"], chair=d["chair"], minutes=d["minutes"], patient=d["patient_obj"],
            new_patient=None if d["patient_obj"] else form.new_patient(), confirm_duplicate=d["confirm_duplicate"],
            note=d["note"], waitlist_entry=d["waitlist_obj"])

    def book_page(form):
        chosen = None
        pid = form.cleaned_data.get("patient") if form.is_bound and hasattr(form, "cleaned_data") else \
            prefill.get("patient")
        if pid:
            chosen = Patient.objects.filter(clinic=clinic, external_id=pid).first()
            if chosen is not None:
                careteam.check(request.user, chosen)
        return render(request, "scheduling/book.html", {
            "form": form, "patient": chosen, "hours": services.hours_for(clinic),
            "show_confirm": "confirm_duplicate" in form.errors or bool(form["confirm_duplicate"].value()),
        })

    return _submit(request, form, book_appointment, again=book_page, saved=lambda a: (
        f"Booked {a.type.get_code_display().lower()} for {a.patient.display_name} (MRN {a.patient.mrn}) "
        f"on {services.local(a.start, clinic):{formats.DAY_DATETIME}} with {a.clinician.label}, {a.room.name}"
        f"{' · ' + a.chair.label if a.chair else ''}."))


def _submit(request, form, use_case, *, again, saved, done=None):
    """A POST on a calendar page: after it, the calendar on the appointment's day (or ``done``); refused, the
    page again with the bound form (``again``)."""
    return submit(request, form, use_case, refused_by=services.SchedulingError, again=again, saved=saved,
                  done=done or (lambda a: redirect(calendar_url(services.local(a.start, a.clinic).date()))))


def _appointment(request, external_id) -> Appointment:
    return guarded(request, get_object_or_404(Appointment.objects.select_related("clinic", "patient", "type", "clinician", "room",
                                                                "chair", "booked_by"),
                             external_id=external_id, clinic=current_clinic()))


def appointment(request, external_id, *, reschedule_form=None, cancel_form=None):
    a = _appointment(request, external_id)
    can_change = can_open(request.user, "scheduling:reschedule") and a.status == Appointment.Status.BOOKED
    return render(request, "scheduling/appointment.html", {
        "a": a, "history": list(a.changes.select_related("by").order_by("at", "pk")),
        "can_change": can_change, "started": a.start <= timezone.now(),
        "reschedule_form": reschedule_form or forms.RescheduleForm(clinic=a.clinic, initial={
            "start": services.local(a.start, a.clinic).strftime("%Y-%m-%dT%H:%M")}),
        "cancel_form": cancel_form or forms.CancelForm(),
        "calendar": calendar_url(services.local(a.start, a.clinic).date()),
    }, status=400 if (reschedule_form or cancel_form) else 200)


@require_POST
def reschedule(request, external_id):
    a = _appointment(request, external_id)
    return _submit(request, forms.RescheduleForm(posted(request), clinic=a.clinic), lambda actor, d: services.reschedule(
        actor=actor, appointment=a, start=d["start"], reason=d["reason"], reason_text=d["reason_text"],
        clinician=d["clinician_obj"], room=d["room"], chair=d["chair"]),
        saved=lambda a: f"Moved to {services.local(a.start, a.clinic):{formats.DAY_DATETIME}}.",
        again=lambda form: appointment(request, external_id, reschedule_form=form))


@require_POST
def cancel(request, external_id):
    a = _appointment(request, external_id)
    form = forms.CancelForm(posted(request))

    def cancelled(a) -> str:
        what = "Recorded a no-show" if form.cleaned_data["no_show"] else "Cancelled"
        offers = services.waitlist_matches(a.clinic, [a])
        return (f"{what}: {a.patient.display_name}, {services.local(a.start, a.clinic):{formats.DAY_DATETIME}}."
                + (f" {len(offers)} waitlist entr{'y matches' if len(offers) == 1 else 'ies match'} "
                   "the freed slot: see the calendar." if offers else ""))

    return _submit(request, form, lambda actor, d: services.cancel(
        actor=actor, appointment=a, reason=d["reason"], reason_text=d["reason_text"], no_show=d["no_show"]),
        saved=cancelled, again=lambda form: appointment(request, external_id, cancel_form=form))


@require_http_methods(["GET", "POST"])
def hours(request):
    """The clinic admin's page: booking hours, each clinician's weekly hours and the appointment types."""
    clinic = current_clinic()
    return _submit(request, forms.HoursForm(posted(request), initial=_hours_initial(clinic)),
                   lambda actor, data: services.set_clinic_hours(actor=actor, clinic=clinic, **data),
                   saved="Clinic hours saved.", done=lambda _: redirect("scheduling:hours"),
                   again=lambda form: hours_page(request, clinic, hours_form=form))


def _hours_initial(clinic) -> dict:
    current = services.hours_for(clinic)
    return {"opens": current.opens, "closes": current.closes, "slot_minutes": current.slot_minutes}


def hours_page(request, clinic, *, hours_form=None, bound: dict | None = None, status: int = 200):
    """The hours page; ``hours_form`` and the forms in ``bound`` as posted (refused), the others as saved."""
    bound = bound or {}
    hours_form = hours_form or forms.HoursForm(initial=_hours_initial(clinic))
    people = services.clinicians(clinic)
    rows = list(Availability.objects.filter(clinic=clinic))
    availability = []
    for p in people:
        initial = {"clinician": p.pk}
        for r in rows:
            if r.clinician_id == p.pk:
                initial.setdefault(f"d{r.weekday}_start", r.start)
                initial.setdefault(f"d{r.weekday}_end", r.end)
        availability.append((p, bound.get(("person", p.pk)) or forms.AvailabilityForm(initial=initial,
                                                                                      prefix=f"u{p.pk}")))
    types = [(t, bound.get(("type", t.pk)) or forms.TypeForm(initial={"type": t.pk, "minutes": t.minutes,
                                                                        "active": t.active,
                                                                        "self_bookable": t.self_bookable},
                                                               prefix=f"t{t.pk}"))
             for t in services.types_for(clinic, active_only=False)]
    current = services.hours_for(clinic)
    portal_form = bound.get("portal") or forms.PortalRulesForm(initial={
        k: getattr(current, k) for k in ("portal_horizon_days", "portal_notice_hours", "portal_cancel_hours")})
    return render(request, "scheduling/hours.html", {
        "clinic": clinic, "hours_form": hours_form, "availability": availability, "types": types,
        "portal_form": portal_form, "chair_time": CHAIR_TIME,
        "working": sorted(clinic.weekdays()), "day_names": services.DAY_NAMES,
    }, status=status)


@require_http_methods(["GET", "POST"])
def closed_days(request):
    """The clinic admin's page of closed days: the days closed from the start of last year on, a form to close a
    day or a run of days, the year's US federal holidays still open (with the bookings that stand on them), and a
    button to open each closed day again. A POST closes days."""
    clinic = current_clinic()
    return _submit(request, forms.CloseDaysForm(posted(request), prefix="close"),
                   lambda actor, d: closures.close_days(actor=actor, clinic=clinic, first=d["first"], last=d["last"],
                                                        reason=d["reason"]),
                   saved=lambda rows: f"Closed {len(rows)} day(s): {', '.join(f'{r.day:%a %Y-%m-%d}' for r in rows)}.",
                   done=lambda _: redirect("scheduling:closed_days"),
                   again=lambda form: closed_days_page(request, clinic, close_form=form))


def closed_days_page(request, clinic, *, close_form=None, holidays_form=None, reopen_form=None):
    today = timezone.localdate(timezone=clinic.tz)
    # the year shown: the one a refused holidays form was posted for, else ?year=, kept within the years offered
    asked = forms.HolidayYearForm(holidays_form.data if holidays_form is not None else request.GET)
    year = (asked.is_valid() and asked.cleaned_data["year"]) or today.year
    year = min(max(year, today.year - closures.YEARS_BACK), today.year + closures.YEARS_AHEAD)
    refused = any(f is not None and f.is_bound for f in (close_form, holidays_form, reopen_form))
    return render(request, "scheduling/closed_days.html", {
        "clinic": clinic, "today": today, "year": year,
        "years": range(today.year - closures.YEARS_BACK, today.year + closures.YEARS_AHEAD + 1),
        "closed": closures.closed_from(clinic, today.replace(month=1, day=1, year=today.year - closures.YEARS_BACK)),
        "holidays": closures.federal_holidays_open(clinic, year),
        "close_form": close_form or forms.CloseDaysForm(prefix="close"),
        "holidays_form": holidays_form or forms.CloseHolidaysForm(initial={"year": year}),
        "reopen_form": reopen_form,
    }, status=400 if refused else 200)


def _closed_holidays_said(result) -> str:
    closed, left = result
    said = f"Closed {len(closed)} federal holiday(s)."
    if left:
        said += (f" Left open, as bookings stand on them: {', '.join(f'{d:%a %Y-%m-%d}' for d in left)}; move them, "
                 f"then close those days.")
    return said


@require_POST
def close_holidays(request):
    clinic = current_clinic()
    return _submit(request, forms.CloseHolidaysForm(posted(request)),
                   lambda actor, d: closures.close_federal_holidays(actor=actor, clinic=clinic, year=d["year"]),
                   saved=_closed_holidays_said, done=lambda _: redirect("scheduling:closed_days"),
                   again=lambda form: closed_days_page(request, clinic, holidays_form=form))


@require_POST
def reopen_day(request):
    clinic = current_clinic()
    return _submit(request, forms.ReopenDayForm(posted(request)),
                   lambda actor, d: closures.reopen_day(actor=actor, clinic=clinic, day=d["day"]),
                   saved="The clinic is open on that day again.", done=lambda _: redirect("scheduling:closed_days"),
                   again=lambda form: closed_days_page(request, clinic, reopen_form=form))


@require_POST
def availability(request, clinician_id):
    clinic = current_clinic()
    person = next((p for p in services.clinicians(clinic) if p.pk == clinician_id), None)
    if person is None:
        messages.error(request, "That person cannot be booked as a clinician.")
        return redirect("scheduling:hours")
    return _submit(request, forms.AvailabilityForm(posted(request), prefix=f"u{person.pk}"),
                   lambda actor, data: services.set_availability(actor=actor, clinic=clinic, clinician=person,
                                                                 rows=data["rows"]),
                   saved=f"Hours saved for {person.label}.", done=lambda _: redirect("scheduling:hours"),
                   again=lambda form: hours_page(request, clinic, bound={("person", person.pk): form}, status=400))


@require_POST
def appointment_type(request, pk):
    clinic = current_clinic()
    t = get_object_or_404(AppointmentType, pk=pk, clinic=clinic)
    return _submit(request, forms.TypeForm(posted(request), prefix=f"t{t.pk}"),
                   lambda actor, data: services.update_type(actor=actor, type=t, minutes=data["minutes"],
                                                            active=data["active"],
                                                            self_bookable=data["self_bookable"]),
                   saved=f"Saved: {t.get_code_display()}.", done=lambda _: redirect("scheduling:hours"),
                   again=lambda form: hours_page(request, clinic, bound={("type", t.pk): form}, status=400))


@require_POST
def portal_rules(request):
    clinic = current_clinic()
    return _submit(request, forms.PortalRulesForm(posted(request)),
                   lambda actor, data: selfbooking.set_portal_rules(actor=actor, clinic=clinic, **data),
                   saved="Portal booking rules saved.", done=lambda _: redirect("scheduling:hours"),
                   again=lambda form: hours_page(request, clinic, bound={"portal": form}, status=400))


@require_http_methods(["GET", "POST"])
def waitlist(request):
    clinic = current_clinic()

    def waitlist_page(form):
        entries = list(WaitlistEntry.objects.filter(clinic=clinic, status=WaitlistEntry.Status.WAITING)
                       .select_related("patient", "type", "created_by").order_by("created_at", "pk"))
        return render(request, "scheduling/waitlist.html", {
            "form": form, "entries": entries, "day_names": services.DAY_NAMES, "remove_form": forms.RemoveForm(),
        }, status=400 if form.is_bound and form.errors else 200)

    return _submit(request, forms.WaitlistForm(posted(request), clinic=clinic), lambda actor, d: services.add_to_waitlist(
        actor=actor, clinic=clinic, patient=d["patient"], type=d["type_obj"], weekdays=d["days"],
        earliest=d["earliest"], latest=d["latest"], note=d["note"]),
        saved=lambda entry: f"{entry.patient.display_name} is on the waitlist.",
        done=lambda _: redirect("scheduling:waitlist"), again=waitlist_page)


@require_POST
def waitlist_remove(request, external_id):
    entry = get_object_or_404(WaitlistEntry, external_id=external_id, clinic=current_clinic())
    form = forms.RemoveForm(posted(request))
    if form.is_valid():
        try:
            services.remove_from_waitlist(actor=Actor.from_request(request), entry=entry,
                                          reason=form.cleaned_data["reason"])
        except services.SchedulingError as e:
            say_refused(request, " ".join(e.errors.values()))
        else:
            messages.success(request, "Removed from the waitlist.")
    else:
        say_refused(request, "Say why the entry is removed.")
    return redirect("scheduling:waitlist")
