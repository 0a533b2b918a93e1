"""Consult worklist, the consult page (intake, trials, baseline scales, eligibility) and the prescriber's sign-off."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ketaclinic.access import can_open
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.scales import SCALES
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.measures.forms import ScaleAnswersForm
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.views import chart_page
from ketaclinic.screening import services
from ketaclinic.screening.forms import (
    BaselineScaleChoiceForm,
    IntakeForm,
    SignForm,
    StartConsultForm,
    TrialForm,
)
from ketaclinic.screening.models import Consult, EligibilityAssessment


def _consult(external_id) -> Consult:
    return get_object_or_404(
        Consult.objects.select_related("patient", "patient__clinic", "created_by"),
        external_id=external_id, patient__clinic=current_clinic())




def worklist(request):
    consults = (Consult.objects.filter(patient__clinic=current_clinic())
                .exclude(status=Consult.Status.ENTERED_IN_ERROR)
                .select_related("patient", "created_by")
                .prefetch_related(Prefetch("assessments", queryset=EligibilityAssessment.objects.order_by("-assessed_at"),
                                           to_attr="assessment_list"))
                .order_by("status", "-created_at")[:200])
    rows = []
    for c in consults:
        latest = c.assessment_list[0] if c.assessment_list else None
        rows.append({"consult": c, "assessment": latest,
                     "awaiting_signature": latest is not None and latest.signed_at is None})
    return render(request, "screening/list.html", {"rows": rows})


@require_POST
def start(request, patient_id):
    patient = get_patient_for(request, patient_id)
    form = StartConsultForm(posted(request))
    if form.is_valid():
        try:
            consult = services.start_consult(actor=Actor.from_request(request), patient=patient,
                                             drug=form.cleaned_data["drug"])
        except services.ScreeningError as e:
            show_refusal(form, e.errors)
        else:
            return redirect("screening:detail", external_id=consult.external_id)
    # Refused: the chart again, the message next to the choice in the consults section.
    return chart_page(request, patient, consult_form=form)


def detail(request, external_id):
    return _detail_page(request, _consult(external_id))


def _scale_forms(bound: ScaleAnswersForm | None) -> list[dict]:
    """One entry form per baseline scale (the refused one bound, with its messages), item by item."""
    out = []
    for code in services.BASELINE_SCALES:
        form = bound if bound is not None and bound.prefix == code else ScaleAnswersForm(scale=SCALES[code],
                                                                                         prefix=code)
        out.append({"scale": SCALES[code], "form": form, "open": form is bound,
                    "items": [{"item": it, "field": form[it.id]} for it in SCALES[code].items]})
    return out


def _detail_page(request, consult, *, intake_form=None, trial_form=None, scale_form=None, sign_form=None,
                 sign_for=None):
    """The consult; after a refused entry, with that entry's bound form so its messages sit next to its fields."""
    audit.record(Actor.from_request(request), AuditAction.CONSULT_VIEWED, subject=consult, patient=consult.patient)
    trials = list(consult.trials.select_related("recorded_by"))
    scales = list(consult.scales.select_related("recorded_by"))
    assessments = list(consult.assessments.select_related("assessed_by", "signed_by"))
    preview = None
    preview_error = None
    if not consult.is_locked:
        try:
            preview = services.preview(consult)
        except ClinicalInputError as e:
            preview_error = str(e)
    ctx = {
        "consult": consult, "patient": consult.patient, "trials": trials, "scales": scales,
        "assessments": assessments, "preview": preview, "preview_error": preview_error,
        "intake_form": intake_form or IntakeForm.for_consult(consult), "trial_form": trial_form or TrialForm(),
        "scale_forms": _scale_forms(scale_form), "sign_form": sign_form, "sign_for": sign_for,
        "registry_codes": set(consult.patient.diagnoses.filter(status="active").values_list("code", flat=True)),
        "is_prescriber": can_open(request.user, "screening:sign"),
        "absolute_elsewhere": [a for a in services.absolute_in_force(consult.patient) if a.consult_id != consult.pk],
    }
    return render(request, "screening/detail.html", ctx)


@require_POST
def intake(request, external_id):
    consult = _consult(external_id)
    form = IntakeForm(posted(request))
    if form.is_valid():
        try:
            services.update_intake(actor=Actor.from_request(request), consult=consult,
                                   data=form.data_for_service())
        except services.ScreeningError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Intake saved.")
            return redirect("screening:detail", external_id=consult.external_id)
    return _detail_page(request, consult, intake_form=form)


@require_POST
def add_trial(request, external_id):
    consult = _consult(external_id)
    form = TrialForm(posted(request))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_trial(actor=Actor.from_request(request), consult=consult, drug=data["drug"],
                               dose=data["dose"], weeks=data["weeks"], adequate_dose=data["adequate_dose"],
                               outcome=data["outcome"])
        except services.ScreeningError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Treatment trial added.")
            return redirect("screening:detail", external_id=consult.external_id)
    return _detail_page(request, consult, trial_form=form)


@require_POST
def add_scale(request, external_id):
    consult = _consult(external_id)
    choice = BaselineScaleChoiceForm(posted(request))
    if not choice.is_valid():  # the scale is a hidden field of each scale's form
        messages.error(request, " ".join(choice.errors["scale"]))
        return _detail_page(request, consult)
    code = choice.cleaned_data["scale"]
    form = ScaleAnswersForm(posted(request), scale=SCALES[code], prefix=code)
    if form.is_valid():
        try:
            row = services.record_scale(actor=Actor.from_request(request), consult=consult, scale=code,
                                        answers=form.answers())
        except services.ScreeningError as e:
            show_refusal(form, e.errors)
        else:
            total = f": {row.total}" if row.total is not None else "."
            messages.success(request, f"{SCALES[code].name} recorded{total}")
            for f in row.flags:
                messages.warning(request, f["message"])
            return redirect("screening:detail", external_id=consult.external_id)
    return _detail_page(request, consult, scale_form=form)


@require_POST
def assess(request, external_id):
    consult = _consult(external_id)
    try:
        a = services.assess(actor=Actor.from_request(request), consult=consult)
    except services.ScreeningError as e:
        for msg in e.errors.values():
            messages.error(request, msg)
    else:
        messages.success(request, f"Eligibility assessed: {a.get_outcome_display()}. A prescriber signs it below.")
    return redirect("screening:detail", external_id=consult.external_id)


@require_POST
def sign(request, external_id):
    a = get_object_or_404(EligibilityAssessment.objects.select_related("consult"), external_id=external_id,
                          patient__clinic=current_clinic())
    form = SignForm(posted(request))
    if form.is_valid():
        actor = Actor.from_request(request)
        try:
            if form.retract:
                services.retract_absolute(actor=actor, assessment=a, reason=form.cleaned_data["reason"])
            else:
                services.sign_assessment(actor=actor, assessment=a, decision=form.cleaned_data["decision"],
                                         override_reason=form.cleaned_data["override_reason"])
        except services.ScreeningError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "The absolute finding is marked entered in error; the reason is recorded."
                             if form.retract else "Assessment signed.")
            return redirect("screening:detail", external_id=a.consult.external_id)
    return _detail_page(request, _consult(a.consult.external_id), sign_form=form, sign_for=a.pk)
