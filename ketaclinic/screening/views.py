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
from ketaclinic.formfields import posted
from ketaclinic.measures.forms import ScaleAnswersForm
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.careteam import guarded
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
from ketaclinic.submit import submit


def _consult(request, external_id) -> Consult:
    return guarded(request, get_object_or_404(
        Consult.objects.select_related("patient", "patient__clinic", "created_by"),
        external_id=external_id, patient__clinic=current_clinic()))


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
    # Refused: the chart again, the message next to the choice in the consults section.
    return submit(request, StartConsultForm(posted(request)), lambda actor, data: services.start_consult(
        actor=actor, patient=patient, drug=data["drug"]), refused_by=services.ScreeningError,
        done=lambda consult: redirect("screening:detail", external_id=consult.external_id),
        again=lambda refused: chart_page(request, patient, consult_form=refused))


def detail(request, external_id):
    return _detail_page(request, _consult(request, external_id))


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


def _submit(request, consult, form, form_name: str, use_case, saved="", done=None):
    """A POST on the consult page: back to the page after it, or the page with the refused form."""
    return submit(request, form, use_case, refused_by=services.ScreeningError, saved=saved,
                  done=done or (lambda _: redirect("screening:detail", external_id=consult.external_id)),
                  again=lambda refused: _detail_page(request, consult, **{form_name: refused}))


@require_POST
def intake(request, external_id):
    consult = _consult(request, external_id)
    form = IntakeForm(posted(request))

    def save(actor, _):
        saved = services.update_intake(actor=actor, consult=consult, data=form.data_for_service())
        for warning in saved.weight_warnings:  # e.g. pounds typed as kilograms, or a large change since last time
            messages.warning(request, warning)
        return saved

    return _submit(request, consult, form, "intake_form", save, saved="Intake saved.")


@require_POST
def add_trial(request, external_id):
    consult = _consult(request, external_id)
    return _submit(request, consult, TrialForm(posted(request)), "trial_form", lambda actor, data: services.add_trial(
        actor=actor, consult=consult, drug=data["drug"], dose=data["dose"], weeks=data["weeks"],
        adequate_dose=data["adequate_dose"], outcome=data["outcome"]), saved="Treatment trial added.")


@require_POST
def add_scale(request, external_id):
    consult = _consult(request, external_id)
    choice = BaselineScaleChoiceForm(posted(request))
    if not choice.is_valid():  # the scale is a hidden field of each scale's form
        messages.error(request, " ".join(choice.errors["scale"]))
        return _detail_page(request, consult)
    code = choice.cleaned_data["scale"]
    form = ScaleAnswersForm(posted(request), scale=SCALES[code], prefix=code)

    def warn_and_return(row):
        for f in row.flags:
            messages.warning(request, f["message"])
        return redirect("screening:detail", external_id=consult.external_id)

    return _submit(request, consult, form, "scale_form", lambda actor, _: services.record_scale(
        actor=actor, consult=consult, scale=code, answers=form.answers()),
        saved=lambda row: f"{SCALES[code].name} recorded" + (f": {row.total}" if row.total is not None else "."),
        done=warn_and_return)


@require_POST
def assess(request, external_id):
    consult = _consult(request, external_id)
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
    a = guarded(request, get_object_or_404(EligibilityAssessment.objects.select_related("consult", "patient"),
                                           external_id=external_id, patient__clinic=current_clinic()))
    form = SignForm(posted(request))

    def decide(actor, data):
        if form.retract:
            return services.retract_absolute(actor=actor, assessment=a, reason=data["reason"])
        return services.sign_assessment(actor=actor, assessment=a, decision=data["decision"],
                                        override_reason=data["override_reason"])

    return submit(request, form, decide, refused_by=services.ScreeningError,
                  saved=lambda _: "The absolute finding is marked entered in error; the reason is recorded."
                  if form.retract else "Assessment signed.",
                  done=lambda _: redirect("screening:detail", external_id=a.consult.external_id),
                  again=lambda refused: _detail_page(request, _consult(request, a.consult.external_id), sign_form=refused,
                                                     sign_for=a.pk))
