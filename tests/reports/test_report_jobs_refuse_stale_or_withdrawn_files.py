"""A finished export is not served for ever: past REPORT_EXPORT_KEEP_DAYS it is refused (410) and deleted even if
no prune has run, and ``manage.py prune_report_exports`` deletes expired files; a research export is refused and
deleted once any patient refused or withdrew research consent after it was asked for; a file is served only
while its requester may still open the report it holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.reports import jobs
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.models import ReportJob
from ketaclinic.reports.research import record_research_consent
from ketaclinic.reports.tasks import run_report_job
from tests.factories import actor, back_at

pytestmark = pytest.mark.django_db


def research_export(staff, clinic) -> ReportJob:
    job = jobs.start_research_export(actor=actor(staff["prescriber"]), clinic=clinic)
    assert run_report_job.call(job.pk) == "complete"
    job.refresh_from_db()
    return job


def download_url(job):
    return reverse("reports:job_download", kwargs={"job_id": job.external_id})


def test_a_file_past_its_keep_time_is_refused_and_deleted_without_a_prune(two_consented, staff, clinic,
                                                                          client_for):
    job = research_export(staff, clinic)
    assert jobs.job_file(job).is_file()
    with back_at(timezone.now() + timedelta(days=7, minutes=1)):
        response = client_for("prescriber").get(download_url(job))
    assert response.status_code == 410 and b"expired and was deleted" in response.content
    job.refresh_from_db()
    assert job.status == "expired" and not jobs.job_dir(job).exists()


def test_the_prune_command_deletes_expired_files(two_consented, staff, clinic, capsys):
    job = research_export(staff, clinic)
    call_command("prune_report_exports")
    assert jobs.job_file(job).is_file()  # still within its keep time
    with back_at(timezone.now() + timedelta(days=8)):
        call_command("prune_report_exports")
    assert "Pruned 1 expired report export(s)" in capsys.readouterr().out
    job.refresh_from_db()
    assert job.status == "expired" and not jobs.job_dir(job).exists()


@pytest.mark.parametrize("decision", ["withdrawn", "refused"])
def test_a_consent_withdrawn_after_the_export_was_asked_for_revokes_it(two_consented, staff, clinic, client_for,
                                                                         make_patient, decision):
    job = research_export(staff, clinic)
    prescriber = client_for("prescriber")
    # a new consent ("given") does not revoke it: that patient is simply not in this export
    record_research_consent(actor=actor(staff["nurse"]), patient=make_patient(),
                            data={"decision": "given", "how": "paper"})
    assert prescriber.get(download_url(job)).status_code == 200
    patient = two_consented[0] if decision == "withdrawn" else make_patient()
    record_research_consent(actor=actor(staff["nurse"]), patient=patient, data={"decision": decision, "how": "paper"})
    job.refresh_from_db()
    assert job.status == "revoked" and not jobs.job_dir(job).exists()  # deleted at once, not at the next download
    (revoked,) = AuditEntry.objects.filter(action="research.export.revoked")  # the deletion is on the record
    assert revoked.subject_id == str(job.external_id) and revoked.actor_id == staff["nurse"].pk
    response = prescriber.get(download_url(job))
    assert response.status_code == 410 and b"refused or withdrew research consent" in response.content
    job.refresh_from_db()
    assert job.status == "revoked" and not jobs.job_dir(job).exists()
    assert b"ask for a new export" in prescriber.get(
        reverse("reports:job_progress", kwargs={"job_id": job.external_id})).content


def test_an_export_being_written_when_a_patient_withdraws_is_deleted_as_it_finishes(two_consented, staff, clinic):
    job = jobs.start_research_export(actor=actor(staff["prescriber"]), clinic=clinic)  # asked for, not yet written
    record_research_consent(actor=actor(staff["nurse"]), patient=two_consented[0],
                            data={"decision": "withdrawn", "how": "paper"})
    assert run_report_job.call(job.pk) == "revoked"
    job.refresh_from_db()
    assert job.status == "revoked" and not jobs.job_dir(job).exists()
    (revoked,) = AuditEntry.objects.filter(action="research.export.revoked")  # by the worker, on the record
    assert revoked.subject_id == str(job.external_id) and revoked.actor_id is None
    jobs.revoke_research_exports(actor=actor(staff["nurse"]), decided_at=timezone.now(), clinic_id=clinic.pk)
    assert AuditEntry.objects.filter(action="research.export.revoked").count() == 1  # revoked once, said once
    later = research_export(staff, clinic)  # asked for after the withdrawal: written without that patient
    assert later.status == "complete" and later.summary["patients"] == 1


def test_a_file_is_served_only_while_its_requester_may_open_the_report(clinic, staff, client_for):
    """A nurse's money report (started through the service, as a role change after the start would leave it):
    the nurse may not open the money report, so the download is refused."""
    job = jobs.start_report_csv(actor=actor(staff["nurse"]), clinic=clinic, slug="money",
                                filters=ReportFilters())
    assert run_report_job.call(job.pk) == "complete"
    assert client_for("nurse").get(download_url(job)).status_code == 403
    job.refresh_from_db()
    assert jobs.open_download(actor=Actor(user=staff["nurse"], roles=staff["nurse"].role_set()), job=job).is_file()
