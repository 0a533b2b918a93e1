"""Bulk Data ``$export`` (FHIR Bulk Data Access IG v2): kick-off, status, files.

* ``GET [base]/$export`` (system: every type the client's scopes allow), ``GET [base]/Patient/$export`` (the
  clinic's patients and the resources in their compartments) and ``GET [base]/Group/<id>/$export`` (one group of
  the clinic's patients, see :data:`GROUPS`), with ``Prefer: respond-async``: 202 and ``Content-Location`` (the
  status URL). Parameters ``_type`` (comma-separated types), ``_since`` (a FHIR instant with its offset) and
  ``_outputFormat`` (NDJSON only); any other is refused (400 OperationOutcome) rather than silently ignored.
* ``GET`` the status URL: 202 with ``X-Progress`` while the job is queued or running; 200 with the manifest once it
  is complete; ``DELETE`` cancels it (202) and removes its files.
* The manifest's files (one NDJSON file per resource type, split every :data:`LINES_PER_FILE` resources) are
  served only to the client that asked for the export, with its bearer token.

The job runs on the background worker (``tasks.run_export_job``, Django's task framework:
``manage.py worker``), which streams each type's rows from the registry (``TYPES[name].rows(...)``, a fixed
number of rows in memory) straight into the files. Files live under ``settings.FHIR_EXPORT_DIR`` (default
``DATA_DIR / "fhir-export"``, outside the code checkout): the NDJSON holds decrypted clinical notes, so the
folders are made 0700 and the files 0600, and a completed job's files are deleted
``settings.FHIR_EXPORT_KEEP_HOURS`` (default 24) after it finished (:func:`prune_exports`, run at the start of
every export and by ``manage.py prune_fhir_exports``; the manifest's ``Expires`` header says when) and at once
when the client is revoked (:func:`delete_client_exports`).

Groups: a Group here is a named set of the clinic's patients, not a stored resource. ``all-patients`` is every
patient of the clinic; ``active-treatment`` is the patients with a signed, active treatment order.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.http import FileResponse, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import client_ip, record
from ketaclinic.dbrouting import on_replica
from ketaclinic.fhir import documents
from ketaclinic.fhir.auth import FhirAuthError, Grant, authenticate, client_actor, grant_actor
from ketaclinic.fhir.models import BackendClient, ExportJob, StoredPdf
from ketaclinic.fhir.outcome import methods
from ketaclinic.plaintime import duration
from ketaclinic.privatefiles import private_dir, remove_orphan_folders

#: At most this many resources go into one NDJSON file; a type with more gets several files.
LINES_PER_FILE = 100_000
#: How often (in resources written) the worker records its progress and looks for a cancellation.
PROGRESS_EVERY = 2_000
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}
PARAMETERS = {"_type", "_since", "_outputFormat"}


#: How long a completed export's files are kept unless ``settings.FHIR_EXPORT_KEEP_HOURS`` says otherwise.
KEEP_HOURS = 24


def export_dir() -> Path:
    return Path(getattr(settings, "FHIR_EXPORT_DIR", None) or settings.DATA_DIR / "fhir-export")


def keep_for() -> timedelta:
    return timedelta(hours=float(getattr(settings, "FHIR_EXPORT_KEEP_HOURS", None) or KEEP_HOURS))


#: A running export that has reported no progress for this many hours is taken for dead (its worker was killed or
#: the machine stopped; a worker that fails normally marks its job failed itself). It reports progress at every
#: type and every PROGRESS_EVERY resources. Operational, not clinical.
STALLED_HOURS = 1


def stalled_after() -> timedelta:
    return timedelta(hours=float(getattr(settings, "FHIR_EXPORT_STALLED_HOURS", None) or STALLED_HOURS))


def expires_at(job: ExportJob) -> datetime | None:
    """When a completed job's files are deleted."""
    return job.finished_at + keep_for() if job.finished_at else None


def fail_stalled(jobs: QuerySet, now: datetime) -> int:
    """Turn ``failed`` each running job of ``jobs`` whose worker reported no progress for
    ``FHIR_EXPORT_STALLED_HOURS``; returns how many."""
    # an export taken before progress_at existed counts from when it was asked for
    return jobs.filter(status=ExportJob.Status.RUNNING).alias(heard=Coalesce("progress_at", "created_at")).filter(
        heard__lte=now - stalled_after()).update(
        status=ExportJob.Status.FAILED, finished_at=now,
        error="The export stopped: its worker reported no progress for "
              f"{duration(stalled_after().total_seconds() // 60)} (it was stopped or the machine restarted). Start "
              "the export again.")


def prune_exports(now: datetime | None = None) -> int:
    """Delete the files of completed jobs older than the keep time (the job turns ``expired``); returns how many
    jobs were pruned. A running job whose worker reported no progress for ``FHIR_EXPORT_STALLED_HOURS`` turns
    ``failed`` (its worker was killed: the status URL then answers with the error instead of "in progress" for
    ever). Folders of jobs that no longer exist or are not running are removed too."""
    now = now or timezone.now()
    fail_stalled(ExportJob.objects.all(), now)
    stale = ExportJob.objects.filter(status=ExportJob.Status.COMPLETE, finished_at__lte=now - keep_for())
    pruned = 0
    for job in stale.only("pk", "external_id"):
        if ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.COMPLETE).update(
                status=ExportJob.Status.EXPIRED, output=[]):
            pruned += 1
        shutil.rmtree(job_dir(job), ignore_errors=True)
    remove_orphan_folders(export_dir(), (str(u) for u in ExportJob.objects.filter(status__in=(
        ExportJob.Status.QUEUED, ExportJob.Status.RUNNING, ExportJob.Status.COMPLETE)).values_list(
        "external_id", flat=True)))
    return pruned


def delete_client_exports(client: BackendClient) -> None:
    """A revoked client's exports: their files are deleted, the completed ones turn ``expired`` and the queued or
    running ones are cancelled (the worker stops at its next progress check)."""
    jobs = list(ExportJob.objects.filter(client=client).only("pk", "external_id"))
    ExportJob.objects.filter(client=client, status=ExportJob.Status.COMPLETE).update(
        status=ExportJob.Status.EXPIRED, output=[])
    ExportJob.objects.filter(client=client, status__in=(ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)).update(
        status=ExportJob.Status.CANCELLED, finished_at=timezone.now())
    for job in jobs:
        shutil.rmtree(job_dir(job), ignore_errors=True)


def job_dir(job: ExportJob) -> Path:
    return export_dir() / str(job.external_id)


# ---------------------------------------------------------------------------------------------- what is exported
def _types():
    from ketaclinic.fhir.registry import TYPES

    return TYPES


def compartment_types() -> list[str]:
    """The types in a patient's compartment: every source of the type names its patient."""
    return [name for name, rt in _types().items() if all(s.patient is not None for s in rt.sources)]


def _active_treatment(clinic_id: int):
    from ketaclinic.treatments.models import TreatmentOrder

    return (TreatmentOrder.objects.filter(patient__clinic_id=clinic_id, status=TreatmentOrder.Status.ACTIVE)
            .values("patient_id"))


#: Group id -> (what it is, the patients' keys for a clinic; None: every patient of the clinic).
GROUPS = {
    "all-patients": ("every patient of the clinic", lambda clinic_id: None),
    "active-treatment": ("patients with a signed, active treatment order", _active_treatment),
}


class ExportRequestError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_since(value: str) -> datetime:
    """A FHIR instant (``2026-01-02T03:04:05Z`` or with an offset); anything else is refused."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in value:
        raise ExportRequestError(400, "invalid", f"_since must be a FHIR instant with its time zone, such as "
                                                 f"2026-01-02T03:04:05Z; {value!r} is not one.")
    if moment > timezone.now():
        raise ExportRequestError(400, "invalid", "_since is in the future.")
    return moment


def export_types(grant: Grant, kind: str, requested: str | None) -> list[str]:
    """The types to export: those asked for (each must exist, be in the patient compartment for a patient or group
    export, and be readable with the client's scopes), or every such type the scopes allow."""
    known = _types()
    offered = list(known) if kind == ExportJob.Kind.SYSTEM else compartment_types()
    if requested is None:
        allowed = [t for t in offered if grant.allows(t, "r")]
        if not allowed:
            raise ExportRequestError(403, "forbidden", "This client's scopes allow it to read none of the types "
                                                       "an export would include.")
        return allowed
    asked = [t.strip() for t in requested.split(",") if t.strip()]
    if not asked:
        raise ExportRequestError(400, "invalid", "_type is empty; name one or more resource types, comma-separated.")
    unknown = [t for t in asked if t not in known]
    if unknown:
        raise ExportRequestError(400, "not-supported", f"_type names types this server does not serve: "
                                                       f"{', '.join(unknown)}.")
    outside = [t for t in asked if t not in offered]
    if outside:
        raise ExportRequestError(400, "invalid", f"Not in a patient's compartment (use the system $export): "
                                                 f"{', '.join(outside)}.")
    refused = [t for t in asked if not grant.allows(t, "r")]
    if refused:
        raise ExportRequestError(403, "forbidden", f"This client's scopes do not allow reading "
                                                   f"{', '.join(refused)}.")
    return list(dict.fromkeys(asked))


# ------------------------------------------------------------------------------------------------ the use cases
def start_export(*, grant: Grant, request_url: str, kind: str, group_id: str = "", params, client_ip=None) -> ExportJob:
    """Check an export request and queue its job (the worker starts it once this commits). Audited."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise ExportRequestError(400, "not-supported", f"Unsupported export parameter(s): {', '.join(unknown)}. "
                                                       f"This server takes {', '.join(sorted(PARAMETERS))}.")
    for name in PARAMETERS:
        if len(params.getlist(name)) > 1:
            raise ExportRequestError(400, "invalid", f"{name} is given more than once.")
    fmt = params.get("_outputFormat")
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise ExportRequestError(400, "not-supported", f"_outputFormat {fmt!r} is not offered; this server writes "
                                                       f"{NDJSON}.")
    if kind == ExportJob.Kind.GROUP and group_id not in GROUPS:
        raise ExportRequestError(404, "not-found", f"There is no group {group_id!r}. Groups: "
                                                   f"{', '.join(sorted(GROUPS))}.")
    since = parse_since(params["_since"]) if params.get("_since") else None
    types = export_types(grant, kind, params.get("_type"))
    client = BackendClient.objects.get(client_id=grant.client_id)
    with transaction.atomic(durable=True):
        job = ExportJob.objects.create(client=client, kind=kind, group_id=group_id, types=types, since=since,
                                       request_url=request_url, transaction_time=timezone.now())
        actor = client_actor(grant.client_name, grant.client_id, client_ip)
        record(actor, AuditAction.FHIR_EXPORT_STARTED, subject=job, details={
            "client_id": grant.client_id, "kind": kind, "group": group_id, "types": types,
            "since": since.isoformat() if since else None})
        from ketaclinic.fhir.tasks import run_export_job

        transaction.on_commit(lambda: run_export_job.enqueue(job.pk))
    return job


def cancel_export(*, grant: Grant, job: ExportJob, client_ip=None) -> None:
    """Cancel a queued or running job (the worker stops at its next progress check) or delete a finished one's
    files. Audited."""
    with transaction.atomic(durable=True):
        job = ExportJob.objects.select_for_update().get(pk=job.pk)
        was = job.status
        job.status = ExportJob.Status.CANCELLED
        job.finished_at = job.finished_at or timezone.now()
        job.save(update_fields=["status", "finished_at"])
        actor = client_actor(grant.client_name, grant.client_id, client_ip)
        record(actor, AuditAction.FHIR_EXPORT_CANCELLED, subject=job,
               details={"client_id": grant.client_id, "was": was})
    shutil.rmtree(job_dir(job), ignore_errors=True)


class Cancelled(Exception):
    pass


def run_export(job_id: int) -> str:
    """The worker's part: write the job's NDJSON files, one type after another, streaming rows from the registry.
    Returns the job's final status."""
    job = ExportJob.objects.select_related("client").get(pk=job_id)
    if job.status != ExportJob.Status.QUEUED:
        return job.status
    # the claim: of two deliveries (or workers) racing for one job, only the one whose update moved it runs it
    if not ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.QUEUED).update(
            status=ExportJob.Status.RUNNING, progress="starting", progress_at=timezone.now()):
        return ExportJob.objects.get(pk=job.pk).status
    prune_exports()
    folder = job_dir(job)
    private_dir(export_dir())
    private_dir(folder)
    clinic_id = job.client.clinic_id
    # a group's patients stay a subquery (``values("patient_id")``): never a Python list of every key in an IN
    patient_ids = GROUPS[job.group_id][1](clinic_id) if job.kind == ExportJob.Kind.GROUP else None
    types = _types()
    output: list[dict] = []
    written = 0
    base = documents.BASE_URL.set(fhir_base(job.request_url))  # the DocumentReferences' Binary URLs
    draw = documents.DRAW.set(False)  # documents not drawn yet are reserved, drawn at their first Binary read
    try:
        for n, name in enumerate(job.types, start=1):
            with on_replica():  # the pages of resources from a read replica when one is configured; writes stay
                written = _write_type(job, folder, types[name], clinic_id, patient_ids, output, written,
                                      f"{name} ({n} of {len(job.types)})")
    except Cancelled:
        shutil.rmtree(folder, ignore_errors=True)
        return ExportJob.Status.CANCELLED
    except BaseException as e:  # the job fails with its reason (a stopped worker too: never "running" for ever)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=f"{type(e).__name__}: {e}",
                                                   finished_at=timezone.now())
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        documents.DRAW.reset(draw)
        documents.BASE_URL.reset(base)
    with transaction.atomic():
        updated = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
            status=ExportJob.Status.COMPLETE, output=output, finished_at=timezone.now(),
            progress=f"complete: {written} resources")
        if not updated:
            return ExportJob.objects.get(pk=job.pk).status
        if waiting_documents():
            # the documents it named and did not draw are drawn behind it, on the worker
            from ketaclinic.fhir.tasks import draw_reserved_documents

            transaction.on_commit(draw_reserved_documents.enqueue)
        actor = client_actor(job.client.name, job.client.client_id)
        record(actor, AuditAction.FHIR_EXPORT_COMPLETED, subject=job, details={
            "client_id": job.client.client_id, "resources": written,
            "files": [{"type": o["type"], "count": o["count"]} for o in output]})
    return ExportJob.Status.COMPLETE


def waiting_documents() -> bool:
    """Whether copies an export reserved wait for the worker to draw them (a partial index answers it)."""
    return StoredPdf.objects.filter(StoredPdf.WAITING).exists()


def fhir_base(request_url: str) -> str:
    """The FHIR base of the kick-off URL (``http://host/fhir/R4/``), which the export's links are written against."""
    marker = "/fhir/R4/"
    at = request_url.find(marker)
    return request_url[: at + len(marker)] if at >= 0 else ""


def _still_running(job: ExportJob, progress: str) -> None:
    if not ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(progress=progress[:200],
                                                                                      progress_at=timezone.now()):
        raise Cancelled


def _write_type(job, folder: Path, rt, clinic_id, patient_ids, output: list, written: int, label: str) -> int:
    _still_running(job, f"{label}: {written} resources written")
    part, count, out, name = 0, 0, None, ""
    try:
        for row in rt.rows(clinic_id, since=job.since, patient_ids=patient_ids):
            for resource in rt.to_fhir(row):
                if out is None or count == LINES_PER_FILE:
                    if out is not None:
                        out.close()
                        output.append({"type": rt.name, "file": name, "count": count})
                    part += 1
                    count = 0
                    name = f"{rt.name}-{part}.ndjson"
                    fd = os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                    out = os.fdopen(fd, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
                out.write(resource.model_dump_json(exclude_none=True))
                out.write("\n")
                count += 1
                written += 1
                if written % PROGRESS_EVERY == 0:
                    _still_running(job, f"{label}: {written} resources written")
    finally:
        if out is not None:
            out.close()
    if out is not None and count:
        output.append({"type": rt.name, "file": name, "count": count})
    return written


# --------------------------------------------------------------------------------------------------- the views
def _outcome(status: int, code: str, message: str) -> HttpResponse:
    from ketaclinic.fhir.outcome import operation_outcome

    return operation_outcome(status, code, message)


def _kick_off(request, kind: str, group_id: str = ""):
    try:
        grant = authenticate(request)
    except FhirAuthError as e:
        return e.response()
    if "respond-async" not in request.headers.get("Prefer", ""):
        return _outcome(400, "invalid", "A bulk export runs in the background: send the header "
                                        "Prefer: respond-async.")
    try:
        job = start_export(grant=grant, request_url=request.build_absolute_uri(), kind=kind, group_id=group_id,
                           params=request.GET, client_ip=client_ip(request))
    except ExportRequestError as e:
        return _outcome(e.status, e.code, e.message)
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(reverse("fhir:export_status",
                                                                      kwargs={"job": job.external_id}))
    return response


@methods("GET")
def export_system(request):
    return _kick_off(request, ExportJob.Kind.SYSTEM)


@methods("GET")
def export_patients(request):
    return _kick_off(request, ExportJob.Kind.PATIENT)


@methods("GET")
def export_group(request, group_id):
    return _kick_off(request, ExportJob.Kind.GROUP, group_id)


def _own_job(request, job_id) -> tuple[Grant, ExportJob]:
    """The job, if the bearer's client asked for it; another client's job is as unknown as a missing one."""
    grant = authenticate(request)
    job = ExportJob.objects.select_related("client").filter(external_id=job_id,
                                                            client__client_id=grant.client_id).first()
    if job is None or job.status == ExportJob.Status.CANCELLED:
        raise FhirAuthError(404, "not-found", "There is no such export for this client (or it was cancelled).")
    if job.status == ExportJob.Status.EXPIRED:
        raise FhirAuthError(404, "not-found", "This export's files have expired and were deleted; ask for a new "
                                              "export.")
    return grant, job


@csrf_exempt  # bearer token, no cookie
@methods("GET", "DELETE")
def export_status(request, job):
    try:
        grant, job = _own_job(request, job)
    except FhirAuthError as e:
        return e.response()
    if request.method == "DELETE":
        cancel_export(grant=grant, job=job, client_ip=client_ip(request))
        return HttpResponse(status=202)
    now = timezone.now()
    if job.status == ExportJob.Status.RUNNING and (job.progress_at or job.created_at) <= now - stalled_after() \
            and fail_stalled(ExportJob.objects.filter(pk=job.pk), now):
        job.refresh_from_db(fields=["status"])  # its worker was killed: say so, not "in progress" for ever
    if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.get_status_display()
        response["Retry-After"] = "2"
        return response
    if job.status == ExportJob.Status.FAILED:
        return _outcome(500, "exception", "The export failed; ask for a new one. (The clinic's server log has the "
                                          "cause.)")
    files = [{"type": o["type"], "count": o["count"], "url": request.build_absolute_uri(
        reverse("fhir:export_file", kwargs={"job": job.external_id, "name": o["file"]}))} for o in job.output]
    response = JsonResponse({
        "transactionTime": job.transaction_time.isoformat(), "request": job.request_url,
        "requiresAccessToken": True, "output": files, "error": []})
    response["Expires"] = http_date(expires_at(job).timestamp())
    return response


@methods("GET")
def export_file(request, job, name):
    try:
        grant, job = _own_job(request, job)
    except FhirAuthError as e:
        return e.response()
    entry = next((o for o in job.output if o["file"] == name), None) if job.status == ExportJob.Status.COMPLETE \
        else None
    path = job_dir(job) / name if entry else None
    if path is None or not path.is_file():
        return _outcome(404, "not-found", f"This export has no file {name!r}.")
    with transaction.atomic(durable=True):
        record(grant_actor(grant, request), AuditAction.FHIR_EXPORT_DOWNLOADED,
               subject=job, details={"client_id": grant.client_id, "file": name, "type": entry["type"],
                                     "count": entry["count"]})
    return FileResponse(open(path, "rb"), content_type=NDJSON)  # noqa: SIM115 (FileResponse closes it)
