"""Staff-side portal pages: inviting a patient, and the education pages' versions (write, preview, approve).
Patient-facing views live in ``views.py``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import can_open
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import current_clinic
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.views import chart_page
from ketaclinic.portal import education, markup, services
from ketaclinic.portal.forms import ApproveForm, EducationForm, InviteForm
from ketaclinic.portal.models import EducationPage, EducationVersion
from ketaclinic.submit import submit


@require_POST
def invite(request, external_id):
    """Front desk, prescriber or nurse emails the patient a one-time portal invitation link."""
    patient = get_patient_for(request, external_id)
    # Refused: the chart again, the message next to the email in the portal section.
    return submit(request, InviteForm(posted(request)), lambda actor, data: services.invite(
        actor=actor, patient=patient, email=data["email"], link_base=request.build_absolute_uri("/portal/invite/")),
        refused_by=services.PortalError,
        saved=lambda invited: f"Portal invitation emailed to {invited[0].email}. The link works once and expires "
                              f"in {services.INVITE_HOURS} hours.",
        done=lambda _: redirect("patients:chart", external_id=patient.external_id),
        again=lambda form: chart_page(request, patient, invite_form=form))


# ------------------------------------------------------------------------------------------ education pages
def education_pages(request):
    """Every education page with what patients see now and the newest version (clinic admin, prescriber)."""
    rows = []
    for page in education.pages_for(current_clinic()):
        versions = list(page.versions.select_related("written_by", "approved_by").order_by("-number"))
        rows.append({"page": page, "latest": versions[0], "published": education.published(page)})
    return render(request, "portal/staff/education.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def education_edit(request, slug):
    """Write a new version (with a preview first, if asked) and see the page's whole history; a prescriber
    approves a version from here."""
    clinic = current_clinic()
    education.pages_for(clinic)
    page = get_object_or_404(EducationPage, clinic=clinic, slug=slug)
    versions = list(page.versions.select_related("written_by", "approved_by").order_by("-number"))
    latest = versions[0]
    form = EducationForm(posted(request), initial={"title": latest.title, "body": latest.body,
                                                   "sources": latest.sources})
    preview = None
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data.get("action") == "save":
            try:
                v = education.write_version(actor=Actor.from_request(request), page=page,
                                            **{k: form.cleaned_data[k] for k in ("title", "body", "sources", "note")})
            except education.EducationError as e:
                show_refusal(form, e.errors)
            else:
                messages.success(request, f"Saved as version {v.number}. Patients see it once a prescriber "
                                          "approves it.")
                return redirect("portal:education_edit", slug=page.slug)
        else:
            preview = {"title": form.cleaned_data["title"], "html": markup.render(form.cleaned_data["body"]),
                       "sources": [s.strip() for s in form.cleaned_data["sources"].splitlines() if s.strip()]}
    return render(request, "portal/staff/education_edit.html", {
        "page": page, "form": form, "versions": versions, "preview": preview,
        "published": education.published(page), "approve_form": ApproveForm(),
        "can_approve": can_open(request.user, "portal:education_approve"),
    }, status=400 if form.is_bound and form.errors else 200)


@require_POST
def education_approve(request, pk):
    version = get_object_or_404(EducationVersion.objects.select_related("page"), pk=pk,
                                page__clinic=current_clinic())
    form = ApproveForm(posted(request))
    if form.is_valid():
        try:
            education.approve(actor=Actor.from_request(request), version=version)
        except education.EducationError as e:
            messages.error(request, " ".join(e.errors.values()))
        else:
            messages.success(request, f"Version {version.number} approved: patients see it now.")
    return redirect("portal:education_edit", slug=version.page.slug)
