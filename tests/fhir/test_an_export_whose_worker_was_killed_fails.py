"""A bulk export whose worker was killed (SIGKILL, the machine stopped) does not answer "in progress" for ever: once
it has reported no progress for FHIR_EXPORT_STALLED_HOURS its status URL answers 500 with an OperationOutcome and
the job is failed, saying why; the prune does the same for every such job, and leaves alone an export that is
still reporting progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ketaclinic.fhir import bulk
from ketaclinic.fhir.models import ExportJob
from tests.fhir.conftest import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_dir")]


def taken_by_a_worker(client, backend, django_capture_on_commit_callbacks) -> tuple[ExportJob, str]:
    """A kick-off, and the job as a worker that was then killed leaves it: claimed, its progress reported at that
    moment, and nothing after (a killed process runs no error handling, so no service reaches this state; it is
    written as the worker's claim writes it)."""
    with django_capture_on_commit_callbacks(execute=False):
        response = client.get("/fhir/R4/$export", {"_type": "Patient"}, HTTP_PREFER="respond-async",
                              **bearer(backend.token()))
    assert response.status_code == 202, response.content
    job = ExportJob.objects.get(external_id=response["Content-Location"].rsplit("/", 1)[1])
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, progress="Patient (1 of 1)",
                                               progress_at=timezone.now())
    return job, response["Content-Location"]


def test_the_status_url_says_the_export_stopped_once_no_progress_came_for_the_limit(
        client, clinic, fhir_client, clock, django_capture_on_commit_callbacks):
    backend = fhir_client(clinic)
    job, status_url = taken_by_a_worker(client, backend, django_capture_on_commit_callbacks)
    clock.shift(timedelta(hours=bulk.STALLED_HOURS) - timedelta(minutes=1))
    polled = client.get(status_url, **bearer(backend.token()))
    assert polled.status_code == 202 and polled["X-Progress"] == "Patient (1 of 1)"
    clock.shift(timedelta(minutes=2))
    polled = client.get(status_url, **bearer(backend.token()))
    assert polled.status_code == 500 and polled.json()["resourceType"] == "OperationOutcome"
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "no progress for 1 hour " in job.error and "Start the export again" in job.error


def test_the_prune_fails_stalled_exports_and_leaves_running_ones(client, clinic, fhir_client, clock,
                                                                  django_capture_on_commit_callbacks):
    backend = fhir_client(clinic)
    stalled, _ = taken_by_a_worker(client, backend, django_capture_on_commit_callbacks)
    clock.shift(timedelta(hours=3))
    alive, _ = taken_by_a_worker(client, backend, django_capture_on_commit_callbacks)
    with override_settings(FHIR_EXPORT_STALLED_HOURS=2):
        bulk.prune_exports()
    stalled.refresh_from_db()
    alive.refresh_from_db()
    assert stalled.status == "failed" and "no progress for 2 hours" in stalled.error
    assert alive.status == "running"


def test_an_export_taken_before_progress_was_kept_counts_from_when_it_was_asked_for(
        client, clinic, fhir_client, clock, django_capture_on_commit_callbacks):
    backend = fhir_client(clinic)
    job, _ = taken_by_a_worker(client, backend, django_capture_on_commit_callbacks)
    ExportJob.objects.filter(pk=job.pk).update(progress_at=None)
    clock.shift(timedelta(hours=bulk.STALLED_HOURS, minutes=1))
    bulk.prune_exports()
    job.refresh_from_db()
    assert job.status == "failed"
