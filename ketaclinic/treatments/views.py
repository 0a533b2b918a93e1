"""Treatment pages: schedule and booking, orders, the session cockpit, verification, PDFs and REMS."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import rule_for
from ketaclinic.audit import services as audit
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Chair, Room, current_clinic
from ketaclinic.clinical.scales import SCALES
from ketaclinic.inputs import day_window, parse_day, parse_id
from ketaclinic.patients.access import get_patient_for
from ketaclinic.screening.services import absolute_in_force, absolute_message, current_assessment
from ketaclinic.treatments import pdf, services
from ketaclinic.treatments.models import (
    AdverseEvent,
    Phase,
    RemsForm,
    Route,
    SessionEvent,
    SessionRating,
    TreatmentOrder,
    TreatmentSession,
)
from ketaclinic.treatments.services import TreatmentError

S = TreatmentSession.Status
SESSION_RELATED = ("patient", "patient__clinic", "order", "order__signed_by", "room", "chair", "prepared_by",
                   "verified_by", "administered_by", "predose_override_by", "discharged_by", "nurse_signed_by",
                   "prescriber_signed_by")


def _session(external_id) -> TreatmentSession:
    return get_object_or_404(TreatmentSession.objects.select_related(*SESSION_RELATED), external_id=external_id,
                             patient__clinic=current_clinic())


def _order(external_id) -> TreatmentOrder:
    return get_object_or_404(TreatmentOrder.objects.select_related("patient", "patient__clinic", "signed_by",
                                                                   "eligibility"),
                             external_id=external_id, patient__clinic=current_clinic())


def _flash(request, e: TreatmentError) -> None:
    for field, msg in e.errors.items():
        messages.error(request, msg if field in ("__all__", "start", "discharge") else
                       f"{field.replace('_', ' ').capitalize()}: {msg}")


def _local_dt(day: date, hhmm: str, tz) -> datetime | None:
    try:
        t = time.fromisoformat(hhmm)
    except ValueError:
        return None
    return datetime.combine(day, t, tzinfo=tz)


# ============================================================================================ schedule
def schedule(request):
    clinic = current_clinic()
    tz = clinic.tz
    today = timezone.localtime(timezone.now(), tz).date()
    day, problem = parse_day(request.GET.get("date"), today=today, default=today)
    if problem:
        messages.warning(request, problem)
    start = datetime.combine(day, time.min, tzinfo=tz)
    sessions = list(TreatmentSession.objects.filter(scheduled_start__gte=start,
                                                    scheduled_start__lt=start + timedelta(days=1),
                                                    patient__clinic=clinic)
                    .select_related("patient", "room", "chair").order_by("scheduled_start"))
    rooms = list(Room.objects.filter(clinic=clinic, active=True,
                                     kind__in=[Room.Kind.INFUSION, Room.Kind.INTRANASAL, Room.Kind.RECOVERY])
                 .prefetch_related("chairs"))
    columns = []
    for room in rooms:
        for chair in [c for c in room.chairs.all() if c.active] or [None]:
            columns.append({"room": room, "chair": chair,
                            "sessions": [s for s in sessions if s.room_id == room.pk and
                                         (chair is None or s.chair_id == chair.pk)]})
    week_end = start + timedelta(days=7)
    week = (TreatmentSession.objects.filter(scheduled_start__gte=start, scheduled_start__lt=week_end,
                                            patient__clinic=clinic).exclude(status__in=services.CLOSED)
            .select_related("patient", "room", "chair").order_by("scheduled_start"))
    to_book = (TreatmentOrder.objects.filter(status=TreatmentOrder.Status.ACTIVE, patient__clinic=clinic)
               .select_related("patient").order_by("-signed_at"))
    to_book = [o for o in to_book.prefetch_related(Prefetch("sessions", to_attr="session_list"))
               if len([s for s in o.session_list if s.status not in services.CLOSED]) < o.sessions_planned][:50]
    return render(request, "treatments/schedule.html", {
        "day": day, "prev": day - timedelta(days=1), "next": day + timedelta(days=1), "columns": columns,
        "week": week, "to_book": to_book, "now": timezone.now(),
        "can_check_in": request.user.has_role("front_desk", "nurse", "prescriber"),
        "clinical": request.user.has_role("nurse", "prescriber"),
    })


# ============================================================================================ orders
@require_http_methods(["GET", "POST"])
def order_new(request, patient_id):
    patient = get_patient_for(request, patient_id)
    errors: dict[str, str] = {}
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            order = services.write_order(actor=Actor.from_request(request), patient=patient, data=request.POST)
        except TreatmentError as e:
            errors = e.errors
        else:
            messages.success(request, f"Order signed: {order}.")
            return redirect("treatments:order", external_id=order.external_id)
    limits = patient.clinic.limits()
    weight, _ = services.latest_weight(patient)
    return render(request, "treatments/order_form.html", {
        "patient": patient, "errors": errors, "data": data, "weight": weight, "limits": limits,
        "ketamine": current_assessment(patient, "ketamine"), "esketamine": current_assessment(patient, "esketamine"),
        "absolute": absolute_message(on_file) if (on_file := absolute_in_force(patient)) else "",
    })


def order_detail(request, external_id):
    order = _order(external_id)
    clinic = order.patient.clinic
    audit.record(Actor.from_request(request), "order.viewed", subject=order, patient=order.patient)
    sessions = list(order.sessions.select_related("room", "chair").order_by("sequence"))
    today = timezone.localtime(timezone.now(), clinic.tz).date()
    start, problem = parse_day(request.GET.get("start"), today=today, default=today + timedelta(days=1))
    if problem:
        messages.warning(request, problem)
    proposal: list = []
    proposal_error = ""
    if order.status == TreatmentOrder.Status.ACTIVE:
        try:
            proposal = services.propose_series(order, start, clinic)
        except TreatmentError as e:
            proposal_error = "; ".join(e.errors.values())
    kinds = [Room.Kind.INTRANASAL] if order.route == Route.INTRANASAL else [Room.Kind.INFUSION]
    chairs = list(Chair.objects.filter(room__clinic=clinic, room__kind__in=kinds, active=True, room__active=True)
                  .select_related("room"))
    return render(request, "treatments/order.html", {
        "order": order, "patient": order.patient, "sessions": sessions, "proposal": proposal,
        "proposal_error": proposal_error, "start": start, "chairs": chairs,
        "minutes": services.default_minutes(order, clinic.limits()),
        "can_book": request.user.has_role("front_desk", "prescriber", "nurse", "clinic_admin"),
        "can_cancel": request.user.has_role(*rule_for("treatments:cancel").roles),  # the policy decides
        "errors": request.session.pop("booking_errors", {}),
    })


def _bookable_day(raw: str, clinic) -> date | None:
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return None
    lo, hi = day_window(timezone.localtime(timezone.now(), clinic.tz).date())
    return day if lo <= day <= hi else None  # outside the bookable window: refused as "Give the date and time"


@require_POST
def book(request, external_id):
    """Book one proposed date (``row``), or every proposed date at one time and chair (``all``): all or nothing."""
    order = _order(external_id)
    clinic = order.patient.clinic
    key = request.POST.get("row", "")
    book_all = request.POST.get("all") == "1"
    raw_days = request.POST.getlist("dates") if book_all else [request.POST.get("date", "")]
    chair = Chair.objects.select_related("room").filter(pk=parse_id(request.POST.get("chair")) or 0,
                                                       room__clinic=clinic).first()
    booked = []
    try:
        minutes = int(request.POST.get("minutes") or 0) or None
        if book_all:
            days = [_bookable_day(raw, clinic) for raw in raw_days]
            bad = next((raw for raw, day in zip(raw_days, days, strict=True) if day is None), None)
            try:
                at = time.fromisoformat(request.POST.get("time", ""))
            except ValueError:
                at = None
            if bad is not None or at is None or not raw_days:
                raise TreatmentError({"start": f"Give the date and time ({bad or 'no date'})."})
            booked = services.book_series(actor=Actor.from_request(request), order=order, days=days, at=at,
                                          chair=chair, minutes=minutes)
        else:
            day = _bookable_day(raw_days[0], clinic)
            when = _local_dt(day, request.POST.get("time", ""), clinic.tz) if day else None
            if when is None:
                raise TreatmentError({"start": f"Give the date and time ({raw_days[0] or 'no date'})."})
            if chair is None:
                raise TreatmentError({"chair": "Choose a room and chair."})
            booked = [services.book_session(actor=Actor.from_request(request), order=order, start=when,
                                            room=chair.room, chair=chair, minutes=minutes)]
    except (TreatmentError, ValueError) as e:
        errs = e.errors if isinstance(e, TreatmentError) else {"minutes": "Minutes must be a whole number."}
        if not book_all:
            request.session["booking_errors"] = {key: " ".join(errs.values())}
        messages.error(request, ("Nothing booked: " if book_all else "Not booked: ") + " ".join(errs.values()))
    else:
        for s in booked:
            messages.success(request, f"Booked session {s.sequence}: "
                             f"{timezone.localtime(s.scheduled_start, clinic.tz):%a %d %b %H:%M}, {s.chair}.")
    return redirect(f"{order_url(order)}?{urlencode({'start': request.POST.get('start', '')})}")


def order_url(order) -> str:
    from django.urls import reverse

    return reverse("treatments:order", kwargs={"external_id": order.external_id})


@require_POST
def check_in(request, external_id):
    s = _session(external_id)
    try:
        services.check_in(actor=Actor.from_request(request), session=s)
    except TreatmentError as e:
        _flash(request, e)
    else:
        messages.success(request, f"{s.patient.display_name} checked in.")
    return redirect(safe_next(request, "treatments:schedule"))


def safe_next(request, fallback: str) -> str:
    """The ``next`` URL from the form when it stays on this site (never an open redirect), else ``fallback``."""
    from django.urls import reverse

    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return reverse(fallback)


@require_POST
def cancel(request, external_id):
    s = _session(external_id)
    try:
        services.cancel_session(actor=Actor.from_request(request), session=s, reason=request.POST.get("reason", ""),
                                no_show=request.POST.get("no_show") == "on")
    except TreatmentError as e:
        _flash(request, e)
    else:
        messages.success(request, "Session cancelled.")
    return redirect("treatments:order", external_id=s.order.external_id)


# ============================================================================================ cockpit
def cockpit_context(request, s: TreatmentSession, **extra) -> dict:
    """Everything the cockpit shows, in a fixed number of queries whatever the number of readings."""
    rows = list(s.vitals.select_related("recorded_by").order_by("taken_at", "pk"))
    events = list(s.events.select_related("by"))
    aes = list(s.adverse_events.select_related("recorded_by"))
    ratings = list(s.ratings.select_related("recorded_by"))
    observations = list(s.observations.select_related("recorded_by"))
    addenda = list(s.addenda.select_related("by"))
    rems = RemsForm.objects.filter(session=s).first() if s.route == Route.INTRANASAL else None
    pre = [r for r in rows if r.phase == Phase.PRE_DOSE]
    overrides = list(s.predose_overrides.select_related("by", "reading"))
    active_ae = any(a.resolved_at is None for a in aes)
    decision = services.discharge_decision(s, rows, active_ae) if s.dose_ended_at else None
    limits = s.patient.clinic.limits()
    phase = services._phase_for(s)
    latest = rows[-1] if rows else None
    user = request.user
    ctx = {
        "s": s, "patient": s.patient, "order": s.order, "rows": rows, "events": events, "aes": aes,
        "ratings": ratings, "observations": observations, "addenda": addenda, "rems": rems,
        "pre_rows": pre, "held": services.predose_hold(s, pre, overrides), "latest": latest, "overrides": overrides,
        "pregnancy_open": s.pregnancy_test == "positive" and not any(o.kind == "pregnancy" for o in overrides),
        "precheck_missing": services.precheck_missing(s), "start_blockers": services.start_blockers(s, pre),
        "decision": decision, "phase": phase, "phase_label": Phase(phase).label,
        "interval": services.rules.vitals_interval_minutes(s.route, phase, limits),
        "next_due": services.next_vitals_due(s), "ae_kinds": AdverseEvent.Kind.choices,
        "ae_severities": AdverseEvent.Severity.choices, "timepoints": SessionRating.Timepoint.choices,
        "cadss": SCALES["cadss"], "moaas": SCALES["moaas"],
        "pregnancy_applies": services.rules.pregnancy_test_applies(s.patient.sex_at_birth),
        "locked": s.is_signed, "is_prescriber": user.has_role("prescriber"), "is_nurse": user.has_role("nurse"),
        "now_local": timezone.localtime(timezone.now(), s.patient.clinic.tz),
        "vitals_errors": {}, "vitals_values": {}, "esketamine": s.route == Route.INTRANASAL,
        "rems_bp": services.rems_bp_points(s, rows) if s.route == Route.INTRANASAL else None,
        "active_ae": active_ae,
    }
    ctx.update(extra)
    return ctx


def cockpit(request, external_id):
    s = _session(external_id)
    audit.record(Actor.from_request(request), "session.cockpit.viewed", subject=s, patient=s.patient)
    return render(request, "treatments/cockpit.html", cockpit_context(request, s))


@require_POST
def vitals(request, external_id):
    s = _session(external_id)
    tz = s.patient.clinic.tz
    values = {f: request.POST.get(f, "").strip() for f in services.VITAL_FIELDS}
    taken = request.POST.get("taken_at", "").strip()
    errors: dict[str, str] = {}
    taken_at = None
    if taken:
        taken_at = _local_dt(timezone.localtime(timezone.now(), tz).date(), taken, tz)
        if taken_at is None:
            errors["taken_at"] = "Time must be HH:MM."
    if not errors:
        try:
            row = services.add_vitals(actor=Actor.from_request(request), session=s, values=values, taken_at=taken_at)
        except TreatmentError as e:
            errors = e.errors
        else:
            s = _session(external_id)
            if not request.htmx:
                messages.success(request, f"Vitals saved ({row.level_name}).")
    if not request.htmx:
        for msg in errors.values():
            messages.error(request, msg)
        return redirect("treatments:cockpit", external_id=s.external_id)
    ctx = cockpit_context(request, s, vitals_errors=errors, vitals_values={**values, "taken_at": taken} if errors
                          else {}, saved=not errors)
    return render(request, "treatments/cockpit.html#vitals", ctx)


def _bool(request, name: str) -> bool:
    return request.POST.get(name) in ("on", "yes", "true", "1")


@require_POST
def action(request, external_id, action):
    s = _session(external_id)
    actor = Actor.from_request(request)
    p = request.POST
    try:
        if action == "prechecks":
            data = {k: _bool(request, k) for k in services.PRECHECK_BOOLS}
            data.update({k: p.get(k, "") for k in ("escort_name", "escort_phone", "music", "lighting",
                                                   "setting_notes", "weight_kg", "pregnancy_test")})
            for w in services.save_prechecks(actor=actor, session=s, data=data):
                messages.warning(request, w)
            messages.success(request, "Pre-checks saved.")
        elif action == "override":
            reading_pk = parse_id(p.get("reading"))
            reading = s.vitals.filter(pk=reading_pk).first() if reading_pk is not None else None
            services.override_predose_hold(actor=actor, session=s, reason=p.get("reason", ""),
                                           kind=p.get("kind") or None, reading=reading)
            messages.success(request, "Pre-dose hold overridden; the reason is recorded.")
        elif action == "transfer":
            services.transfer_to_emergency(actor=actor, session=s, note=p.get("transfer_note", ""), adverse_event={
                k: p.get(k, "") for k in ("kind", "severity", "description", "action_taken", "rescue_medication")})
            messages.success(request, "Transferred to emergency care; the adverse event is recorded.")
        elif action == "prepare":
            calc = services.prepare_dose(actor=actor, session=s, data=p)
            messages.success(request, f"Dose prepared: {calc.total_mg:g} mg. A second clinician must verify it on "
                             "their own device.")
        elif action == "start":
            services.start_dose(actor=actor, session=s)
            messages.success(request, "Dosing started." if s.route != Route.IM else "Injection given.")
        elif action in ("pause", "resume", "rate", "stop", "device"):
            services.dosing_event(actor=actor, session=s, kind=action, rate=p.get("rate"), note=p.get("note", ""),
                                  administered_mg=p.get("administered_mg"))
            messages.success(request, f"{SessionEvent.Kind(action).label}.")
        elif action == "adverse":
            services.add_adverse_event(actor=actor, session=s, data={**p.dict(), "resolved": _bool(request, "resolved")})
            messages.success(request, "Adverse event recorded.")
        elif action == "resolve":
            services.resolve_adverse_event(actor=actor, session=s, event_id=p.get("event", ""))
            messages.success(request, "Adverse event resolved.")
        elif action == "rating":
            scale = p.get("scale", "")
            answers: dict[str, object] = {}
            if scale in ("cadss", "moaas"):
                for item in SCALES[scale].items:
                    raw = p.get(f"{scale}-{item.id}", "")
                    if raw != "":
                        answers[item.id] = int(raw) if raw.lstrip("-").isdigit() else raw
            r = services.add_rating(actor=actor, session=s, scale=scale, timepoint=p.get("timepoint", ""),
                                    answers=answers)
            messages.success(request, f"{SCALES[scale].name}: {r.total} {r.band}.")
            for f in r.flags:
                messages.warning(request, f["message"])
        elif action == "observation":
            services.add_observation(actor=actor, session=s, text=p.get("text", ""))
            messages.success(request, "Observation saved.")
        elif action == "recovery":
            services.record_recovery(actor=actor, session=s, alert_and_oriented=_bool(request, "alert_and_oriented"),
                                     steady_gait=_bool(request, "steady_gait"))
            messages.success(request, "Recovery status saved.")
        elif action == "discharge":
            services.discharge(actor=actor, session=s, override_reason=p.get("override_reason", ""))
            messages.success(request, "Discharged. Print the discharge instructions.")
        elif action == "rems":
            services.update_rems(actor=actor, session=s, data={k: p.get(k, "") for k in (
                "sedation", "dissociation", "respiratory_depression", "ready_to_leave_minutes") if k in p})
            messages.success(request, "REMS monitoring data saved.")
        elif action == "sign":
            services.sign_note(actor=actor, session=s, as_role=p.get("as_role", ""), summary=p.get("note_summary", ""))
            messages.success(request, "Note signed.")
        elif action == "addendum":
            services.add_addendum(actor=actor, session=s, text=p.get("text", ""))
            messages.success(request, "Addendum added; the original note is unchanged.")
        else:
            return HttpResponse("Unknown action", status=404)
    except TreatmentError as e:
        _flash(request, e)
    except ValueError:
        messages.error(request, "Check the values entered.")
    return redirect(f"{order_url_cockpit(s)}#{action}")


def order_url_cockpit(s) -> str:
    from django.urls import reverse

    return reverse("treatments:cockpit", kwargs={"external_id": s.external_id})


@require_http_methods(["GET", "POST"])
def verify(request, external_id):
    """The second clinician's page, opened on their own device: they enter weight and dose themselves."""
    s = _session(external_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.verify_dose(actor=Actor.from_request(request), session=s, weight_kg=request.POST.get("weight_kg"),
                                 dose_mg=request.POST.get("dose_mg"))
        except TreatmentError as e:
            errors = e.errors
        else:
            messages.success(request, "Dose verified independently.")
            return redirect("treatments:verify", external_id=s.external_id)
    else:
        audit.record(Actor.from_request(request), "session.verify.viewed", subject=s, patient=s.patient)
    return render(request, "treatments/verify.html", {
        "s": s, "patient": s.patient, "order": s.order, "errors": errors, "data": request.POST,
        "same_user": request.user.pk == s.prepared_by_id})


# ============================================================================================ documents
def discharge_pdf(request, external_id):
    s = _session(external_id)
    nxt = (TreatmentSession.objects.filter(patient=s.patient, scheduled_start__gt=s.scheduled_start)
           .exclude(status__in=services.CLOSED).order_by("scheduled_start").first())
    from ketaclinic.integration.models import IntegrationSession

    integ = IntegrationSession.objects.filter(dosing_session=s).first()
    audit.record(Actor.from_request(request), "session.discharge_instructions.printed", subject=s, patient=s.patient)
    body = pdf.discharge_instructions(s, nxt, integ)
    resp = HttpResponse(bytes(body), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="discharge-{s.patient.mrn}-{s.scheduled_start:%Y%m%d}.pdf"'
    return resp


def rems_pdf(request, external_id):
    s = _session(external_id)
    form = get_object_or_404(RemsForm, session=s)
    prescriber = s.order.signed_by
    audit.record(Actor.from_request(request), "rems.form.exported", subject=s, patient=s.patient)
    body = pdf.rems_form(s, form, prescriber, request.user)
    resp = HttpResponse(bytes(body), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="rems-{s.patient.mrn}-{s.scheduled_start:%Y%m%d}.pdf"'
    return resp


def _audit_list_view(actor: Actor, action: str, sessions: list[TreatmentSession]) -> None:
    """A read of a list naming patients: one entry per patient shown (so each patient's access history finds
    it), each listing every patient and session shown; one entry without a patient when the list is empty."""
    patients = {}
    for x in sessions:
        patients.setdefault(x.patient_id, x.patient)
    details = {"patients": [str(p.external_id) for p in patients.values()],
               "sessions": [str(x.external_id) for x in sessions]}
    with transaction.atomic():
        for p in list(patients.values()) or [None]:
            audit.record(actor, action, patient=p, details=details)


def rems_list(request):
    clinic = current_clinic()
    due = list(services.rems_due(clinic))
    drafts = list(RemsForm.objects.filter(status=RemsForm.Status.DRAFT, session__patient__clinic=clinic)
                  .select_related("session", "session__patient"))
    _audit_list_view(Actor.from_request(request), "rems.due_list.viewed", [f.session for f in due + drafts])
    return render(request, "treatments/rems.html", {"due": due, "drafts": drafts,
                                                    "today": timezone.localdate()})


@require_POST
def rems_submitted(request, external_id):
    s = _session(external_id)
    form = get_object_or_404(RemsForm, session=s)
    try:
        services.mark_rems_submitted(actor=Actor.from_request(request), form=form)
    except TreatmentError as e:
        _flash(request, e)
    else:
        messages.success(request, "REMS form marked submitted.")
    return redirect("treatments:rems_due")

