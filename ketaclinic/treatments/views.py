"""Treatment pages: schedule and booking, orders, the session cockpit (one view per step), verification, PDFs
and REMS.

Every POST is read by a form from :mod:`ketaclinic.treatments.forms` (bound with ``formfields.posted``) and
makes one service call; a refusal, the form's or the service's, is shown and changes nothing.
"""

from __future__ import annotations

import functools
import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.db import connections, router, transaction
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget

from ketaclinic import loading
from ketaclinic.access import can_open
from ketaclinic.accounts.models import User
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Chair, Room, current_clinic
from ketaclinic.clinical import sedation
from ketaclinic.clinical import titration as rules_titration
from ketaclinic.clinical.scales import SCALES
from ketaclinic.formfields import posted, say_refused
from ketaclinic.inputs import parse_day
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.careteam import guarded
from ketaclinic.patients.models import Patient
from ketaclinic.patients.services import latest_weight_entry
from ketaclinic.screening.services import absolute_in_force, absolute_message, current_assessment
from ketaclinic.treatments import forms, pdf, predictions, services, stock, titration_history
from ketaclinic.treatments.models import (
    Addendum,
    AdverseEvent,
    AlertAcknowledgement,
    Observation,
    Phase,
    PredoseOverride,
    RemsForm,
    Route,
    SessionEvent,
    SessionRating,
    TreatmentOrder,
    TreatmentSession,
    VitalsReading,
)
from ketaclinic.treatments.services import TreatmentError, booking, titration

logger = logging.getLogger(__name__)

S = TreatmentSession.Status
SESSION_RELATED = ("patient", "patient__clinic", "order", "order__signed_by", "room", "chair", "prepared_by",
                   "verified_by", "administered_by", "predose_override_by", "discharged_by", "nurse_signed_by",
                   "prescriber_signed_by")
#: The people of SESSION_RELATED, read after the session by id (ketaclinic.loading); the cockpit reads them with
#: the people of its lists, in one query.
SESSION_PEOPLE = loading.split(TreatmentSession, SESSION_RELATED, apart=User)[1]


#: What the vitals POST reads of the session itself before the service locks and reads it afresh (who may open
#: it, and the row form's refusal): a 77-column row compiled and read twice was a third of the save.
VITALS_POST_FIELDS = ("external_id", "status", "checked_in_at", "dose_started_at", "patient_id")
_IN_CLINIC = '{external_id} = %s AND {patient_id} IN (SELECT "id" FROM {patients_patient} WHERE "clinic_id" = %s)'
_EXTERNAL_ID = TreatmentSession._meta.get_field("external_id")


def _session(request, external_id, related: tuple[str, ...] = SESSION_RELATED, *,
             with_people: bool = True) -> TreatmentSession:
    """The session of the request's clinic, once its patient is one this user may open. ``with_people`` False:
    the people it names are left to the caller, to read with others (:func:`cockpit_context` does)."""
    clinic = current_clinic()
    # the session is looked up within the clinic the request is for, so its patient's clinic is that one, already
    # read by the middleware: it is not read again
    related = tuple(r for r in related if r != "patient__clinic")
    # the people it names are read after, by id (ketaclinic.loading: a 14-table join took 30 ms to plan)
    related, people = loading.split(TreatmentSession, related, apart=User)
    s = get_object_or_404(TreatmentSession.objects.select_related(*related), external_id=external_id,
                          patient__clinic=clinic)
    if with_people:
        loading.attach([s], people)
    if "patient" in related:
        s.patient.clinic = clinic
    return guarded(request, s)


def _vitals_post_session(request, external_id) -> TreatmentSession:
    """What the vitals POST reads before the service locks the session: :data:`VITALS_POST_FIELDS` of the session,
    if its patient is the request's clinic's, once this user may open it. The patient comes as its key and clinic
    (the rest of its row loads if a page needs it: the break-glass page does). One statement written once
    (:func:`ketaclinic.loading.rows`): the ORM's compilation of the session with its 31-column patient was a tenth
    of a save (bench/bench_vitals.py)."""
    clinic = current_clinic()
    db = router.db_for_read(TreatmentSession)
    found = loading.rows(TreatmentSession, VITALS_POST_FIELDS, _IN_CLINIC, using=db, tables=(Patient,),
                         params=[_EXTERNAL_ID.get_db_prep_value(external_id, connections[db]), clinic.pk])
    if not found:
        raise Http404("No such session.")
    s = found[0]
    s.patient = Patient.from_db(s._state.db, ["id", "clinic_id"], [s.patient_id, clinic.pk])
    s.patient.clinic = clinic
    return guarded(request, s)


def _order(request, external_id) -> TreatmentOrder:
    return guarded(request, get_object_or_404(TreatmentOrder.objects.select_related("patient", "patient__clinic", "signed_by",
                                                                   "eligibility"),
                             external_id=external_id, patient__clinic=current_clinic()))


def _flash(request, e: TreatmentError) -> None:
    for field, msg in e.errors.items():
        say_refused(request, msg if field in ("__all__", "start", "discharge") else
                    f"{field.replace('_', ' ').capitalize()}: {msg}")


def _flash_form(request, form) -> None:
    """A refused form's messages (each names its field already)."""
    for msg in forms.form_errors(form).values():
        say_refused(request, msg)


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
        "can_check_in": can_open(request.user, "treatments:check_in"),
        "clinical": can_open(request.user, "treatments:cockpit"),
    })


# ============================================================================================ orders
@require_http_methods(["GET", "POST"])
def order_new(request, patient_id):
    patient = get_patient_for(request, patient_id)
    form = forms.OrderForm(posted(request))
    errors: dict[str, str] = {}
    if form.is_bound:
        if not form.is_valid():
            errors = forms.form_errors(form)
        else:
            try:
                order = services.write_order(actor=Actor.from_request(request), patient=patient,
                                             data=form.cleaned_data)
            except TreatmentError as e:
                errors = e.errors
            else:
                messages.success(request, f"Order signed: {order}.")
                return redirect("treatments:order", external_id=order.external_id)
    limits = patient.clinic.limits()
    weight = latest_weight_entry(patient)
    return render(request, "treatments/order_form.html", {
        "patient": patient, "errors": errors, "data": form.data if form.is_bound else {}, "weight": weight,
        "limits": limits, "ketamine": current_assessment(patient, "ketamine"),
        "esketamine": current_assessment(patient, "esketamine"),
        "absolute": absolute_message(on_file) if (on_file := absolute_in_force(patient)) else "",
        "titration_scales": titration.SCALE_CHOICES,
        "hard_ceilings": {route: f"{rules_titration.hard_ceiling(route, limits).normalize():f}"
                          for route in ("iv", "im")},
    })


def order_detail(request, external_id):
    order = _order(request, external_id)
    clinic = order.patient.clinic
    audit.record(Actor.from_request(request), AuditAction.ORDER_VIEWED, subject=order, patient=order.patient)
    sessions = list(order.sessions.select_related("room", "chair").order_by("sequence"))
    clinical = can_open(request.user, "treatments:cockpit")
    if clinical:  # each past session's predicted exposure (the chart shows only the newest sessions)
        predictions.exposures(order.patient, sessions)
    today = timezone.localtime(timezone.now(), clinic.tz).date()
    start, problem = parse_day(request.GET.get("start"), today=today,
                               default=booking.series_default_start(order, clinic))
    if problem:
        messages.warning(request, problem)
    proposal: list = []
    proposal_error = ""
    moves: list[str] = []
    if order.status == TreatmentOrder.Status.ACTIVE:
        try:
            proposal = services.propose_series(order, start, clinic)
            moves = booking.explain_moves(order, start, proposal, clinic)
        except TreatmentError as e:
            proposal_error = "; ".join(e.errors.values())
    kinds = [Room.Kind.INTRANASAL] if order.route == Route.INTRANASAL else [Room.Kind.INFUSION]
    chairs = list(Chair.objects.filter(room__clinic=clinic, room__kind__in=kinds, active=True, room__active=True)
                  .select_related("room"))
    return render(request, "treatments/order.html", {
        "order": order, "patient": order.patient, "sessions": sessions, "proposal": proposal, "clinical": clinical,
        "proposal_error": proposal_error, "start": start, "chairs": chairs,
        "minutes": services.default_minutes(order, clinic.limits()),
        "can_book": can_open(request.user, "treatments:book"),
        "can_cancel": can_open(request.user, "treatments:cancel"),
        "errors": request.session.pop("booking_errors", {}),
        "moves": moves, "offers": _series_offers(request, order, chairs),
        "history": (titration_history.history(order, clinic.tz) if can_open(request.user, "treatments:cockpit")
                    else None),  # ratings and adverse events: clinical staff only
    })


def _series_offers(request, order, chairs) -> list[dict]:
    """The nearest bookable series a refused "Book all" left on the session for this order (read once)."""
    saved = request.session.pop("series_offers", None) or {}
    if saved.get("order") != str(order.external_id):
        return []
    by_pk = {c.pk: c for c in chairs}
    return [{"start": date.fromisoformat(o["start"]), "days": [date.fromisoformat(d) for d in o["days"]],
             "chair": by_pk[o["chair"]], "time": o["time"], "minutes": o["minutes"], "why": o["why"]}
            for o in saved.get("offers", []) if o["chair"] in by_pk]


@require_POST
def book(request, external_id):
    """Book one proposed date (``row``), or every proposed date at one time and chair (``all``, the
    ``book_series`` service: all or nothing, the conflicting date named)."""
    order = _order(request, external_id)
    clinic = order.patient.clinic
    form = forms.BookForm(posted(request), clinic=clinic)
    valid = form.is_valid()
    data = form.cleaned_data
    book_all = bool(data.get("all"))
    try:
        if not valid:
            raise TreatmentError(forms.form_errors(form))
        actor = Actor.from_request(request)
        if book_all:
            booked = services.book_series(actor=actor, order=order, days=data["dates"], at=data["time"],
                                          chair=data["chair"], minutes=data["minutes"])
        else:
            booked = [services.book_session(actor=actor, order=order, start=data["when"], room=data["chair"].room,
                                            chair=data["chair"], minutes=data["minutes"])]
    except TreatmentError as e:
        if not book_all:
            request.session["booking_errors"] = {data.get("row", ""): " ".join(e.errors.values())}
        messages.error(request, ("Nothing booked: " if book_all else "Not booked: ") + " ".join(e.errors.values()))
        if book_all and valid and data.get("dates"):
            _offer_nearest_series(request, order, data)
    else:
        for s in booked:
            messages.success(request, f"Booked session {s.sequence}: "
                             f"{timezone.localtime(s.scheduled_start, clinic.tz):%a %d %b %H:%M}, {s.chair}.")
    return redirect(f"{order_url(order)}?{urlencode({'start': data.get('start', '')})}")


def _offer_nearest_series(request, order, data) -> None:
    """After a refused "Book all": look for the nearest whole series that can be booked (the same dates in another
    chair, or a later start in the chosen chair) and keep it for the order page to offer."""
    clinic = order.patient.clinic
    kinds = [Room.Kind.INTRANASAL] if order.route == Route.INTRANASAL else [Room.Kind.INFUSION]
    chairs = list(Chair.objects.filter(room__clinic=clinic, room__kind__in=kinds, active=True, room__active=True)
                  .select_related("room"))
    try:
        offers = booking.nearest_bookable_series(order=order, start=min(data["dates"]), at=data["time"],
                                                 chair=data["chair"], clinic=clinic, minutes=data["minutes"],
                                                 chairs=chairs)
    except TreatmentError:
        offers = []
    if not offers:
        messages.info(request, f"No whole series fits at {data['time']:%H:%M} in the next "
                               f"{booking.SEARCH_DAYS} days: try another time.")
    request.session["series_offers"] = {"order": str(order.external_id), "offers": [
        {"start": o["start"].isoformat(), "days": [d.isoformat() for d in o["days"]], "chair": o["chair"].pk,
         "time": f"{data['time']:%H:%M}", "minutes": data["minutes"] or "", "why": o["why"]} for o in offers]}


def order_url(order) -> str:
    return reverse("treatments:order", kwargs={"external_id": order.external_id})


@require_POST
def check_in(request, external_id):
    s = _session(request, external_id)
    form = forms.NextForm(posted(request))
    try:
        services.check_in(actor=Actor.from_request(request), session=s)
    except TreatmentError as e:
        _flash(request, e)
    else:
        messages.success(request, f"{s.patient.display_name} checked in.")
    return redirect(safe_next(request, form, "treatments:schedule"))


def safe_next(request, form: forms.NextForm, fallback: str) -> str:
    """The ``next`` URL from the form when it stays on this site (never an open redirect), else ``fallback``."""
    nxt = form.cleaned_data.get("next", "") if form.is_valid() else ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return reverse(fallback)


@require_POST
def cancel(request, external_id):
    s = _session(request, external_id)
    form = forms.CancelForm(posted(request))
    if not form.is_valid():
        _flash_form(request, form)
    else:
        try:
            services.cancel_session(actor=Actor.from_request(request), session=s,
                                    reason=form.cleaned_data["reason"], no_show=form.cleaned_data["no_show"])
        except TreatmentError as e:
            _flash(request, e)
        else:
            messages.success(request, "Session cancelled.")
    return redirect("treatments:order", external_id=s.order.external_id)


# ============================================================================================ cockpit
#: How many of the newest readings the cockpit's vitals table shows (with every reading before the dose, the
#: baseline); the rest are one click away ("all readings"). A typical session has fewer, so it shows whole.
COCKPIT_RECENT_READINGS = 24


#: The cockpit's read of its readings (:func:`cockpit_readings`), written once (ketaclinic.loading.rows): those
#: before the dose, those at HOLD or STOP and the newest ones, in time order.
_COCKPIT_READINGS = ('{session_id} = %s AND ({phase} = %s OR {level} >= %s OR {id} IN (SELECT {id} FROM {t} '
                     'WHERE {session_id} = %s ORDER BY {taken_at} DESC, {id} DESC LIMIT %s)) ORDER BY {taken_at}, {id}')


def cockpit_readings(s: TreatmentSession, *, every: bool = False) -> dict:
    """The readings the cockpit shows and reads, in a fixed number of queries whatever the session's length:
    ``rows``, the table's rows in time order (every reading before the dose, every HOLD or STOP reading, then the
    newest :data:`COCKPIT_RECENT_READINGS`); ``pre_rows``, the readings before the dose; ``alert_rows``, those at HOLD
    or STOP; ``latest``, the newest; ``gap_before``, the id of the first row after readings left out of the table
    (None when none are). ``every`` (the "all readings" view), and an esketamine session (whose REMS form reads
    the blood pressure ~40 min after the first device, in a session of about two hours), read them all."""
    # Who recorded each reading is read with the page's other people (cockpit_context), not joined to every row.
    vitals = s.vitals.all()
    if every or s.route == Route.INTRANASAL:
        rows = list(vitals.order_by("taken_at", "pk"))
        return {"rows": rows, "pre_rows": [r for r in rows if r.phase == Phase.PRE_DOSE],
                "alert_rows": [r for r in rows if r.level >= 2], "latest": rows[-1] if rows else None,
                "gap_before": None}
    # One read: every reading before the dose, every HOLD or STOP, and the newest COCKPIT_RECENT_READINGS + 1 (the
    # one beyond the window tells whether readings are left out). The newest readings of the session are the newest
    # of this read too, so the window is its tail.
    read = loading.rows(VitalsReading, loading.every_column(VitalsReading), _COCKPIT_READINGS,
                        [s.pk, Phase.PRE_DOSE.value, 2, s.pk, COCKPIT_RECENT_READINGS + 1])
    recent = read[-(COCKPIT_RECENT_READINGS + 1):]
    marked = [r for r in read if r.phase == Phase.PRE_DOSE or r.level >= 2]
    pre = [r for r in marked if r.phase == Phase.PRE_DOSE]
    beyond = recent.pop(0) if len(recent) > COCKPIT_RECENT_READINGS else None
    in_window = {r.pk for r in recent}
    # every reading before the dose, and every HOLD or STOP however old (a colleague's alert is never out of sight),
    # then the window, in time order
    older = [r for r in marked if r.pk not in in_window]
    return {"rows": older + recent, "pre_rows": pre,
            "alert_rows": [r for r in marked if r.level >= 2], "latest": recent[-1] if recent else None,
            # readings from the dose on older than the window are left out (one before the dose is shown anyway)
            "gap_before": recent[0].pk if beyond is not None and beyond.phase != Phase.PRE_DOSE else None}


def _pk_advice(s: TreatmentSession, events: list[SessionEvent]):
    """The predicted time below the clinic's level for the Discharge card, or None: advice must never cost the nurse
    the cockpit, so a failure of the model is logged and the card goes without it (the panel says why)."""
    try:
        return predictions.predict(s, events, band=False)
    except Exception:
        logger.exception("the predicted level for the Discharge card failed for session %s", s.pk)
        return None


def cockpit_context(request, s: TreatmentSession, *, every_reading: bool = False, **extra) -> dict:
    """Everything the cockpit shows, in a fixed number of queries whatever the number of readings (the vitals table
    shows the newest readings and those before the dose; ``every_reading``: all of them)."""
    readings = cockpit_readings(s, every=every_reading)
    rows, pre, latest = readings["rows"], readings["pre_rows"], readings["latest"]
    # the session's lists, each as s.<list>.all() reads it, by a statement written once (loading.children)
    events = loading.children(SessionEvent, "session", s.pk)
    aes = loading.children(AdverseEvent, "session", s.pk)
    ratings = loading.children(SessionRating, "session", s.pk)
    observations = loading.children(Observation, "session", s.pk)
    # an addendum is added to a signed note only (services.add_addendum refuses one before): no read before
    addenda = loading.children(Addendum, "session", s.pk) if s.is_signed else []
    rems = RemsForm.objects.filter(session=s).first() if s.route == Route.INTRANASAL else None
    overrides = loading.children(PredoseOverride, "session", s.pk)
    acks = loading.children(AlertAcknowledgement, "session", s.pk)
    # An override names a reading before the dose, and every one of those is in the rows already read.
    override_reading = PredoseOverride._meta.get_field("reading")
    shown = {r.pk: r for r in rows}
    for o in overrides:
        if o.reading_id in shown:
            override_reading.set_cached_value(o, shown[o.reading_id])
    # The people the page names (the session's, and who recorded each row of every list) in one query, not a join
    # of the users table to each of ten reads.
    loading.attach_all([([s], SESSION_PEOPLE), (rows, ("recorded_by",)), (events, ("by",)), (aes, ("recorded_by",)),
                        (ratings, ("recorded_by",)), (observations, ("recorded_by",)), (addenda, ("by",)),
                        (overrides, ("by",)), (acks, ("by",))])
    loading.attach([o for o in overrides if o.reading_id is not None and o.reading_id not in shown], ("reading",))
    active_ae = any(a.resolved_at is None for a in aes)
    decision = services.discharge_decision(s, rows, active_ae) if s.dose_ended_at else None
    limits = s.patient.clinic.limits()
    phase = services._phase_for(s)
    user = request.user
    locked = s.is_signed
    consent = services.valid_consent(s)
    missing = services.precheck_missing(s, consent, overrides)
    # the Before card's form, where the weight check shows, is there until the note is signed, once checked in
    prechecks_open = not locked and s.status != S.BOOKED
    # "Start not allowed yet" shows until the dose starts: its reads (the contraindications on file) are not made
    # once it has
    start_open = prechecks_open and not s.dose_started_at
    seen = {a.reading_id for a in acks if a.kind == "seen"}
    account = stock.account(s) if s.status not in services.CLOSED and (s.checked_in_at or s.prepared_dose_mg) else None
    ctx = {
        "s": s, "patient": s.patient, "order": s.order, "rows": rows, "gap_before": readings["gap_before"],
        "every_reading": every_reading, "events": events, "aes": aes,
        "ratings": ratings, "observations": observations, "addenda": addenda, "rems": rems,
        "pre_rows": pre, "held": services.predose_hold(s, pre, overrides), "latest": latest, "overrides": overrides,
        "pregnancy_open": s.pregnancy_test == "positive" and not any(o.kind == "pregnancy" for o in overrides),
        "precheck_missing": missing,
        "start_blockers": services.start_blockers(s, pre, missing, overrides) if start_open else [],
        "decision": decision, "phase": phase, "phase_label": Phase(phase).label,
        # beside the discharge readiness, while it is being decided: the predicted time below the clinic's level
        # (advice; the chart itself is the page's last card, so that it moves nothing on its way in)
        "pk_advice": (_pk_advice(s, events) if decision is not None and s.status not in services.FINISHED
                      else None),
        "interval": services.rules.vitals_interval_minutes(s.route, phase, limits),
        "next_due": services.next_vitals_due(s), "ae_kinds": AdverseEvent.Kind.choices,
        "ae_severities": AdverseEvent.Severity.choices, "timepoints": SessionRating.Timepoint.choices,
        "cadss_grid": cadss_grid(), "moaas": SCALES["moaas"],
        "pregnancy_applies": services.rules.pregnancy_test_applies(s.patient.sex_at_birth),
        "locked": locked, # A prescriber's override (a reason to go past a limit) is offered to whom the override step lets in.
        "may_override": can_open(user, "treatments:override_hold"),
        "now_local": timezone.localtime(timezone.now(), s.patient.clinic.tz),
        "vitals_errors": {}, "vitals_values": {}, "esketamine": s.route == Route.INTRANASAL,
        "devices_given": sum(1 for e in events if e.kind == SessionEvent.Kind.DEVICE),
        "rems_bp": services.rems_bp_points(s, rows) if s.route == Route.INTRANASAL else None,
        "active_ae": active_ae,
        "may_sign_dose": can_open(user, "treatments:sign_dose"),
        "titration": (services.propose_for(s) if not s.dose_started_at and s.status not in services.CLOSED
                      else None),
        "consent": consent, "consent_doc": None if consent else services.current_consent(s.drug),
        "weight_check": services.weight_guard(s) if prechecks_open else None, "strengths": (forms.strength_choices(s, account) if s.route != Route.INTRANASAL and not s.dose_started_at
                      and not s.is_signed else []),
        "deep_sedation": deep_sedation(ratings, limits),
        "pump_unconfirmed": bool(s.paused_at and s.pause_level >= 2 and s.pump_pause_confirmed_at is None),
        "chair_alert": (services.rules.chair_alert(latest.level, latest.phase, limits, route=s.route)
                        if latest and latest.level >= 2 else None),
        "alert_acks": [a for a in acks if latest and a.reading_id == latest.pk],
        "unseen_alerts": [r for r in readings["alert_rows"] if r.pk not in seen and (latest is None or r.pk != latest.pk)],
        "may_acknowledge": can_open(user, "treatments:acknowledge_alert"),
        "acks_as_prescriber": user.has_role(Role.PRESCRIBER),  # the service records a prescriber's as "seen"
        "ready_from": (services.ready_from(s, [e.at for e in events if e.kind == SessionEvent.Kind.DEVICE])
                       if s.dose_ended_at and s.status not in ("discharged", "transferred") else None),
        "given_now": (services.dose_given(s, max(timezone.now(), s.dose_started_at), events)
                      if s.dose_started_at and not s.dose_ended_at else None),
        "account": account,
        "lot_choices": lot_choices(account),
        "may_handle_stock": can_open(user, "custody:session"),
    }
    ctx.update(extra)
    return ctx


def cadss_grid() -> str:
    """The CADSS form's 23 item selects: the same on every cockpit, so rendered once per process (276 of the
    page's 900 values were these, each through the template engine's number formatting); with DEBUG on, every
    time, so an edited template shows."""
    return _render_cadss_grid() if not settings.DEBUG else _render_cadss_grid.__wrapped__()


@functools.cache
def _render_cadss_grid() -> str:
    return render_to_string("treatments/_cadss_grid.html", {"cadss": SCALES["cadss"]})


def lot_choices(account: stock.DrugAccount | None) -> list[tuple[str, str]]:
    """The lots a dose may be prepared from, once each (lot, strength, expiry, how many vials or devices), when
    the clinic keeps its stock in KetaClinic; empty otherwise (the lot is then typed from the label)."""
    if account is None or not account.stock_known:
        return []
    lots: dict[str, list[stock.StockOption]] = {}
    for o in account.options:
        lots.setdefault(o.lot_number, []).append(o)
    return [(lot, f"{lot}" + (f" · {opts[0].strength_mg_per_mL.normalize():f} mg/mL" if opts[0].strength_mg_per_mL
                              else "") + f" · {len(opts)} {'device' if opts[0].unit == 'device' else 'vial'}"
             f"{'' if len(opts) == 1 else 's'} in stock") for lot, opts in lots.items()]


def deep_sedation(ratings: list[SessionRating], limits) -> SessionRating | None:
    """The latest MOAA/S rating when the core calls it deep sedation (:func:`ketaclinic.clinical.sedation.
    classify_moaas`: at or below the clinic's deep-sedation level, an urgent alert)."""
    moaas = [r for r in ratings if r.scale == "moaas" and r.total is not None]
    if moaas and sedation.classify_moaas(moaas[-1].total, settings=limits).deep:
        return moaas[-1]
    return None


def cockpit(request, external_id):
    """The session cockpit. Its vitals table shows the readings before the dose and the newest ones;
    ``?vitals=all`` shows every reading."""
    s = _session(request, external_id, with_people=False)  # read with the lists' people, in cockpit_context
    audit.record(Actor.from_request(request), AuditAction.SESSION_COCKPIT_VIEWED, subject=s, patient=s.patient)
    return render(request, "treatments/cockpit.html",
                  cockpit_context(request, s, every_reading=request.GET.get("vitals") == "all"))


@require_POST
def vitals(request, external_id):
    """One row of vital signs, saved on its own. With htmx the answer carries only what changed (the blank row
    form, the new row appended to the table, the alerts and the next-due time: :func:`vitals_saved_context`),
    however many readings the session has; a refusal comes back in the row form with what was typed. A reading
    that pauses the dose reloads the whole cockpit; the whole panel is redrawn for the first reading, a
    back-dated one, or when the screen did not show the newest reading before it (a colleague's, say)."""
    s = _vitals_post_session(request, external_id)  # the service locks the session and reads it afresh
    form = forms.VitalsForm(posted(request), session=s)
    errors: dict[str, str] = {}
    row = None
    if not form.is_valid():
        errors = forms.form_errors(form)
    else:
        try:
            row = services.add_vitals(actor=Actor.from_request(request), session=s, values=form.values(),
                                      taken_at=form.cleaned_data["taken_at"])
        except TreatmentError as e:
            errors = e.errors
    if row is not None and getattr(row, "hold_instruction", ""):
        messages.error(request, row.hold_instruction)
        if request.htmx:  # the reading paused the dose: the whole cockpit must show it, not only the table
            return HttpResponseClientRefresh()
    if not request.htmx:
        if row is not None:
            messages.success(request, f"Vitals saved ({row.level_name}).")
        for msg in errors.values():
            messages.error(request, msg)
        return redirect("treatments:cockpit", external_id=s.external_id)
    if row is None:  # nothing changed: the screen still shows what it did, so the form says so again
        return render(request, "treatments/cockpit.html#vitals_form",
                      {"s": s, "vitals_errors": errors, "vitals_values": form.entered(), "saved": False,
                       "shown_through": form.cleaned_data.get("shown_through")})
    in_place = (request.htmx.target == "vitals-form" and row.is_newest and row.previous_newest_pk is not None
                and form.cleaned_data.get("shown_through") == row.previous_newest_pk)
    if not in_place:  # the first reading, a back-dated one, or a screen that missed someone else's reading
        s = _session(request, external_id, with_people=False)  # read with the lists' people, in cockpit_context
        response = render(request, "treatments/cockpit.html#vitals", cockpit_context(request, s, saved=True))
        return retarget(reswap(response, "outerHTML"), "#vitals")
    return render(request, "treatments/_vitals_saved.html", vitals_saved_context(request, row))


def vitals_saved_context(request, row: VitalsReading) -> dict:
    """What the htmx answer to a saved reading shows: ``row`` (the newest reading) with its alert, the earlier
    readings at HOLD or STOP a prescriber has not seen (for a prescriber), and when the next reading is due. The
    session is the one the service locked and updated (the columns the save reads, with the patient and clinic the
    view read)."""
    s = row.session
    user = request.user
    limits = s.patient.clinic.limits()
    chair = services.rules.chair_alert(row.level, row.phase, limits, route=s.route) if row.level >= 2 else None
    prescriber = user.has_role(Role.PRESCRIBER)
    unseen: list[VitalsReading] = []
    if prescriber:
        seen = set(s.alert_acks.filter(kind=AlertAcknowledgement.Kind.SEEN).values_list("reading_id", flat=True))
        unseen = [r for r in s.vitals.filter(level__gte=2).exclude(pk=row.pk).order_by("taken_at", "pk")
                  if r.pk not in seen]
    held = None
    if chair is not None and row.phase == Phase.PRE_DOSE:
        held = services.predose_hold(s, list(s.vitals.filter(phase=Phase.PRE_DOSE).order_by("taken_at", "pk")))
    return {"s": s, "latest": row, "saved": True, "chair_alert": chair, "alert_acks": [], "unseen_alerts": unseen,
            "may_acknowledge": can_open(user, "treatments:acknowledge_alert"), "acks_as_prescriber": prescriber,
            "held": held, "locked": False, "next_due": services.next_vitals_due(s), "vitals_values": {},
            "vitals_errors": {}}


def _step(request, external_id, form_class, act, section: str):
    """One step of the session cockpit: the POST is read by ``form_class``; ``act(actor, session, form)`` makes
    the one service call and returns the message to show. A refusal (the form's or the service's) is shown and
    changes nothing. Back to the cockpit, at ``section``."""
    s = _session(request, external_id)
    form = form_class(posted(request), session=s)
    if not form.is_valid():
        _flash_form(request, form)
    else:
        try:
            done = act(Actor.from_request(request), s, form)
        except TreatmentError as e:
            _flash(request, e)
        else:
            messages.success(request, done)
    return redirect(f"{reverse('treatments:cockpit', kwargs={'external_id': s.external_id})}#{section}")


@require_POST
def prechecks(request, external_id):
    def act(actor, s, form):
        for warning in services.save_prechecks(actor=actor, session=s, data=form.cleaned_data):
            messages.warning(request, warning)
        if form.cleaned_data.get("confirm_weight"):
            return "Pre-checks saved; you confirmed the weight as the second clinician."
        return "Pre-checks saved."
    return _step(request, external_id, forms.PrechecksForm, act, "prechecks")


@require_POST
def override_hold(request, external_id):
    def act(actor, s, form):
        d = form.cleaned_data
        services.override_predose_hold(actor=actor, session=s, reason=d["reason"], kind=d["kind"] or None,
                                       reading=d["reading"])
        return "Pre-dose hold overridden; the reason is recorded."
    return _step(request, external_id, forms.OverrideForm, act, "prechecks")


@require_POST
def prepare_dose(request, external_id):
    def act(actor, s, form):
        calc = services.prepare_dose(actor=actor, session=s, data=form.cleaned_data)
        measured = calc.measured_mg if calc.measured_mg is not None else calc.total_mg
        what = (f"{calc.devices} device(s) of {measured / calc.devices:g} mg" if calc.devices
                else "as measured in the syringe")
        return (f"Dose prepared: {measured:g} mg, {what}. A second clinician must verify it on their own device.")
    return _step(request, external_id, forms.PrepareForm, act, "dose")


@require_POST
def sign_dose(request, external_id):
    """The prescriber signs this session's dose under the order's titration plan (the proposal, or another step with
    a reason)."""
    def act(actor, s, form):
        d = form.cleaned_data
        row = services.sign_dose(actor=actor, session=s, dose=d["dose"], override_reason=d["override_reason"])
        unit = "mg" if s.route == Route.INTRANASAL else "mg/kg"
        return f"Dose signed for this session: {row.dose.normalize():f} {unit}."
    return _step(request, external_id, forms.SignDoseForm, act, "dose")


@require_POST
def start_dose(request, external_id):
    def act(actor, s, form):
        services.start_dose(actor=actor, session=s)
        return "Dosing started." if s.route != Route.IM else "Injection given."
    return _step(request, external_id, forms.NoInputForm, act, "during")


def _dosing_event(request, external_id, kind: SessionEvent.Kind):
    def act(actor, s, form):
        d = form.cleaned_data
        services.dosing_event(actor=actor, session=s, kind=kind, rate=d["rate"], note=d["note"],
                              administered_mg=d["administered_mg"])
        return f"{kind.label}."
    return _step(request, external_id, forms.DosingEventForm, act, "during")


@require_POST
def pause_dose(request, external_id):
    return _dosing_event(request, external_id, SessionEvent.Kind.PAUSE)


@require_POST
def resume_dose(request, external_id):
    return _dosing_event(request, external_id, SessionEvent.Kind.RESUME)


@require_POST
def change_rate(request, external_id):
    return _dosing_event(request, external_id, SessionEvent.Kind.RATE)


@require_POST
def next_device(request, external_id):
    return _dosing_event(request, external_id, SessionEvent.Kind.DEVICE)


@require_POST
def stop_dose(request, external_id):
    return _dosing_event(request, external_id, SessionEvent.Kind.STOP)


@require_POST
def adverse_event(request, external_id):
    def act(actor, s, form):
        services.add_adverse_event(actor=actor, session=s, data=form.cleaned_data)
        return "Adverse event recorded."
    return _step(request, external_id, forms.AdverseEventForm, act, "adverse")


@require_POST
def resolve_adverse_event(request, external_id):
    def act(actor, s, form):
        services.resolve_adverse_event(actor=actor, session=s, event_id=form.cleaned_data["event"])
        return "Adverse event resolved."
    return _step(request, external_id, forms.ResolveForm, act, "adverse")


@require_POST
def rating(request, external_id):
    def act(actor, s, form):
        d = form.cleaned_data
        r = services.add_rating(actor=actor, session=s, scale=d["scale"], timepoint=d["timepoint"],
                                answers=form.answers())
        for f in r.flags:
            messages.warning(request, f["message"])
        return f"{SCALES[d['scale']].name}: {r.total} {r.band}."
    return _step(request, external_id, forms.RatingForm, act, "rating")


@require_POST
def observation(request, external_id):
    def act(actor, s, form):
        services.add_observation(actor=actor, session=s, text=form.cleaned_data["text"])
        return "Observation saved."
    return _step(request, external_id, forms.ObservationForm, act, "observation")


@require_POST
def recovery(request, external_id):
    def act(actor, s, form):
        services.record_recovery(actor=actor, session=s, alert_and_oriented=form.cleaned_data["alert_and_oriented"],
                                 steady_gait=form.cleaned_data["steady_gait"])
        return "Recovery status saved."
    return _step(request, external_id, forms.RecoveryForm, act, "discharge")


@require_POST
def discharge(request, external_id):
    def act(actor, s, form):
        services.discharge(actor=actor, session=s, override_reason=form.cleaned_data["override_reason"])
        return "Discharged. Print the discharge instructions."
    return _step(request, external_id, forms.DischargeForm, act, "discharge")


@require_POST
def transfer(request, external_id):
    def act(actor, s, form):
        services.transfer_to_emergency(actor=actor, session=s, adverse_event=form.adverse_event(),
                                       note=form.cleaned_data["transfer_note"],
                                       administered_mg=form.cleaned_data["administered_mg"])
        return "Transferred to emergency care; the adverse event is recorded."
    return _step(request, external_id, forms.TransferForm, act, "discharge")


@require_POST
def rems_monitoring(request, external_id):
    def act(actor, s, form):
        services.update_rems(actor=actor, session=s, data=form.answers())
        return "REMS monitoring data saved."
    return _step(request, external_id, forms.RemsMonitoringForm, act, "rems")


@require_POST
def sign_consent(request, external_id):
    def act(actor, s, form):
        sig = services.sign_consent(actor=actor, session=s, signer_name=form.cleaned_data["signer_name"])
        return f"Consent version {sig.document.version} signed by {sig.signer_name}; you are recorded as the witness."
    return _step(request, external_id, forms.ConsentForm, act, "prechecks")


@require_POST
def sign_as_nurse(request, external_id):
    def act(actor, s, form):
        services.sign_note(actor=actor, session=s, as_role="nurse", summary=form.cleaned_data["note_summary"])
        return "Note signed."
    return _step(request, external_id, forms.SignForm, act, "sign")


@require_POST
def cosign(request, external_id):
    def act(actor, s, form):
        services.sign_note(actor=actor, session=s, as_role="prescriber", summary=form.cleaned_data["note_summary"])
        return "Note co-signed."
    return _step(request, external_id, forms.SignForm, act, "sign")


@require_POST
def addendum(request, external_id):
    def act(actor, s, form):
        services.add_addendum(actor=actor, session=s, text=form.cleaned_data["text"])
        return "Addendum added; the original note is unchanged."
    return _step(request, external_id, forms.AddendumForm, act, "sign")


@require_POST
def acknowledge_alert(request, external_id):
    def act(actor, s, form):
        ack = services.acknowledge_alert(actor=actor, session=s, reading_id=form.cleaned_data["reading"],
                                         note=form.cleaned_data.get("note") or "")
        return "Seen by the prescriber: recorded." if ack.kind == "seen" else "Alert acknowledged: recorded."
    return _step(request, external_id, forms.AcknowledgeAlertForm, act, "vitals")


@require_http_methods(["GET", "POST"])
def verify(request, external_id):
    """The second clinician's page, opened on their own device: they enter weight and dose themselves."""
    s = _session(request, external_id)
    form = forms.VerifyForm(posted(request), session=s)
    errors: dict[str, str] = {}
    if not form.is_bound:
        audit.record(Actor.from_request(request), AuditAction.SESSION_VERIFY_VIEWED, subject=s, patient=s.patient)
    elif not form.is_valid():
        errors = forms.form_errors(form)
    else:
        try:
            d = form.cleaned_data
            services.verify_dose(actor=Actor.from_request(request), session=s, weight_kg=d["weight_kg"],
                                 dose_mg=d["dose_mg"], concentration_mg_per_mL=d["concentration_mg_per_mL"],
                                 bag_volume_mL=d["bag_volume_mL"])
        except TreatmentError as e:
            errors = e.errors
        else:
            messages.success(request, "Dose verified independently.")
            # Back where the verifier works: the session's cockpit if they may open it, else the Today board.
            if can_open(request.user, "treatments:cockpit"):
                return redirect("treatments:cockpit", external_id=s.external_id)
            return redirect("clinic:today")
    return render(request, "treatments/verify.html", {
        "s": s, "patient": s.patient, "order": s.order, "errors": errors, "data": form.data if form.is_bound else {},
        "same_user": request.user.pk == s.prepared_by_id, "prescribed": services.prescribed_dose(s)})


# ============================================================================================ documents
def discharge_pdf(request, external_id):
    s = _session(request, external_id)
    nxt = (TreatmentSession.objects.filter(patient=s.patient, scheduled_start__gt=s.scheduled_start)
           .exclude(status__in=services.CLOSED).order_by("scheduled_start").first())
    from ketaclinic.integration.models import IntegrationSession

    integ = IntegrationSession.objects.filter(dosing_session=s).first()
    audit.record(Actor.from_request(request), AuditAction.SESSION_DISCHARGE_INSTRUCTIONS_PRINTED, subject=s, patient=s.patient)
    body = pdf.discharge_instructions(s, nxt, integ)
    resp = HttpResponse(bytes(body), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="discharge-{s.patient.mrn}-{s.scheduled_start:%Y%m%d}.pdf"'
    return resp


def rems_pdf(request, external_id):
    s = _session(request, external_id)
    form = get_object_or_404(RemsForm, session=s)
    prescriber = s.order.signed_by
    audit.record(Actor.from_request(request), AuditAction.REMS_FORM_EXPORTED, subject=s, patient=s.patient)
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
    _audit_list_view(Actor.from_request(request), AuditAction.REMS_DUE_LIST_VIEWED, [f.session for f in due + drafts])
    return render(request, "treatments/rems.html", {"due": due, "drafts": drafts,
                                                    "today": timezone.localdate()})


@require_POST
def rems_submitted(request, external_id):
    s = _session(request, external_id)
    form = get_object_or_404(RemsForm, session=s)
    try:
        services.mark_rems_submitted(actor=Actor.from_request(request), form=form)
    except TreatmentError as e:
        _flash(request, e)
    else:
        messages.success(request, "REMS form marked submitted.")
    return redirect("treatments:rems_due")

