"""Consult worklist, the consult page (intake, trials, baseline scales, eligibility) and the prescriber's sign-off."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ketaclinic.audit import services as audit
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.clinical import eligibility as elig
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.scales import SCALES
from ketaclinic.patients.access import get_patient_for
from ketaclinic.screening import services
from ketaclinic.screening.models import Consult, EligibilityAssessment, TreatmentTrial


def _consult(external_id) -> Consult:
    return get_object_or_404(
        Consult.objects.select_related("patient", "patient__clinic", "created_by"),
        external_id=external_id, patient__clinic=current_clinic())


def _flash(request, e: services.ScreeningError) -> None:
    for field, msg in e.errors.items():
        messages.error(request, msg if field == "__all__" else f"{field.replace('_', ' ').capitalize()}: {msg}")


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
    try:
        consult = services.start_consult(actor=Actor.from_request(request), patient=patient,
                                         drug=request.POST.get("drug", "ketamine"))
    except services.ScreeningError as e:
        _flash(request, e)
        return redirect("patients:chart", external_id=patient.external_id)
    return redirect("screening:detail", external_id=consult.external_id)


def detail(request, external_id):
    consult = _consult(external_id)
    audit.record(Actor.from_request(request), "consult.viewed", subject=consult, patient=consult.patient)
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
        "icd": sorted(elig.ICD10_CODES.items()), "flags": services.HISTORY_FLAG_LABELS.items(),
        "med_classes": services.MEDICATION_CLASS_LABELS.items(), "outcomes": TreatmentTrial.Outcome.choices,
        "scale_defs": [SCALES[s] for s in services.BASELINE_SCALES],
        "registry_codes": set(consult.patient.diagnoses.filter(status="active").values_list("code", flat=True)),
        "is_prescriber": request.user.has_role("prescriber"),
        "absolute_elsewhere": [a for a in services.absolute_in_force(consult.patient) if a.consult_id != consult.pk],
        "errors": request.session.pop("consult_errors", {}),
    }
    return render(request, "screening/detail.html", ctx)


@require_POST
def intake(request, external_id):
    consult = _consult(external_id)
    data = {k: request.POST.get(k, "") for k in (
        "weight_kg", "height_cm", "baseline_systolic_mmHg", "baseline_diastolic_mmHg", "baseline_heart_rate_bpm",
        "baseline_spo2_percent", "notes", "drug")}
    data["diagnoses"] = request.POST.getlist("diagnoses")
    data["history_flags"] = request.POST.getlist("history_flags")
    data["medication_classes"] = request.POST.getlist("medication_classes")
    try:
        services.update_intake(actor=Actor.from_request(request), consult=consult, data=data)
    except services.ScreeningError as e:
        request.session["consult_errors"] = e.errors
        _flash(request, e)
    else:
        messages.success(request, "Intake saved.")
    return redirect("screening:detail", external_id=consult.external_id)


@require_POST
def add_trial(request, external_id):
    consult = _consult(external_id)
    try:
        services.add_trial(actor=Actor.from_request(request), consult=consult, drug=request.POST.get("drug", ""),
                           dose=request.POST.get("dose", ""), weeks=request.POST.get("weeks", ""),
                           adequate_dose=request.POST.get("adequate_dose") == "on",
                           outcome=request.POST.get("outcome", ""))
    except services.ScreeningError as e:
        _flash(request, e)
    else:
        messages.success(request, "Treatment trial added.")
    return redirect("screening:detail", external_id=consult.external_id)


@require_POST
def add_scale(request, external_id):
    consult = _consult(external_id)
    code = request.POST.get("scale", "")
    answers: dict[str, object] = {}
    if code in SCALES:
        for item in SCALES[code].items:
            raw = request.POST.get(f"{code}-{item.id}", "")
            if raw != "":
                try:
                    answers[item.id] = int(raw)
                except ValueError:
                    answers[item.id] = raw
    try:
        row = services.record_scale(actor=Actor.from_request(request), consult=consult, scale=code, answers=answers)
    except services.ScreeningError as e:
        _flash(request, e)
    else:
        messages.success(request, f"{SCALES[code].name} recorded" + (f": {row.total}" if row.total is not None else "."))
        for f in row.flags:
            messages.warning(request, f["message"])
    return redirect("screening:detail", external_id=consult.external_id)


@require_POST
def assess(request, external_id):
    consult = _consult(external_id)
    try:
        a = services.assess(actor=Actor.from_request(request), consult=consult)
    except services.ScreeningError as e:
        _flash(request, e)
    else:
        messages.success(request, f"Eligibility assessed: {a.get_outcome_display()}. A prescriber signs it below.")
    return redirect("screening:detail", external_id=consult.external_id)


@require_POST
def sign(request, external_id):
    a = get_object_or_404(EligibilityAssessment.objects.select_related("consult"), external_id=external_id,
                          patient__clinic=current_clinic())
    if request.POST.get("decision") == "retract":
        try:
            services.retract_absolute(actor=Actor.from_request(request), assessment=a,
                                      reason=request.POST.get("reason", ""))
        except services.ScreeningError as e:
            _flash(request, e)
        else:
            messages.success(request, "The absolute finding is marked entered in error; the reason is recorded.")
        return redirect("screening:detail", external_id=a.consult.external_id)
    try:
        services.sign_assessment(actor=Actor.from_request(request), assessment=a,
                                 decision=request.POST.get("decision", ""),
                                 override_reason=request.POST.get("override_reason", ""))
    except services.ScreeningError as e:
        _flash(request, e)
    else:
        messages.success(request, "Assessment signed.")
    return redirect("screening:detail", external_id=a.consult.external_id)
