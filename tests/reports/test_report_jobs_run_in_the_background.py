"""Background report jobs as staff use them: starting the research export or a whole report's CSV queues a job on
the task worker (django-tasks-db) once the request commits; the job's page shows a progress bar that htmx polls
every 2 s until it is done, then a download link; the file goes only to the person who asked (anyone else: 404);
it is deleted after REPORT_EXPORT_KEEP_DAYS; a post with bad filters queues nothing and says why."""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.reports import jobs, registry
from ketaclinic.reports.base import Column, Report, ReportFilters, Section, Table
from ketaclinic.reports.models import ReportJob
from ketaclinic.reports.research import record_research_consent
from ketaclinic.reports.tasks import run_report_job
from tests.factories import actor, dosed_session, make_rooms

BUILT: list[ReportFilters] = []
READ_FROM: list[str] = []  # where the stand-in's reads would go while it is built


def build(filters: ReportFilters, clinics=None) -> Report:
    """A stand-in report (the real ones are tested on their own): two sections, the filters it was given."""
    from django.db import router

    BUILT.append(filters)
    READ_FROM.append(router.db_for_read(ReportJob))
    return Report(slug="safety", title="Safety", question="?", filters=filters, sections=[
        Section("Adverse events", Table([Column("kind", "Kind"), Column("rate", "Rate", "per 100 sessions")],
                                        [("nausea", 4.25), ("=HYPERLINK(1)", None)])),
        Section("Stops", Table([Column("n", "Sessions stopped")], [(3,)]))])


@pytest.fixture
def stand_in_report(monkeypatch):
    BUILT.clear()
    READ_FROM.clear()
    monkeypatch.setitem(registry.REPORTS, "safety", registry.Entry("safety", "Safety", "?", sys.modules[__name__]
                                                                   .__name__))


def job_urls(job):
    return {name: reverse(f"reports:{name}", kwargs={"job_id": job.external_id})
            for name in ("job", "job_progress", "job_download")}


def start(client, django_capture_on_commit_callbacks, url, data=None):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, data or {})
    assert response.status_code == 302, response.content
    assert len(callbacks) == 1
    job = ReportJob.objects.get()
    assert response["Location"] == reverse("reports:job", kwargs={"job_id": job.external_id})
    return job


@pytest.fixture
def consented(clinic, staff, make_patient):
    rooms = make_rooms(clinic, staff["clinic_admin"])
    for n in range(2):
        p = make_patient()
        dosed_session(p, staff, start=timezone.now() - timedelta(days=5 + n), rooms=rooms)
        record_research_consent(actor=actor(staff["nurse"]), patient=p, data={"decision": "given", "how": "paper"})


@pytest.mark.django_db
def test_the_research_export_runs_on_the_worker_with_a_progress_bar_then_a_download(
        client_for, consented, django_capture_on_commit_callbacks, django_assert_num_queries):
    prescriber = client_for("prescriber")
    page = prescriber.get(reverse("reports:research"))
    assert page.status_code == 200 and b"Consents to research use" in page.content
    job = start(prescriber, django_capture_on_commit_callbacks, reverse("reports:research"))
    assert job.kind == "research_export" and job.status == "queued"
    urls = job_urls(job)
    queued = prescriber.get(urls["job"])
    assert b'hx-trigger="every 2s"' in queued.content and b"<progress" in queued.content
    assert b"Waiting for the background worker" in queued.content
    assert prescriber.get(urls["job_download"]).status_code == 404  # not ready yet

    assert run_report_job.call(job.pk) == "complete"
    job.refresh_from_db()
    assert job.total > 0 and job.done == job.total and job.summary["patients"] == 2
    with django_assert_num_queries(4):  # session, user, their roles (access policy), the job
        fragment = prescriber.get(urls["job_progress"])
    assert b"hx-trigger" not in fragment.content and b"100%" in fragment.content
    assert f'value="{job.total}"'.encode() in fragment.content and urls["job_download"].encode() in fragment.content
    download = prescriber.get(urls["job_download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == 'attachment; filename="research-export.zip"'  # no date in it
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert len(archive.read("patients.csv").decode().splitlines()) == 3
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="re").exclude(
        action="research.consent.recorded").order_by("pk")] == [
        "report.job.started", "research.export.made", "report.job.downloaded"]
    # a second delivery of the same task does nothing
    assert run_report_job.call(job.pk) == "complete"


@pytest.mark.django_db
def test_only_the_person_who_asked_sees_the_job_or_its_file(client_for, consented,
                                                             django_capture_on_commit_callbacks):
    job = start(client_for("prescriber"), django_capture_on_commit_callbacks, reverse("reports:research"))
    run_report_job.call(job.pk)
    other = client_for("compliance")
    for url in job_urls(job).values():
        assert other.get(url).status_code == 404
    assert b"You have not asked for any export yet" in other.get(reverse("reports:research")).content
    assert not AuditEntry.objects.filter(action="report.job.downloaded").exists()


@pytest.mark.django_db
def test_a_whole_report_is_exported_as_csv_with_its_filters(client_for, stand_in_report,
                                                            django_capture_on_commit_callbacks):
    prescriber = client_for("prescriber")
    url = reverse("reports:report_export") + "?start=2026-05-01&end=2026-06-01&route=iv"
    job = start(prescriber, django_capture_on_commit_callbacks, url, {"report": "safety"})
    assert job.params["filters"]["route"] == "iv" and job.params["filters"]["start"] == "2026-05-01"
    assert run_report_job.call(job.pk) == "complete"
    job.refresh_from_db()
    assert (job.done, job.total) == (3, 3)
    assert BUILT == [ReportFilters(start=timezone.datetime(2026, 5, 1).date(),
                                   end=timezone.datetime(2026, 6, 1).date(), route="iv")]
    body = b"".join(prescriber.get(job_urls(job)["job_download"]).streaming_content).decode()
    lines = list(csv.reader(io.StringIO(body)))
    assert lines[0] == ["Safety", "Filters: 2026-05-01 to 2026-06-01; route: iv"]
    assert ["Kind", "Rate (per 100 sessions)"] in lines and ["nausea", "4.2"] in lines  # 4.25 with one decimal
    assert ["'=HYPERLINK(1)", ""] in lines  # a formula is neutralised as every CSV of the app is


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "post", "why"), [
    ("?start=2026-06-01&end=2026-05-01", {"report": "safety"}, b"The last day comes before the first"),
    ("?start=01/05/2026", {"report": "safety"}, b"Enter a valid date"),
    ("?route=oral", {"report": "safety"}, b"Select a valid choice"),
    ("", {"report": "nosuch"}, b"There is no such report"),
])
def test_bad_filters_queue_nothing_and_say_why(client_for, stand_in_report, query, post, why):
    refused = client_for("prescriber").post(reverse("reports:report_export") + query, post)
    assert refused.status_code == 400 and why in refused.content and b"Nothing was queued" in refused.content
    assert not ReportJob.objects.exists()
    assert not AuditEntry.objects.filter(action="report.job.started").exists()


@pytest.mark.django_db
def test_a_report_one_may_not_open_cannot_be_exported(client_for, stand_in_report):
    assert client_for("front_desk").post(reverse("reports:report_export"), {"report": "safety"}).status_code == 403
    assert not ReportJob.objects.exists()


@pytest.mark.django_db
def test_files_are_deleted_after_the_keep_time(client_for, consented, django_capture_on_commit_callbacks,
                                               export_dir):
    prescriber = client_for("prescriber")
    job = start(prescriber, django_capture_on_commit_callbacks, reverse("reports:research"))
    run_report_job.call(job.pk)
    job.refresh_from_db()
    assert jobs.job_file(job).is_file() and oct(jobs.job_file(job).stat().st_mode & 0o777) == "0o600"
    assert jobs.prune_jobs(timezone.now() + timedelta(days=6)) == 0
    with override_settings(REPORT_EXPORT_KEEP_DAYS=7):
        assert jobs.prune_jobs(timezone.now() + timedelta(days=7, minutes=1)) == 1
    job.refresh_from_db()
    assert job.status == "expired" and not jobs.job_dir(job).exists()
    gone = prescriber.get(job_urls(job)["job_download"])
    assert gone.status_code == 410 and b"expired and was deleted" in gone.content
    assert b"expired" in prescriber.get(job_urls(job)["job_progress"]).content


def test_the_db_worker_runs_a_report_job(transactional_db, client_for, stand_in_report):
    """Committed for real: the post enqueues the task on django-tasks-db and ``manage.py db_worker --batch`` runs
    it (a report CSV: it writes no research consent row, which a transactional test's flush could not delete)."""
    prescriber = client_for("prescriber")
    assert prescriber.post(reverse("reports:report_export"), {"report": "safety"}).status_code == 302
    assert ReportJob.objects.get().status == "queued"
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    job = ReportJob.objects.get()
    assert job.status == "complete" and job.done == job.total == 3


class Broken(registry.Entry):
    def build(self, filters):
        raise ValueError("the report could not be counted")


@pytest.mark.django_db
def test_a_job_that_fails_says_why_and_leaves_no_file(client_for, monkeypatch, django_capture_on_commit_callbacks,
                                                      export_dir):
    monkeypatch.setitem(registry.REPORTS, "safety", Broken("safety", "Safety", "?", "unused"))
    prescriber = client_for("prescriber")
    job = start(prescriber, django_capture_on_commit_callbacks, reverse("reports:report_export"), {"report": "safety"})
    with pytest.raises(ValueError):
        run_report_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "could not be counted" in job.error and job.finished_at
    assert not jobs.job_dir(job).exists()
    fragment = prescriber.get(job_urls(job)["job_progress"])
    assert b"It failed" in fragment.content and b"hx-trigger" not in fragment.content
    assert prescriber.get(job_urls(job)["job_download"]).status_code == 404


def test_a_report_job_reads_from_the_replica_and_writes_its_progress_on_the_primary(
        client_for, stand_in_report, django_capture_on_commit_callbacks, monkeypatch):
    from django.db import connections

    from ketaclinic.dbrouting import REPLICA

    job = start(client_for("prescriber"), django_capture_on_commit_callbacks, reverse("reports:report_export"),
                {"report": "safety"})
    monkeypatch.setitem(connections.databases, REPLICA, dict(connections.databases["default"]))
    assert run_report_job.call(job.pk) == "complete"
    assert READ_FROM == [REPLICA]  # built inside on_replica, as the report's page builds it
    job.refresh_from_db()
    assert job.status == ReportJob.Status.COMPLETE and (job.done, job.total) == (3, 3)  # written on the primary
