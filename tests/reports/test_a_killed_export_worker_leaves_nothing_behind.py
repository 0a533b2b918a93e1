"""A report job whose worker was killed (SIGKILL, the machine stopped) is not "running" for ever: the next prune
(at the start of every job, and ``manage.py prune_report_exports``) turns it failed once REPORT_JOB_RUNNING_HOURS
have passed since a worker took it, saying why, and the research export's fixed patient set
(``ResearchExportMember`` rows, keyed by the job) goes with it; a job still within its time keeps its rows."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ketaclinic.reports import jobs
from ketaclinic.reports.models import ReportJob, ResearchExportMember
from ketaclinic.reports.tasks import run_report_job
from tests.factories import actor

pytestmark = pytest.mark.django_db


def test_the_worker_fixes_the_patient_set_under_the_jobs_id_and_removes_it_when_done(two_consented, staff, clinic,
                                                                                       monkeypatch):
    job = jobs.start_research_export(actor=actor(staff["prescriber"]), clinic=clinic)
    seen = []
    progress = jobs._progress

    def watching(job_pk):
        report = progress(job_pk)

        def step(done, total):
            seen.append(set(ResearchExportMember.objects.values_list("run", "patient_id")))
            report(done, total)
        return step

    monkeypatch.setattr(jobs, "_progress", watching)
    assert run_report_job.call(job.pk) == "complete"
    assert seen and seen[0] == {(job.external_id, p.pk) for p in two_consented}  # while it wrote
    assert not ResearchExportMember.objects.exists()  # and after
    job.refresh_from_db()
    assert job.started_at is not None and job.started_at <= job.finished_at


def _left_running(staff, clinic, people, *, taken_ago: timedelta) -> ReportJob:
    """The state a killed worker leaves: the job taken and its patient set written, and nothing after (a killed
    process runs no ``finally``, so no service can reach this state; it is written as the worker left it)."""
    job = jobs.start_research_export(actor=actor(staff["prescriber"]), clinic=clinic)
    ReportJob.objects.filter(pk=job.pk).update(status=ReportJob.Status.RUNNING, started_at=timezone.now() - taken_ago)
    ResearchExportMember.objects.bulk_create(
        [ResearchExportMember(run=job.external_id, patient=p, rank=n) for n, p in enumerate(people)])
    return job


def test_a_job_left_running_past_the_limit_fails_and_its_patient_set_goes(two_consented, staff, clinic):
    dead = _left_running(staff, clinic, two_consented, taken_ago=timedelta(hours=jobs.RUNNING_HOURS, minutes=1))
    alive = _left_running(staff, clinic, two_consented, taken_ago=timedelta(hours=jobs.RUNNING_HOURS - 1))
    jobs.prune_jobs()
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == "failed" and dead.finished_at is not None
    assert "worker stopped" in dead.error and "24 hours" in dead.error and "Ask for the file again" in dead.error
    assert alive.status == "running"
    assert set(ResearchExportMember.objects.values_list("run", flat=True)) == {alive.external_id}


def test_the_limit_is_a_setting(two_consented, staff, clinic):
    job = _left_running(staff, clinic, two_consented, taken_ago=timedelta(hours=3))
    with override_settings(REPORT_JOB_RUNNING_HOURS=2):
        jobs.prune_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "2 hours" in job.error and not ResearchExportMember.objects.exists()


def test_the_next_job_prunes_what_a_killed_one_left(two_consented, staff, clinic):
    dead = _left_running(staff, clinic, two_consented, taken_ago=timedelta(days=2))
    later = jobs.start_research_export(actor=actor(staff["prescriber"]), clinic=clinic)
    assert run_report_job.call(later.pk) == "complete"
    dead.refresh_from_db()
    assert dead.status == "failed" and not ResearchExportMember.objects.exists()


def test_a_job_taken_before_started_at_was_kept_counts_from_when_it_was_asked_for(two_consented, staff, clinic):
    job = _left_running(staff, clinic, two_consented, taken_ago=timedelta(0))
    ReportJob.objects.filter(pk=job.pk).update(started_at=None, created_at=timezone.now() - timedelta(days=2))
    ResearchExportMember.objects.create(run=uuid.uuid4(), patient=two_consented[0], rank=0)  # an older killed export's
    jobs.prune_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and not ResearchExportMember.objects.exists()


def test_a_slow_job_a_prune_took_for_dead_is_not_completed_after(two_consented, staff, clinic, monkeypatch):
    job = jobs.start_research_export(actor=actor(staff["prescriber"]), clinic=clinic)
    progress = jobs._progress

    def prune_meanwhile(job_pk):
        report = progress(job_pk)

        def step(done, total):
            jobs.prune_jobs(now=timezone.now() + timedelta(hours=jobs.RUNNING_HOURS, minutes=1))
            report(done, total)
        return step

    monkeypatch.setattr(jobs, "_progress", prune_meanwhile)
    assert run_report_job.call(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and not job.file_name and not jobs.job_dir(job).exists()
    assert not ResearchExportMember.objects.exists()
