"""Background report jobs: the de-identified research export and a whole report as CSV, written by the task worker
(Django's task framework, ``manage.py worker``; ``tasks.run_report_job``) into a private
folder, shown with a progress bar, and served only to the person who asked.

* :func:`start_research_export` / :func:`start_report_csv`: queue a job (the worker gets it once the transaction
  commits) and audit it (``report.job.started``).
* :func:`run_job`: the worker's part: claim the job, write its file, count progress, mark it complete or failed.
* :func:`open_download`: the finished file for its requester (audited ``report.job.downloaded``); refused, and the
  file deleted, once expired, or for a research export once a patient refused or withdrew consent after it was
  asked for.
* :func:`prune_jobs`: delete the files of jobs finished more than ``REPORT_EXPORT_KEEP_DAYS`` (default 7) days ago
  (run at the start of every job, as the FHIR exports are pruned, and by ``manage.py prune_report_exports``).

Files live under ``settings.REPORT_EXPORT_DIR`` (default ``DATA_DIR / "report-exports"``): folders 0700, files 0600,
one folder per job named by its public id.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.acting import acting_at
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor, record
from ketaclinic.dbrouting import on_replica
from ketaclinic.plaintime import duration
from ketaclinic.privatefiles import private_dir, remove_orphan_folders
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.forms import filters_from_params, filters_to_params
from ketaclinic.reports.models import ReportJob

KEEP_DAYS = 7
#: A job still "running" this many hours after a worker took it is taken for dead (the worker was killed or the
#: machine stopped; a worker that fails normally marks its job failed itself). Operational, not clinical: the
#: longest export measured, the research export of a million sessions, takes minutes (bench/reports.py).
RUNNING_HOURS = 24


class JobError(Exception):
    """A refused job request. ``gone``: the file existed and is deleted for good (expired, or withdrawn after a
    consent changed): the page answers 410 rather than 404."""

    def __init__(self, errors: dict[str, str], *, gone: bool = False):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.gone = gone


def export_dir() -> Path:
    return Path(getattr(settings, "REPORT_EXPORT_DIR", None) or Path(settings.DATA_DIR) / "report-exports")


def keep_for() -> timedelta:
    return timedelta(days=float(getattr(settings, "REPORT_EXPORT_KEEP_DAYS", None) or KEEP_DAYS))


def expires_at(job: ReportJob) -> datetime | None:
    return job.finished_at + keep_for() if job.finished_at and job.status == ReportJob.Status.COMPLETE else None


def job_dir(job: ReportJob) -> Path:
    return export_dir() / str(job.external_id)


def job_file(job: ReportJob) -> Path | None:
    return job_dir(job) / job.file_name if job.file_name else None


# ---------------------------------------------------------------------------------------------- the use cases
def _queue(actor: Actor, clinic, kind: str, params: dict, details: dict) -> ReportJob:
    from ketaclinic.reports.tasks import run_report_job

    with transaction.atomic():
        job = ReportJob.objects.create(clinic=clinic, kind=kind, params=params, requested_by=actor.user)
        record(actor, AuditAction.REPORT_JOB_STARTED, subject=job, details={"kind": kind, **details})
        transaction.on_commit(lambda: run_report_job.enqueue(job.pk))
    return job


def start_research_export(*, actor: Actor, clinic) -> ReportJob:
    """Queue the de-identified research export of the clinic's consented patients."""
    if actor.user is None:
        raise JobError({"__all__": "Only a signed-in person may ask for an export: it is served only to them."})
    return _queue(actor, clinic, ReportJob.Kind.RESEARCH_EXPORT, {}, {})


def start_report_csv(*, actor: Actor, clinic, slug: str, filters: ReportFilters) -> ReportJob:
    """Queue one whole report (every section's table) as one CSV file, with the filters the page had."""
    from ketaclinic.reports.registry import REPORTS

    if slug not in REPORTS:
        raise JobError({"report": "There is no such report."})
    if actor.user is None:
        raise JobError({"__all__": "Only a signed-in person may ask for an export: it is served only to them."})
    return _queue(actor, clinic, ReportJob.Kind.REPORT_CSV, {"report": slug, "filters": filters_to_params(filters)},
                  {"report": slug, "filters": filters.describe()})


def consent_changed_since(job: ReportJob) -> bool:
    """Whether any patient of the job's clinic recorded a research consent decision other than "given" (a refusal
    or a withdrawal) after the job was asked for: the file may hold that patient's data."""
    from ketaclinic.reports.models import ResearchConsent

    return ResearchConsent.objects.filter(patient__clinic_id=job.clinic_id, recorded_at__gte=job.created_at).exclude(
        decision=ResearchConsent.Decision.GIVEN).exists()


def revoke_research_exports(*, actor, decided_at: datetime, clinic_id: int) -> int:
    """Delete now the file of every finished research export of the clinic asked for before a refusal or
    withdrawal recorded at ``decided_at`` (one query for the jobs: the decision makes each of them stale, as
    :func:`consent_changed_since` would find), each through :func:`_revoke`, audited as the decision's
    consequence. Called once such a decision is recorded, so the file does not wait for a download attempt or the
    keep time. Returns how many files were deleted."""
    jobs = ReportJob.objects.filter(
        clinic_id=clinic_id, kind=ReportJob.Kind.RESEARCH_EXPORT, status=ReportJob.Status.COMPLETE,
        created_at__lte=decided_at).only("pk", "external_id", "clinic_id", "created_at", "status")
    return sum(_revoke(job, actor) for job in jobs)


def _revoke(job: ReportJob, actor: Actor) -> bool:
    """Turn a finished research export ``revoked`` and delete its file: a patient refused or withdrew research
    consent after it was asked for. Audited (``research.export.revoked``) only when this call made the change
    (another may have revoked, pruned or expired it meanwhile); the file is deleted after the commit either way
    (deleting is always safe). Whether this call revoked it."""
    with transaction.atomic():
        revoked = ReportJob.objects.filter(pk=job.pk, status=ReportJob.Status.COMPLETE).update(
            status=ReportJob.Status.REVOKED)
        if revoked:
            record(actor, AuditAction.RESEARCH_EXPORT_REVOKED, subject=job,
                   details={"why": "a research consent refused or withdrawn after the export was asked for"})
    if revoked:
        job.status = ReportJob.Status.REVOKED
    else:  # revoked, pruned or expired by another meanwhile: what it is now
        job.refresh_from_db(fields=["status"])
    shutil.rmtree(job_dir(job), ignore_errors=True)
    return bool(revoked)


def _delete_file(job: ReportJob, status: str) -> None:
    ReportJob.objects.filter(pk=job.pk, status=ReportJob.Status.COMPLETE).update(status=status)
    job.status = status
    shutil.rmtree(job_dir(job), ignore_errors=True)


def open_download(*, actor: Actor, job: ReportJob, now: datetime | None = None) -> Path:
    """The finished file of ``job`` for the person who asked (the view has already refused anyone else, and
    checked they may still open the report). Refused, and the file deleted, once it has expired (the keep time is
    over, even if no prune has run yet), and for a research export once any patient of the clinic refused or
    withdrew research consent after the export was asked for. Audited."""
    now = now or timezone.now()
    if job.status == ReportJob.Status.COMPLETE and job.finished_at and job.finished_at + keep_for() <= now:
        _delete_file(job, ReportJob.Status.EXPIRED)
    if job.status == ReportJob.Status.EXPIRED:
        raise JobError({"__all__": "This file has expired and was deleted; ask for a new one."}, gone=True)
    if job.kind == ReportJob.Kind.RESEARCH_EXPORT and job.status == ReportJob.Status.COMPLETE and (
            consent_changed_since(job)):
        _revoke(job, actor)
    if job.status == ReportJob.Status.REVOKED:
        raise JobError({"__all__": "A patient refused or withdrew research consent after this export was asked "
                                   "for, so it may hold their data: the file was deleted. Ask for a new export."},
                       gone=True)
    path = job_file(job)
    if job.status != ReportJob.Status.COMPLETE or path is None or not path.is_file():
        raise JobError({"__all__": "This file is not ready, or it has expired and was deleted."})
    if job.requested_by_id != actor.user_id:
        raise JobError({"__all__": "Only the person who asked for this file may download it."})
    record(actor, AuditAction.REPORT_JOB_DOWNLOADED, subject=job,
           details={"kind": job.kind, "file": job.file_name})
    return path


def running_for() -> timedelta:
    return timedelta(hours=float(getattr(settings, "REPORT_JOB_RUNNING_HOURS", None) or RUNNING_HOURS))


def prune_jobs(now: datetime | None = None) -> int:
    """Delete the files of jobs finished before the keep time (the job turns ``expired``), and folders no live job
    owns. A job left "running" by a worker that was killed (``REPORT_JOB_RUNNING_HOURS`` after it was taken) turns
    ``failed``, and the research export's patient set it left behind (``ResearchExportMember`` rows, which its own
    ``finally`` could not delete) goes with it. Returns how many jobs expired."""
    from ketaclinic.reports.models import ResearchExportMember

    now = now or timezone.now()
    # a job taken before started_at existed counts from when it was asked for
    ReportJob.objects.filter(status=ReportJob.Status.RUNNING).alias(
        taken=Coalesce("started_at", "created_at")).filter(taken__lte=now - running_for()).update(
        status=ReportJob.Status.FAILED, finished_at=now,
        error="The worker stopped before the file was written (it was still running after "
              f"{duration(running_for().total_seconds() // 60)}). Ask for the file again.")
    # every patient set but those of the research exports being written now (a killed one's, and those written
    # under a random id before the sets were keyed by the job)
    ResearchExportMember.objects.exclude(run__in=ReportJob.objects.filter(
        kind=ReportJob.Kind.RESEARCH_EXPORT, status=ReportJob.Status.RUNNING).values("external_id")).delete()
    stale = ReportJob.objects.filter(status=ReportJob.Status.COMPLETE, finished_at__lte=now - keep_for())
    pruned = 0
    for job in stale.only("pk", "external_id"):
        pruned += ReportJob.objects.filter(pk=job.pk, status=ReportJob.Status.COMPLETE).update(
            status=ReportJob.Status.EXPIRED)
        shutil.rmtree(job_dir(job), ignore_errors=True)
    remove_orphan_folders(export_dir(), (str(u) for u in ReportJob.objects.filter(status__in=(
        ReportJob.Status.QUEUED, ReportJob.Status.RUNNING, ReportJob.Status.COMPLETE)).values_list(
        "external_id", flat=True)))
    return pruned


# ------------------------------------------------------------------------------------------------ the worker
def _progress(job_pk: int):
    def report(done: int, total: int) -> None:
        ReportJob.objects.filter(pk=job_pk, status=ReportJob.Status.RUNNING).update(done=min(done, total),
                                                                                   total=total)
    return report


def run_job(job_id: int) -> str:
    """Write the job's file; returns its final status. A second delivery of the same job does nothing."""
    job = ReportJob.objects.select_related("clinic", "requested_by").get(pk=job_id)
    if job.status != ReportJob.Status.QUEUED:
        return job.status
    if not ReportJob.objects.filter(pk=job.pk, status=ReportJob.Status.QUEUED).update(
            status=ReportJob.Status.RUNNING, started_at=timezone.now()):
        return ReportJob.objects.get(pk=job.pk).status
    prune_jobs()
    folder = job_dir(job)
    private_dir(export_dir())
    private_dir(folder)
    stamp = timezone.localdate().strftime("%Y%m%d")
    try:
        # the worker acts for the clinic that asked (a network's report is each clinic's own)
        with acting_at(job.clinic_id):
            if job.kind == ReportJob.Kind.RESEARCH_EXPORT:
                name = "research-export.zip"  # no date: the day of the export is a calendar anchor
                summary = _write(folder / name, lambda out: _research(job, out))
            else:
                name = f"{job.params['report']}-report-{stamp}.csv"
                summary = _write(folder / name, lambda out: _report_csv(job, out))
    except BaseException as e:  # the job fails with its reason (a stopped worker too: never "running" for ever)
        ReportJob.objects.filter(pk=job.pk).update(status=ReportJob.Status.FAILED, error=f"{type(e).__name__}: {e}",
                                                   finished_at=timezone.now())
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with transaction.atomic():
        if not ReportJob.objects.filter(pk=job.pk, status=ReportJob.Status.RUNNING).update(
                status=ReportJob.Status.COMPLETE, file_name=name, summary=summary, finished_at=timezone.now()):
            # a prune took it for dead meanwhile (REPORT_JOB_RUNNING_HOURS) and deleted its patient set: the
            # file is not kept, the job stays failed
            shutil.rmtree(folder, ignore_errors=True)
            return ReportJob.objects.get(pk=job.pk).status
        if job.kind == ReportJob.Kind.RESEARCH_EXPORT:
            with acting_at(job.clinic_id):  # the requester's roles at the job's clinic, and the entry names it
                actor = Actor.for_user(job.requested_by)
                record(actor, AuditAction.RESEARCH_EXPORT_MADE, subject=job, details=summary)
    job.status = ReportJob.Status.COMPLETE
    if job.kind == ReportJob.Kind.RESEARCH_EXPORT and consent_changed_since(job):
        _revoke(job, Actor.system("report worker"))  # a patient refused or withdrew while it was being written
        return ReportJob.Status.REVOKED
    return ReportJob.Status.COMPLETE


def _write(path: Path, writer) -> dict:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        return writer(out)


def _research(job: ReportJob, out) -> dict:
    from ketaclinic.reports.research import write_export

    return write_export(job.clinic, out, _progress(job.pk), run=job.external_id)


def _cell(value) -> str:
    from ketaclinic.custody.reports import csv_cell

    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:.1f}"
    elif isinstance(value, date):
        value = value.isoformat()
    return csv_cell(str(value))


def _report_csv(job: ReportJob, out) -> dict:
    """Every section of the report, one after another: its title, its header (with units) and its rows; the
    filters on the first line. Progress counts sections."""
    from ketaclinic.reports.registry import REPORTS

    entry = REPORTS[job.params["report"]]
    filters = filters_from_params(job.params.get("filters") or {})
    report = _progress(job.pk)
    report(0, 1)
    with on_replica():  # the report's reads, as on its page; the job's own progress writes stay on the primary
        built = entry.build(filters)
    total = len(built.sections) + 1
    report(1, total)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    w = csv.writer(text)
    w.writerow([_cell(built.title), _cell(f"Filters: {filters.describe()}")])
    rows = 0
    for n, section in enumerate(built.sections, start=2):
        w.writerow([])
        w.writerow([_cell(section.title)])
        w.writerow([_cell(f"{c.label} ({c.unit})" if c.unit else c.label) for c in section.table.columns])
        for row in section.table.rows:
            w.writerow([_cell(v) for v in row])
            rows += 1
        report(n, total)
    text.flush()
    text.detach()
    return {"report": entry.slug, "sections": len(built.sections), "rows": rows}
