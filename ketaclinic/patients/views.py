from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import can_open
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.patients import careteam, services
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.chart import extra_sections
from ketaclinic.patients.forms import (
    BreakGlassForm,
    BreakGlassReviewForm,
    CareTeamMemberForm,
    DiagnosisErrorForm,
    DiagnosisForm,
    MeasurementForm,
    PatientForm,
    SearchForm,
)
from ketaclinic.patients.middleware import safe_next
from ketaclinic.patients.models import BreakGlassAccess, CareTeamMember, Diagnosis, Patient
from ketaclinic.submit import submit

CHART_HISTORY_ROWS = 12


def search(request):
    """The search box is read by a form: a term it refuses (a control character, an overlong paste) is a message
    under the box, and nothing is searched or recorded."""
    form = SearchForm(request.GET)
    term = form.term
    results = list(services.search(current_clinic(), term)) if term else []
    if term:
        with_results = [str(p.external_id) for p in results[:50]]
        audit.record(Actor.from_request(request), AuditAction.PATIENT_SEARCH, details={"term": term, "results": len(results),
                                                                              "patients": with_results})
    ctx = {"term": term, "results": results, "refused": " ".join(form.errors.get("q", []))}
    if request.htmx:
        return render(request, "patients/search.html#results", ctx)
    return render(request, "patients/search.html", ctx)


@require_http_methods(["GET", "POST"])
def register(request):
    def register_patient(actor, data):
        data = dict(data)
        confirm = data.pop("confirm_duplicate", False)
        return services.register_patient(actor=actor, clinic=current_clinic(), data=data, confirm_duplicate=confirm)

    return submit(request, PatientForm(posted(request)), register_patient, refused_by=services.RegistryError,
                  saved=lambda patient: f"Registered {patient.display_name}, MRN {patient.mrn}.",
                  done=lambda patient: redirect("patients:chart", external_id=patient.external_id),
                  again=lambda form: render(request, "patients/form.html", {"form": form,
                                                                            "title": "Register a patient"}))


def chart(request, external_id):
    return chart_page(request, get_patient_for(request, external_id))


def chart_page(request, patient, *, measurement_form=None, diagnosis_form=None, error_form=None, error_dx=None,
               **section_forms):
    """The chart; after a refused entry, with that entry's bound form so its errors sit next to its fields.
    Other apps' chart sections post to their own views, which pass their bound form by name in
    ``section_forms`` (e.g. ``invite_form``) for the section's template to show."""
    audit.record(Actor.from_request(request), AuditAction.PATIENT_CHART_VIEWED, subject=patient, patient=patient)
    measurements = list(patient.measurements.select_related("recorded_by").order_by("-measured_at")[:CHART_HISTORY_ROWS])
    diagnoses = list(patient.diagnoses.select_related("recorded_by").all())
    latest_weight = next((m for m in measurements if m.weight_kg is not None and m.status == "final"), None)
    latest_height = next((m for m in measurements if m.height_cm is not None and m.status == "final"), None)
    user = request.user
    ctx = {
        "patient": patient,
        "measurements": measurements,
        "latest_weight": latest_weight,
        "latest_height": latest_height,
        "diagnoses": diagnoses,
        "measurement_form": measurement_form or MeasurementForm(),
        "diagnosis_form": (diagnosis_form or DiagnosisForm()) if can_open(user, "patients:add_diagnosis") else None,
        "error_form": error_form,
        "error_dx": error_dx,
        "can_edit": can_open(user, "patients:edit"),
        "can_measure": can_open(user, "patients:add_measurement"),
        "sections": extra_sections(request, patient),
        "care_team": list(patient.care_team.filter(ended_at__isnull=True).select_related("member")),
        "care_team_form": section_forms.pop("care_team_form", None) or (
            CareTeamMemberForm() if can_open(user, "patients:care_team_add") else None),
        "chart_access": settings.KETACLINIC_CHART_ACCESS,
        "break_glass": careteam.open_access(user, patient) if careteam.restricted(user) else None,
        **section_forms,
    }
    return render(request, "patients/chart.html", ctx)


@require_http_methods(["GET", "POST"])
def edit(request, external_id):
    patient = get_patient_for(request, external_id)
    form = PatientForm(posted(request), instance=patient)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        confirm = data.pop("confirm_duplicate", False)
        try:
            # The form mutated ``patient`` in memory; the service reloads it under a row lock.
            services.update_patient(actor=Actor.from_request(request), patient=patient, data=data, confirm_duplicate=confirm)
        except services.RegistryError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:chart", external_id=patient.external_id)
    else:
        audit.record(Actor.from_request(request), AuditAction.PATIENT_DEMOGRAPHICS_VIEWED, subject=patient, patient=patient)
    return render(request, "patients/form.html", {"form": form, "title": f"Edit {patient.display_name}", "patient": patient})


@require_POST
def add_measurement(request, external_id):
    patient = get_patient_for(request, external_id)
    form = MeasurementForm(posted(request))
    if form.is_valid():
        try:
            result = services.record_measurement(
                actor=Actor.from_request(request), patient=patient, unit=form.cleaned_data["unit"],
                weight=form.cleaned_data["weight"], height=form.cleaned_data["height"],
            )
        except services.RegistryError as e:
            show_refusal(form, e.errors)
        except ClinicalInputError as e:
            show_refusal(form, {e.field if e.field in form.fields else "weight": str(e)})
        else:
            m = result.measurement
            parts = []
            if m.weight_kg is not None:
                parts.append(f"{m.weight_kg} kg ({m.weight_lb} lb)")
            if m.height_cm is not None:
                parts.append(f"{m.height_cm} cm ({m.height_in} in)")
            messages.success(request, "Recorded " + " and ".join(parts) + ".")
            for w in result.warnings:
                messages.warning(request, w)
            return redirect("patients:chart", external_id=patient.external_id)
    return chart_page(request, patient, measurement_form=form)


def _submit(request, patient, form, form_name: str, use_case, saved: str, **page):
    """A POST on the chart: back to the chart after it, or the chart with the refused form (and ``page``)."""
    return submit(request, form, use_case, refused_by=services.RegistryError, saved=saved,
                  done=lambda _: redirect("patients:chart", external_id=patient.external_id),
                  again=lambda refused: chart_page(request, patient, **{form_name: refused}, **page))


@require_POST
def add_diagnosis(request, external_id):
    patient = get_patient_for(request, external_id)
    return _submit(request, patient, DiagnosisForm(posted(request)), "diagnosis_form",
                   lambda actor, data: services.add_diagnosis(actor=actor, patient=patient, code=data["code"],
                                                              note=data["note"]),
                   "Diagnosis added.")


@require_POST
def diagnosis_error(request, external_id, pk):
    patient = get_patient_for(request, external_id)
    dx = get_object_or_404(Diagnosis, pk=pk, patient=patient)
    return _submit(request, patient, DiagnosisErrorForm(posted(request)), "error_form",
                   lambda actor, data: services.mark_diagnosis_entered_in_error(actor=actor, diagnosis=dx,
                                                                              reason=data["reason"]),
                   f"{dx.code} marked entered in error; the original stays in the record.", error_dx=dx.pk)


@require_http_methods(["GET", "POST"])
def break_glass(request, external_id):
    """A record outside one's care team: say why, and it opens for a few hours, flagged for compliance review.
    Reached by the patient's id directly (not ``get_patient_for``, which is what sends people here)."""
    patient = get_object_or_404(Patient.objects.select_related("clinic"), external_id=external_id,
                                clinic=current_clinic())
    back = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if careteam.may_open(request.user, patient):
        return redirect(back or reverse("patients:chart", kwargs={"external_id": patient.external_id}))
    return submit(request, BreakGlassForm(posted(request)),
                  lambda actor, data: careteam.break_glass(actor=actor, patient=patient, **data),
                  refused_by=services.RegistryError,
                  saved=lambda access: (f"Record opened until {timezone.localtime(access.expires_at):%H:%M}. "
                                        "Your reason and every page you open are sent to compliance for review."),
                  done=lambda _: redirect(back or reverse("patients:chart",
                                                          kwargs={"external_id": patient.external_id})),
                  again=lambda form: render(request, "patients/break_glass.html",
                                            {"patient": patient, "form": form, "next": back,
                                             "minutes": settings.KETACLINIC_BREAK_GLASS_MINUTES}))


def _reviews_page(request, refused: BreakGlassReviewForm | None = None, refused_pk: int | None = None):
    clinic = current_clinic()
    waiting = careteam.unreviewed(clinic)
    for access in waiting:  # one form per access, its own ids, its refusal next to it
        access.form = refused if access.pk == refused_pk else BreakGlassReviewForm(prefix=f"a{access.pk}")
    return render(request, "patients/break_glass_reviews.html",
                  {"waiting": waiting, "done": careteam.reviewed(clinic), "mode": settings.KETACLINIC_CHART_ACCESS,
                   "now": timezone.now()})


def break_glass_reviews(request):
    """The compliance lead's queue: every break-glass access waiting for review, with the pages opened under it."""
    audit.record(Actor.from_request(request), AuditAction.PATIENT_BREAK_GLASS_REVIEWS_VIEWED)
    return _reviews_page(request)


@require_POST
def review_break_glass(request, pk):
    access = get_object_or_404(BreakGlassAccess.objects.select_related("patient", "user"), pk=pk,
                               patient__clinic=current_clinic())
    return submit(request, BreakGlassReviewForm(posted(request), prefix=f"a{access.pk}"),
                  lambda actor, data: careteam.review(actor=actor, access=access, **data),
                  refused_by=services.RegistryError,
                  saved=f"Review of {access.user.label}'s access to {access.patient.display_name} saved.",
                  done=lambda _: redirect("patients:break_glass_reviews"),
                  again=lambda form: _reviews_page(request, form, access.pk))


@require_POST
def care_team_add(request, external_id):
    patient = get_patient_for(request, external_id)
    return _submit(request, patient, CareTeamMemberForm(posted(request)), "care_team_form",
                   lambda actor, data: careteam.add_member(actor=actor, patient=patient, member=data["member"]),
                   "Added to the care team.")


@require_POST
def care_team_end(request, external_id, pk):
    patient = get_patient_for(request, external_id)
    membership = get_object_or_404(CareTeamMember, pk=pk, patient=patient)
    return _submit(request, patient, forms.Form(posted(request)), "care_team_end_form",
                   lambda actor, data: careteam.end_membership(actor=actor, membership=membership),
                   f"{membership.member.label} is no longer on the care team.")
