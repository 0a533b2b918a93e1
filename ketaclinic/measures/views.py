"""Staff views of measurement-based care: the outcomes worklist, trajectories, scale entry, schedules, safety
tasks, booster prompts and the on-call roster. Views stay thin: parse, call a service, render."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import can_open
from ketaclinic.accounts.models import staff_holding
from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.clinical.scales import SCALES, get_scale
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.measures import dosing_sessions, services, trajectory
from ketaclinic.measures.answering import post_answers
from ketaclinic.measures.forms import (
    AcknowledgeForm,
    BoosterForm,
    OnCallForm,
    ReasonForm,
    ScheduleForm,
    StaffScaleForm,
)
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
from ketaclinic.patients.careteam import guarded
from ketaclinic.submit import submit

WORKLIST_ROWS = 200


def _clinic_patients(qs, clinic):
    return qs.filter(patient__clinic=clinic)


def worklist(request):
    return _worklist_page(request)


def _worklist_page(request, *, booster_form=None, booster_prompt=None):
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
    audit.record(Actor.from_request(request), AuditAction.MEASURES_WORKLIST_VIEWED,
                 details={"tasks": len(tasks), "prompts": len(prompts), "due": len(due)})
    ctx = {"tasks": tasks, "prompts": prompts, "overdue": overdue, "due_now": due_now, "now": now,
           "on_call": services.clinician_on_call(clinic), "can_resolve": can_open(request.user, "measures:booster"),
           "booster_form": booster_form, "booster_prompt": booster_prompt}
    return render(request, "measures/worklist.html", ctx)


def patient_trajectory(request, external_id):
    return _trajectory_page(request, get_patient_for(request, external_id))


def _trajectory_page(request, patient, *, booster_form=None, booster_prompt=None):
    """One patient's scores over time, per scale: SVG chart and the same data as a table."""
    clinic = patient.clinic
    trajectories, doses = trajectory.load(patient, clinic)
    recent = list(Administration.objects.filter(patient=patient).select_related("entered_by")
                  .order_by("-administered_at")[:15])
    tasks = list(SafetyTask.objects.filter(patient=patient).select_related("assigned_to", "acknowledged_by")
                 .order_by("-created_at")[:10])
    prompts = list(BoosterPrompt.objects.filter(patient=patient).select_related("resolved_by")
                   .order_by("-created_at")[:10])
    audit.record(Actor.from_request(request), AuditAction.MEASURES_TRAJECTORY_VIEWED, subject=patient, patient=patient,
                 details={"points": sum(len(t.points) for t in trajectories)})
    return render(request, "measures/trajectory.html", {
        "patient": patient, "trajectories": trajectories, "doses": doses, "recent": recent, "tasks": tasks,
        "prompts": prompts, "scales": [(c, s.name) for c, s in SCALES.items()],
        "can_resolve": can_open(request.user, "measures:booster"),
        "can_correct": can_open(request.user, "measures:entered_in_error"),
        "booster_form": booster_form, "booster_prompt": booster_prompt,
    })


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
    sessions = list(dosing_sessions.not_called_off(patient).only("external_id", "sequence", "scheduled_start", "drug").order_by("-scheduled_start")[:10])
    form = StaffScaleForm(posted(request), scale=spec, sessions=sessions, tz=patient.clinic.tz, initial={
        "timing": request.GET.get("timing") or (draft.timing if draft else Timing.AD_HOC),
        "session": request.GET.get("session", "")})
    errors: dict[str, str] = {}
    if request.method == "POST":
        answers, errors, outcome = post_answers(form, answers, lambda answers: services.enter_staff_answers(
            actor=Actor.from_request(request), patient=patient, scale=scale, answers=answers, submit=form.submit,
            timing=form.cleaned_data["timing"], session=form.session_chosen(),
            administered_at=form.cleaned_data["administered_at"]))
        if outcome is not None:
            if outcome.safety_tasks:
                messages.error(request, "Safety answer: an urgent task is open for the clinician on call. "
                                        "Start the suicide-risk workflow now.")
            if outcome.submitted:
                band = f" ({outcome.administration.band})" if outcome.administration.band else ""
                messages.success(request, f"{spec.name} saved: total {outcome.administration.total}{band}.")
                return redirect("measures:trajectory", external_id=patient.external_id)
            if not form.submit:
                messages.success(request, "Draft saved (not scored).")
                return redirect("measures:trajectory", external_id=patient.external_id)
            errors = {m: "Not answered." for m in outcome.missing if m in spec.item_ids}
            errors["__all__"] = (f"Not scored: {', '.join(outcome.missing)} unanswered. Kept as a draft; "
                                 "a half-finished form is never scored.")
    if draft is not None:
        # The page shows the open draft's answers (e.g. PHQ-9 item 9): reading them is audited like a result.
        audit.record(Actor.from_request(request), AuditAction.MEASURES_ADMINISTRATION_VIEWED, subject=draft, patient=patient,
                     details={"scale": scale, "status": draft.status, "answered": len(answers),
                              "page": "administer"})
    items = [{"item": it, "value": answers.get(it.id), "error": errors.get(it.id)} for it in spec.items]
    return render(request, "measures/administer.html", {
        "patient": patient, "scale": spec, "items": items, "errors": errors, "draft": draft, "form": form,
    })


def _administration(request, administration_id) -> Administration:
    return guarded(request, get_object_or_404(Administration.objects.select_related("patient", "entered_by", "session"),
                                              external_id=administration_id, patient__clinic=current_clinic()))


def administration_detail(request, administration_id):
    return _administration_page(request, _administration(request, administration_id))


def _administration_page(request, admin, *, error_form=None):
    spec = get_scale(admin.scale)
    by_id = {a.item_id: a for a in admin.answers.all()}
    rows = []
    for it in spec.items:
        a = by_id.get(it.id)
        label = next((o.label for o in it.options if a is not None and o.value == a.value), "")
        rows.append({"item": it, "answer": a, "label": label})
    audit.record(Actor.from_request(request), AuditAction.MEASURES_ADMINISTRATION_VIEWED, subject=admin, patient=admin.patient)
    return render(request, "measures/administration.html", {
        "admin": admin, "patient": admin.patient, "scale": spec, "rows": rows,
        "tasks": list(admin.safety_tasks.select_related("acknowledged_by")),
        "can_correct": can_open(request.user, "measures:entered_in_error"), "error_form": error_form})


@require_POST
def entered_in_error(request, administration_id):
    admin = _administration(request, administration_id)
    return submit(request, ReasonForm(posted(request)), lambda actor, data: services.mark_entered_in_error(
        actor=actor, administration=admin, reason=data["reason"]), refused_by=services.MeasureError,
        saved="Marked as entered in error. It no longer appears on the trajectory.",
        done=lambda _: redirect("measures:administration", administration_id=admin.external_id),
        again=lambda form: _administration_page(request, admin, error_form=form))


@require_http_methods(["GET", "POST"])
def schedule(request, external_id):
    patient = get_patient_for(request, external_id)
    actor = Actor.from_request(request)
    form = ScheduleForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            if form.defaults:
                services.apply_default_schedule(actor=actor, patient=patient)
            else:
                services.update_schedule(actor=actor, patient=patient, scale=form.cleaned_data["scale"],
                                         values=form.values())
        except services.MeasureError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Schedule saved; due questionnaires updated.")
            return redirect("measures:schedule", external_id=patient.external_id)
    rows = list(MeasureSchedule.objects.filter(patient=patient))
    due = list(DueItem.objects.filter(patient=patient, status=DueItem.Status.OPEN).order_by("due_at")[:30])
    have = {r.scale for r in rows}
    audit.record(actor, AuditAction.MEASURES_SCHEDULE_VIEWED, subject=patient, patient=patient,
                 details={"scales": sorted(r.scale for r in rows), "due": len(due)})
    addable = [(c, s.name) for c, s in SCALES.items() if c not in have]
    # A refusal shows in the form it came from: the scale's row, else the add form, else above the list.
    refused_in = None
    if form.errors:
        scale = form["scale"].value()
        refused_in = scale if scale in have else ("add" if addable else "top")
    return render(request, "measures/schedule.html", {
        "patient": patient, "rows": rows, "due": due, "refused_in": refused_in,
        "refused": [m for errs in form.errors.values() for m in errs] if form.errors else [],
        "repeats": MeasureSchedule.Repeat.choices, "addable": addable, "defaults": [SCALES[code].name for code in services.DEFAULT_PLAN]})


@require_http_methods(["GET", "POST"])
def safety_task(request, task_id):
    task = guarded(request, get_object_or_404(SafetyTask.objects.select_related("patient", "administration", "assigned_to",
                                                                                "acknowledged_by"),
                                              external_id=task_id, patient__clinic=current_clinic()))
    if request.method != "POST":
        audit.record(Actor.from_request(request), AuditAction.MEASURES_SAFETY_TASK_VIEWED, subject=task,
                     patient=task.patient)
    return submit(request, AcknowledgeForm(posted(request)), lambda actor, data: services.acknowledge_safety_task(
        actor=actor, task=task, action=data["action_taken"], note=data["action_note"]),
        refused_by=services.MeasureError, saved="Safety task acknowledged; your action is recorded.",
        done=lambda _: redirect("measures:safety_task", task_id=task.external_id),
        again=lambda form: render(request, "measures/safety_task.html", {"task": task, "patient": task.patient,
                                                                         "form": form}))


@require_POST
def booster(request, prompt_id):
    prompt = guarded(request, get_object_or_404(BoosterPrompt.objects.select_related("patient"), external_id=prompt_id,
                                                patient__clinic=current_clinic()))
    form = BoosterForm(posted(request))

    def back(_):
        if form.to_worklist:
            return redirect("measures:worklist")
        return redirect("measures:trajectory", external_id=prompt.patient.external_id)

    def refused(form):
        # The page the decision was taken on, the message next to the field of that prompt.
        if form.to_worklist:
            return _worklist_page(request, booster_form=form, booster_prompt=prompt.pk)
        return _trajectory_page(request, prompt.patient, booster_form=form, booster_prompt=prompt.pk)

    return submit(request, form, lambda actor, data: services.resolve_booster(
        actor=actor, prompt=prompt, decision=data["decision"], reason=data["reason"]),
        refused_by=services.MeasureError, saved="Booster prompt resolved.", done=back, again=refused)


@require_http_methods(["GET", "POST"])
def on_call(request):
    clinic = current_clinic()
    prescribers = staff_holding(Role.PRESCRIBER, clinic_id=clinic.pk)
    today = timezone.localtime(timezone.now(), clinic.tz).date()

    def roster_page(form):
        roster = list(OnCall.objects.filter(clinic=clinic, day__gte=today).select_related("clinician")[:30])
        return render(request, "measures/on_call.html", {
            "roster": roster, "form": form, "today": today, "current": services.clinician_on_call(clinic)})

    form = OnCallForm(posted(request), prescribers=prescribers, initial={"day": today})
    return submit(request, form, lambda actor, data: services.set_on_call(actor=actor, day=data["day"],
                                                                          clinician=data["clinician"], clinic=clinic),
                  refused_by=services.MeasureError,
                  saved=lambda _: f"{form.cleaned_data['clinician'].label} is on call on {form.cleaned_data['day']}.",
                  done=lambda _: redirect("measures:on_call"), again=roster_page)
