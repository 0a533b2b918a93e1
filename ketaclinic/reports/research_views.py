"""The research export page, a patient's research consent, and the background jobs' pages (progress, download).

Who may open each page is the access policy's (ketaclinic/access.py); a job's pages and its file are further
served only to the person who asked for it (anyone else gets 404, as if it did not exist)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ketaclinic.access import can_open
from ketaclinic.acting import acting_at
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, record
from ketaclinic.clinic.models import current_clinic, current_clinic_id
from ketaclinic.formfields import posted, show_refusal
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.models import Patient
from ketaclinic.reports import jobs, research
from ketaclinic.reports.forms import ReportExportForm, ResearchConsentForm
from ketaclinic.reports.models import ReportJob, ResearchConsent

MY_JOBS = 20


class StartExportForm(forms.Form):
    """Starting the research export takes no field: the button is the whole request."""


def _consent_counts(clinic) -> list[tuple[str, int]]:
    """Patients of the clinic by their current research consent decision (one GROUP BY in the database)."""
    rows = (Patient.objects.filter(clinic=clinic).annotate(decision=research.latest_decision())
            .values("decision").annotate(n=Count("pk")).order_by())
    by = {row["decision"]: row["n"] for row in rows}
    labels = [(value, label) for value, label in ResearchConsent.Decision.choices]
    return [(label, by.get(value, 0)) for value, label in labels] + [("No decision recorded", by.get(None, 0))]


def research_page(request):
    clinic = current_clinic()
    form = StartExportForm(posted(request))
    if form.is_bound and form.is_valid():
        try:
            job = jobs.start_research_export(actor=Actor.from_request(request), clinic=clinic)
        except jobs.JobError as refused:
            show_refusal(form, refused.errors)
        else:
            messages.success(request, "The research export is being written in the background.")
            return redirect("reports:job", job_id=job.external_id)
    mine = list(ReportJob.objects.filter(requested_by=request.user, clinic=clinic).order_by("-created_at", "-pk")[:MY_JOBS])
    lo, hi = research.shift_range()
    return render(request, "reports/research.html", {
        "form": form, "counts": _consent_counts(clinic), "jobs": mine, "shift": (lo, hi),
        "small": research.suppress_below() - 1,
    }, status=400 if form.is_bound else 200)


def research_consent(request, patient_id):
    patient = get_patient_for(request, patient_id)
    form = ResearchConsentForm(posted(request))
    if form.is_bound and form.is_valid():
        try:
            research.record_research_consent(actor=Actor.from_request(request), patient=patient,
                                             data=form.cleaned_data)
        except research.ConsentError as refused:
            show_refusal(form, refused.errors)
        else:
            messages.success(request, "Research consent decision recorded.")
            return redirect("reports:research_consent", patient_id=patient.external_id)
    if not form.is_bound:
        record(Actor.from_request(request), AuditAction.RESEARCH_CONSENT_VIEWED, subject=patient, patient=patient)
    history = list(patient.research_consents.select_related("recorded_by").order_by("-recorded_at", "-pk"))
    return render(request, "reports/research_consent.html", {
        "patient": patient, "form": form, "history": history, "current": history[0] if history else None,
        "can_export": can_open(request.user, "reports:research"),
    }, status=400 if form.is_bound else 200)


def _own_job(request, job_id) -> ReportJob:
    """The job, if the signed-in person asked for it at the clinic they work at now (a network's other clinics'
    jobs are opened there); anyone else's job is as unknown as a missing one."""
    job = ReportJob.objects.filter(external_id=job_id, requested_by=request.user,
                                   clinic_id=current_clinic_id()).first()
    if job is None:
        raise Http404("There is no such job of yours.")
    return job


def _job_context(job: ReportJob) -> dict:
    return {"job": job, "expires": jobs.expires_at(job)}


def job_page(request, job_id):
    job = _own_job(request, job_id)
    return render(request, "reports/job.html", _job_context(job))


def job_progress(request, job_id):
    """The progress fragment htmx polls every 2 s; once the job is finished it no longer asks to be polled."""
    job = _own_job(request, job_id)
    return render(request, "reports/_job_progress.html", _job_context(job))


def _may_still_open(user, job: ReportJob) -> bool:
    """Whether the requester may still open what the file holds (their roles may have changed since they asked):
    their roles now, at the job's clinic."""
    with acting_at(job.clinic_id):
        return _opens(user, job)


def _opens(user, job: ReportJob) -> bool:
    if job.kind == ReportJob.Kind.RESEARCH_EXPORT:
        return can_open(user, "reports:research")
    return can_open(user, f"reports:{job.params.get('report', '')}")


def job_download(request, job_id):
    job = _own_job(request, job_id)
    if not _may_still_open(request.user, job):
        raise PermissionDenied("You may no longer open this report, so you may not download its file.")
    try:
        path = jobs.open_download(actor=Actor.from_request(request), job=job)
    except jobs.JobError as refused:
        if not refused.gone:
            raise Http404(refused.errors["__all__"]) from None
        return render(request, "reports/job.html", {**_job_context(job), "refused": refused.errors["__all__"]},
                      status=410)
    kind = "application/zip" if path.suffix == ".zip" else "text/csv; charset=utf-8"
    response = FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name, content_type=kind)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def report_export(request):
    """Start writing one whole report as CSV in the background, with the page's filters (its query string, or
    posted fields, which win). Bad filters or an unknown report: nothing is queued, and the page says why."""
    data = request.GET.copy()
    data.update(posted(request))
    form = ReportExportForm(data)
    if form.is_valid() and not can_open(request.user, f"reports:{form.cleaned_data['report']}"):
        raise PermissionDenied("You may not open this report, so you may not export it.")
    if form.is_valid():
        try:
            job = jobs.start_report_csv(actor=Actor.from_request(request), clinic=current_clinic(),
                                        slug=form.cleaned_data["report"], filters=form.filters())
        except jobs.JobError as refused:
            show_refusal(form, refused.errors)
        else:
            messages.success(request, "The report is being written in the background.")
            return redirect("reports:job", job_id=job.external_id)
    return render(request, "reports/job_refused.html", {"form": form}, status=400)
