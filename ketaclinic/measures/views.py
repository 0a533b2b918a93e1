"""Staff views of measurement-based care: the outcomes worklist, trajectories, scale entry, schedules, safety
tasks, booster prompts and the on-call roster. Views stay thin: parse, call a service, render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.accounts.models import User
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.clinical.scales import SCALES, get_scale
from ketaclinic.measures import services, trajectory
from ketaclinic.measures.models import (
    Administration,
    BoosterPrompt,
    DueItem,
    MeasureSchedule,
    OnCall,
    SafetyTask,
    Timing,
)
from ketaclinic.patients.access import get_patient_for
from ketaclinic.treatments.models import TreatmentSession

WORKLIST_ROWS = 200


def _clinic_patients(qs, clinic):
    return qs.filter(patient__clinic=clinic)


def worklist(request):
    """Due and overdue scales, open safety tasks and booster prompts, for the whole clinic."""
    clinic = current_clinic()
    now = timezone.now()
    tasks = list(_clinic_patients(SafetyTask.objects.filter(status=SafetyTask.Status.OPEN), clinic)
                 .select_related("patient", "assigned_to", "administration").order_by("created_at"))
    prompts = list(_clinic_patients(BoosterPrompt.objects.filter(status=BoosterPrompt.Status.OPEN), clinic)
                   .select_related("patient").order_by("created_at"))
    due = list(_clinic_patients(DueItem.objects.filter(status=DueItem.Status.OPEN,
                                                       available_from__lte=now + timedelta(days=1)), clinic)
               .select_related("patient").order_by("due_at")[:WORKLIST_ROWS])
    overdue = [d for d in due if d.due_at < now]
    due_now = [d for d in due if d.due_at >= now]
    audit.record(Actor.from_request(request), "measures.worklist.viewed",
                 details={"tasks": len(tasks), "prompts": len(prompts), "due": len(due)})
    ctx = {"tasks": tasks, "prompts": prompts, "overdue": overdue, "due_now": due_now, "now": now,
           "on_call": services.clinician_on_call(clinic), "can_resolve": request.user.has_role(Role.PRESCRIBER)}
    return render(request, "measures/worklist.html", ctx)


def patient_trajectory(request, external_id):
    """One patient's scores over time, per scale: SVG chart and the same data as a table."""
    patient = get_patient_for(request, external_id)
    clinic = patient.clinic
    trajectories, doses = trajectory.load(patient, clinic)
    recent = list(Administration.objects.filter(patient=patient).select_related("entered_by")
                  .order_by("-administered_at")[:15])
    tasks = list(SafetyTask.objects.filter(patient=patient).select_related("assigned_to", "acknowledged_by")
                 .order_by("-created_at")[:10])
    prompts = list(BoosterPrompt.objects.filter(patient=patient).select_related("resolved_by")
                   .order_by("-created_at")[:10])
    audit.record(Actor.from_request(request), "measures.trajectory.viewed", subject=patient, patient=patient,
                 details={"points": sum(len(t.points) for t in trajectories)})
    return render(request, "measures/trajectory.html", {
        "patient": patient, "trajectories": trajectories, "doses": doses, "recent": recent, "tasks": tasks,
        "prompts": prompts, "scales": [(c, s.name) for c, s in SCALES.items()],
        "can_resolve": request.user.has_role(Role.PRESCRIBER),
        "can_correct": request.user.has_role(Role.PRESCRIBER, Role.NURSE),
    })


def _parse_when(raw: str) -> datetime | None:
    """The "answered at" field: a real date and time (2026-02-31 or 25:00 is an error next to the field, never a
    server error), in the clinic's time zone unless an offset is given."""
    raw = (raw or "").strip()
    if not raw:
        return None
    message = "Enter a real date and time like 2026-11-27 09:30."
    try:
        value = parse_datetime(raw)
        if value is None:
            raise ValueError(raw)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, current_clinic().tz)
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise services.MeasureError({"administered_at": message}) from None
    return value


@require_http_methods(["GET", "POST"])
def administer(request, external_id, scale):
    """Staff enter a scale in the clinic (patient on a tablet, a paper form, or a clinician-rated scale)."""
    patient = get_patient_for(request, external_id)
    if scale not in SCALES:
        return render(request, "errors/403.html", {"reason": "Unknown scale."}, status=404)
    spec = get_scale(scale)
    draft = Administration.objects.filter(patient=patient, scale=scale, source=Administration.Source.STAFF,
                                          status=Administration.Status.DRAFT).first()
    answers = {a.item_id: a.value for a in draft.answers.all()} if draft else {}
    sessions = list(TreatmentSession.objects.filter(patient=patient).exclude(
        status__in=[TreatmentSession.Status.CANCELLED, TreatmentSession.Status.NO_SHOW]
    ).only("external_id", "sequence", "scheduled_start", "drug").order_by("-scheduled_start")[:10])
    errors: dict[str, str] = {}
    timing = request.POST.get("timing") or request.GET.get("timing") or (draft.timing if draft else Timing.AD_HOC)
    session_id = request.POST.get("session") or request.GET.get("session") or ""
    if request.method == "POST":
        submit = request.POST.get("action") == "submit"
        actor = Actor.from_request(request)
        try:
            answers = services.parse_answers(scale, request.POST)
            if timing not in Timing.values:
                raise services.MeasureError({"timing": "Choose when in the schedule this was given."})
            session = next((s for s in sessions if str(s.external_id) == session_id), None)
            if session_id and session is None:
                raise services.MeasureError({"session": "Choose one of this patient's sessions."})
            when = _parse_when(request.POST.get("administered_at", ""))
            with transaction.atomic():  # bad input changes nothing, not even the draft
                admin = services.start_administration(actor=actor, patient=patient, scale=scale,
                                                      source=Administration.Source.STAFF, timing=timing,
                                                      session=session)
                if admin.timing != timing or admin.session_id != (session.pk if session else None):
                    Administration.objects.filter(pk=admin.pk).update(timing=timing, session=session)
                outcome = services.save_answers(actor=actor, administration=admin, answers=answers,
                                                submit=submit, administered_at=when)
        except services.MeasureError as e:
            errors = e.errors
        else:
            if outcome.safety_tasks:
                messages.error(request, "Safety answer: an urgent task is open for the clinician on call. "
                                        "Start the suicide-risk workflow now.")
            if outcome.submitted:
                messages.success(request, f"{spec.name} saved: total {outcome.administration.total}"
                                          f"{f' ({outcome.administration.band})' if outcome.administration.band else ''}.")
                return redirect("measures:trajectory", external_id=patient.external_id)
            if submit:
                errors = {m: "Not answered." for m in outcome.missing if m in spec.item_ids}
                errors["__all__"] = (f"Not scored: {', '.join(outcome.missing)} unanswered. Kept as a draft; "
                                     "a half-finished form is never scored.")
            else:
                messages.success(request, "Draft saved (not scored).")
                return redirect("measures:trajectory", external_id=patient.external_id)
    if draft is not None:
        # The page shows the open draft's answers (e.g. PHQ-9 item 9): reading them is audited like a result.
        audit.record(Actor.from_request(request), "measures.administration.viewed", subject=draft, patient=patient,
                     details={"scale": scale, "status": draft.status, "answered": len(answers),
                              "page": "administer"})
    items = [{"item": it, "value": answers.get(it.id), "error": errors.get(it.id)} for it in spec.items]
    return render(request, "measures/administer.html", {
        "patient": patient, "scale": spec, "items": items, "errors": errors, "draft": draft, "timing": timing,
        "timings": Timing.choices, "sessions": sessions, "session_id": session_id,
        "administered_at": request.POST.get("administered_at", ""),
    })


def administration_detail(request, administration_id):
    admin = get_object_or_404(Administration.objects.select_related("patient", "entered_by", "session"),
                              external_id=administration_id, patient__clinic=current_clinic())
    spec = get_scale(admin.scale)
    by_id = {a.item_id: a for a in admin.answers.all()}
    rows = []
    for it in spec.items:
        a = by_id.get(it.id)
        label = next((o.label for o in it.options if a is not None and o.value == a.value), "")
        rows.append({"item": it, "answer": a, "label": label})
    audit.record(Actor.from_request(request), "measures.administration.viewed", subject=admin, patient=admin.patient)
    return render(request, "measures/administration.html", {
        "admin": admin, "patient": admin.patient, "scale": spec, "rows": rows,
        "tasks": list(admin.safety_tasks.select_related("acknowledged_by")),
        "can_correct": request.user.has_role(Role.PRESCRIBER, Role.NURSE)})


@require_POST
def entered_in_error(request, administration_id):
    admin = get_object_or_404(Administration, external_id=administration_id, patient__clinic=current_clinic())
    try:
        services.mark_entered_in_error(actor=Actor.from_request(request), administration=admin,
                                       reason=request.POST.get("reason", ""))
    except services.MeasureError as e:
        for msg in e.errors.values():
            messages.error(request, msg)
    else:
        messages.success(request, "Marked as entered in error. It no longer appears on the trajectory.")
    return redirect("measures:administration", administration_id=admin.external_id)


@require_http_methods(["GET", "POST"])
def schedule(request, external_id):
    patient = get_patient_for(request, external_id)
    actor = Actor.from_request(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "defaults":
                services.apply_default_schedule(actor=actor, patient=patient)
            else:
                scale = request.POST.get("scale", "")
                services.update_schedule(actor=actor, patient=patient, scale=scale, values={
                    "baseline": request.POST.get("baseline") == "on", "pre_dose": request.POST.get("pre_dose") == "on",
                    "after_24h": request.POST.get("after_24h") == "on", "after_7d": request.POST.get("after_7d") == "on",
                    "repeat": request.POST.get("repeat", "none"), "active": request.POST.get("active") == "on",
                })
        except services.MeasureError as e:
            errors = e.errors
        else:
            messages.success(request, "Schedule saved; due questionnaires updated.")
            return redirect("measures:schedule", external_id=patient.external_id)
    rows = list(MeasureSchedule.objects.filter(patient=patient))
    due = list(DueItem.objects.filter(patient=patient, status=DueItem.Status.OPEN).order_by("due_at")[:30])
    have = {r.scale for r in rows}
    audit.record(actor, "measures.schedule.viewed", subject=patient, patient=patient,
                 details={"scales": sorted(r.scale for r in rows), "due": len(due)})
    return render(request, "measures/schedule.html", {
        "patient": patient, "rows": rows, "due": due, "errors": errors, "repeats": MeasureSchedule.Repeat.choices,
        "addable": [(c, s.name) for c, s in SCALES.items() if c not in have], "defaults": services.DEFAULT_PLAN})


@require_http_methods(["GET", "POST"])
def safety_task(request, task_id):
    task = get_object_or_404(SafetyTask.objects.select_related("patient", "administration", "assigned_to",
                                                               "acknowledged_by"),
                             external_id=task_id, patient__clinic=current_clinic())
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.acknowledge_safety_task(actor=Actor.from_request(request), task=task,
                                             action=request.POST.get("action_taken", ""),
                                             note=request.POST.get("action_note", ""))
        except services.MeasureError as e:
            errors = e.errors
        else:
            messages.success(request, "Safety task acknowledged; your action is recorded.")
            return redirect("measures:safety_task", task_id=task.external_id)
    else:
        audit.record(Actor.from_request(request), "measures.safety_task.viewed", subject=task, patient=task.patient)
    return render(request, "measures/safety_task.html", {
        "task": task, "patient": task.patient, "errors": errors, "actions": SafetyTask.Action.choices,
        "posted": request.POST})


@require_POST
def booster(request, prompt_id):
    prompt = get_object_or_404(BoosterPrompt, external_id=prompt_id, patient__clinic=current_clinic())
    try:
        services.resolve_booster(actor=Actor.from_request(request), prompt=prompt,
                                 decision=request.POST.get("decision", ""), reason=request.POST.get("reason", ""))
    except services.MeasureError as e:
        for msg in e.errors.values():
            messages.error(request, msg)
    else:
        messages.success(request, "Booster prompt resolved.")
    back = request.POST.get("back") == "worklist"
    if back:
        return redirect("measures:worklist")
    return redirect("measures:trajectory", external_id=prompt.patient.external_id)


@require_http_methods(["GET", "POST"])
def on_call(request):
    clinic = current_clinic()
    prescribers = list(User.objects.filter(is_active=True, role_grants__role=Role.PRESCRIBER).distinct())
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            day = parse_date(request.POST.get("day", "").strip())
        except ValueError:  # well-formed but not a real date, e.g. 2026-02-31
            day = None
        who = next((u for u in prescribers if str(u.pk) == request.POST.get("clinician")), None)
        if day is None:
            errors["day"] = "Enter a real date like 2026-11-27."
        if who is None:
            errors["clinician"] = "Choose a prescriber."
        if not errors:
            try:
                services.set_on_call(actor=Actor.from_request(request), day=day, clinician=who)
            except services.MeasureError as e:
                errors = e.errors
            else:
                messages.success(request, f"{who.label} is on call on {day}.")
                return redirect("measures:on_call")
    today = timezone.localtime(timezone.now(), clinic.tz).date()
    roster = list(OnCall.objects.filter(day__gte=today).select_related("clinician")[:30])
    return render(request, "measures/on_call.html", {
        "roster": roster, "prescribers": prescribers, "errors": errors, "today": today,
        "current": services.clinician_on_call(clinic)})
