"""Bulk Data $export as a backend client uses it: kick-off (202 + Content-Location), polling (202 + X-Progress, then
200 with the manifest), NDJSON files per type fetched with the same client's token, _type and _since, cancelling,
and the limits: another client gets nothing of it, another clinic's data never appears, scopes narrow the types,
a staff session cookie gets 401. The export runs on the real task worker (django-tasks-db's db_worker, or the
task's own .call where the test transaction is kept)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.fhir.models import ExportJob
from ketaclinic.fhir.tasks import run_export_job
from ketaclinic.measures import services as measures
from ketaclinic.patients import services as patients
from tests.fhir.conftest import bearer

pytestmark = pytest.mark.usefixtures("export_dir")

PHQ9 = {"q1": 2, "q2": 2, "q3": 1, "q4": 1, "q5": 0, "q6": 1, "q7": 1, "q8": 0, "q9": 0}


def chart(patient, actor):
    """A patient's record through the app's services: a diagnosis, a desk weight and height, a PHQ-9."""
    patients.add_diagnosis(actor=actor, patient=patient, code="F33.2")
    patients.record_measurement(actor=actor, patient=patient, unit="metric", weight=Decimal("71.5"),
                                height=Decimal("172"))
    measures.record_administration(actor=actor, patient=patient, scale="phq9", answers=PHQ9)


@pytest.fixture
def charted(patient, actor_for):
    chart(patient, actor_for("nurse"))
    return patient


def kick_off(client, token, url="/fhir/R4/$export", **params):
    return client.get(url, params, HTTP_PREFER="respond-async", **bearer(token))


def run_queued(django_capture_on_commit_callbacks, response_fn):
    """Send a kick-off, keep the job's enqueue (the test transaction never commits), and run the job on the task
    (its own function, as the worker would)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = response_fn()
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1
    job = ExportJob.objects.get(external_id=response["Content-Location"].rsplit("/", 1)[1])
    assert run_export_job.call(job.pk) == "complete"
    return response


def manifest(client, token, response):
    status = client.get(response["Content-Location"], **bearer(token))
    assert status.status_code == 200, status.content
    return status.json()


def lines(client, token, url) -> list[dict]:
    r = client.get(url, **bearer(token))
    assert r.status_code == 200 and r["Content-Type"] == "application/fhir+ndjson"
    return [json.loads(line) for line in b"".join(r.streaming_content).decode().splitlines()]


@pytest.mark.django_db
def test_kick_off_poll_and_download_a_system_export(client, clinic, charted, fhir_token,
                                                    django_capture_on_commit_callbacks):
    token = fhir_token(clinic, "system/*.rs")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = kick_off(client, token, _type="Patient,Condition,Observation")
    assert response.status_code == 202 and response["Content-Location"].startswith(
        "http://testserver/fhir/R4/$export-status/")
    assert len(callbacks) == 1
    # queued: the status says so
    waiting = client.get(response["Content-Location"], **bearer(token))
    assert waiting.status_code == 202 and waiting["X-Progress"] and waiting["Retry-After"]
    job = ExportJob.objects.get()
    run_export_job.call(job.pk)
    body = manifest(client, token, response)
    assert body["requiresAccessToken"] is True and body["request"].endswith("_type=Patient%2CCondition%2CObservation")
    by_type = {o["type"]: o for o in body["output"]}
    assert set(by_type) == {"Patient", "Condition", "Observation"}
    (pat,) = lines(client, token, by_type["Patient"]["url"])
    assert pat["resourceType"] == "Patient" and pat["id"] == str(charted.external_id)
    conditions = lines(client, token, by_type["Condition"]["url"])
    assert [c["code"]["coding"][0]["code"] for c in conditions] == ["F33.2"]
    observations = lines(client, token, by_type["Observation"]["url"])
    codes = {c["code"] for o in observations for c in o["code"]["coding"]}
    assert {"29463-7", "8302-2", "44261-6"} <= codes  # weight, height, PHQ-9 total
    assert by_type["Observation"]["count"] == len(observations)
    assert AuditEntry.objects.filter(action="fhir.export.started").count() == 1
    assert AuditEntry.objects.filter(action="fhir.export.completed").count() == 1
    assert AuditEntry.objects.filter(action="fhir.export.downloaded").count() == 3


@pytest.mark.django_db
def test_files_are_served_only_to_the_client_that_asked(client, clinic, charted, fhir_token,
                                                        django_capture_on_commit_callbacks):
    token, other = fhir_token(clinic), fhir_token(clinic)
    response = run_queued(django_capture_on_commit_callbacks, lambda: kick_off(client, token, _type="Patient"))
    url = manifest(client, token, response)["output"][0]["url"]
    assert client.get(response["Content-Location"], **bearer(other)).status_code == 404
    assert client.get(url, **bearer(other)).status_code == 404
    assert client.get(url).status_code == 401


@pytest.mark.django_db
def test_a_clinics_export_holds_none_of_another_clinics_patients(client, clinic, charted, fhir_token, actor_for,
                                                                 django_capture_on_commit_callbacks):
    from ketaclinic.clinic.models import Clinic

    elsewhere = Clinic.objects.create(name="Other Clinic", time_zone=clinic.time_zone)
    stranger = patients.register_patient(actor=actor_for("front_desk"), clinic=elsewhere, confirm_duplicate=True,
                                         data={"legal_given_name": "Sam", "legal_family_name": "Elsewhere",
                                               "date_of_birth": date(1970, 3, 1),
                                               "sex_at_birth": "male"})
    chart(stranger, actor_for("nurse"))
    token = fhir_token(elsewhere)
    response = run_queued(django_capture_on_commit_callbacks,
                          lambda: kick_off(client, token, "/fhir/R4/Patient/$export"))
    body = manifest(client, token, response)
    exported = [r for o in body["output"] for r in lines(client, token, o["url"])]
    ids = {r["id"] for r in exported if r["resourceType"] == "Patient"}
    assert ids == {str(stranger.external_id)}
    refs = set(re.findall(r"Patient/[0-9a-f-]{36}", json.dumps(exported)))
    assert refs == {f"Patient/{stranger.external_id}"}
    assert str(charted.external_id) not in json.dumps(exported)


@pytest.mark.django_db
def test_scopes_decide_the_types(client, clinic, charted, fhir_token, django_capture_on_commit_callbacks):
    token = fhir_token(clinic, "system/Observation.rs")
    refused = kick_off(client, token, _type="Patient,Observation")
    assert refused.status_code == 403 and "Patient" in refused.json()["issue"][0]["diagnostics"]
    response = run_queued(django_capture_on_commit_callbacks, lambda: kick_off(client, token))
    assert {o["type"] for o in manifest(client, token, response)["output"]} == {"Observation"}


@pytest.mark.django_db
@pytest.mark.parametrize("params, status, says", [
    ({"_type": "Nonsense"}, 400, "Nonsense"),
    ({"_since": "2026-13-01"}, 400, "instant"),
    ({"_since": "2026-01-01T00:00:00"}, 400, "time zone"),
    ({"_outputFormat": "text/csv"}, 400, "ndjson"),
    ({"_typeFilter": "Observation?code=1"}, 400, "_typeFilter"),
])
def test_bad_parameters_get_an_operation_outcome(client, clinic, fhir_token, params, status, says):
    response = kick_off(client, fhir_token(clinic), **params)
    assert response.status_code == status and response["Content-Type"] == "application/fhir+json"
    assert says in response.json()["issue"][0]["diagnostics"]
    assert not ExportJob.objects.exists()


@pytest.mark.django_db
def test_kick_off_needs_respond_async_and_a_token_not_a_session(client, client_for, clinic, fhir_token):
    r = client.get("/fhir/R4/$export", **bearer(fhir_token(clinic)))
    assert r.status_code == 400 and "respond-async" in r.json()["issue"][0]["diagnostics"]
    staff = client_for("clinic_admin")
    for url in ("/fhir/R4/$export", "/fhir/R4/Patient/$export", "/fhir/R4/Group/all-patients/$export"):
        r = staff.get(url, HTTP_PREFER="respond-async")
        assert r.status_code == 401 and r["Content-Type"] == "application/fhir+json"
        assert "staff sign-in does not open it" in r.json()["issue"][0]["diagnostics"]
    assert not ExportJob.objects.exists()


@pytest.mark.django_db
def test_group_export_and_an_unknown_group(client, clinic, charted, make_patient, fhir_token,
                                           django_capture_on_commit_callbacks):
    make_patient(legal_given_name="Second")
    token = fhir_token(clinic)
    assert kick_off(client, token, "/fhir/R4/Group/nope/$export").status_code == 404
    response = run_queued(django_capture_on_commit_callbacks,
                          lambda: kick_off(client, token, "/fhir/R4/Group/all-patients/$export", _type="Patient"))
    (out,) = manifest(client, token, response)["output"]
    assert out["count"] == 2
    response = run_queued(django_capture_on_commit_callbacks,
                          lambda: kick_off(client, token, "/fhir/R4/Group/active-treatment/$export",
                                           _type="Patient"))
    assert manifest(client, token, response)["output"] == []  # no one holds an active order


@pytest.mark.django_db
def test_since_leaves_out_scores_recorded_before_it(client, clinic, charted, actor_for, fhir_token, clock,
                                                   django_capture_on_commit_callbacks):
    clock.shift(timedelta(hours=1))
    cut = timezone.now()
    clock.shift(timedelta(minutes=5))
    measures.record_administration(actor=actor_for("nurse"), patient=charted, scale="gad7",
                                   answers={f"q{i}": 1 for i in range(1, 8)})
    token = fhir_token(clinic)
    response = run_queued(django_capture_on_commit_callbacks, lambda: kick_off(
        client, token, _type="QuestionnaireResponse", _since=cut.isoformat()))
    (out,) = manifest(client, token, response)["output"]
    (qr,) = lines(client, token, out["url"])
    assert "gad" in qr["questionnaire"].lower()


@pytest.mark.django_db
def test_delete_cancels_and_removes_the_files(client, clinic, charted, fhir_token, export_dir,
                                              django_capture_on_commit_callbacks):
    token = fhir_token(clinic)
    response = run_queued(django_capture_on_commit_callbacks, lambda: kick_off(client, token, _type="Patient"))
    job = ExportJob.objects.get()
    assert any((export_dir / str(job.external_id)).iterdir())
    assert client.delete(response["Content-Location"], **bearer(token)).status_code == 202
    assert client.get(response["Content-Location"], **bearer(token)).status_code == 404
    assert not (export_dir / str(job.external_id)).exists()
    assert AuditEntry.objects.filter(action="fhir.export.cancelled").count() == 1


@pytest.mark.django_db
def test_a_job_cancelled_before_the_worker_starts_writes_nothing(client, clinic, charted, fhir_token, export_dir,
                                                                 django_capture_on_commit_callbacks):
    token = fhir_token(clinic)
    with django_capture_on_commit_callbacks(execute=False):
        response = kick_off(client, token)
    client.delete(response["Content-Location"], **bearer(token))
    assert run_export_job.call(ExportJob.objects.get().pk) == "cancelled"
    assert not export_dir.exists() or not any(export_dir.iterdir())


def test_the_db_worker_runs_the_export(transactional_db, client, clinic, charted, fhir_token):
    """Committed for real: the kick-off enqueues the task on django-tasks-db and ``manage.py db_worker --batch``
    runs it."""
    token = fhir_token(clinic)
    response = kick_off(client, token, _type="Patient,Condition")
    assert client.get(response["Content-Location"], **bearer(token)).status_code == 202
    call_command("db_worker", "--batch", "--no-startup-delay")
    body = manifest(client, token, response)
    assert {o["type"]: o["count"] for o in body["output"]} == {"Patient": 1, "Condition": 1}


@pytest.mark.django_db
def test_export_files_are_private_and_deleted_after_the_keep_time(client, clinic, charted, fhir_token, export_dir,
                                                                  django_capture_on_commit_callbacks):
    import stat

    from ketaclinic.fhir import bulk

    token = fhir_token(clinic, "system/*.rs")
    response = run_queued(django_capture_on_commit_callbacks, lambda: kick_off(client, token, _type="Patient"))
    status = client.get(response["Content-Location"], **bearer(token))
    assert status.status_code == 200 and status["Expires"]
    job = ExportJob.objects.get()
    folder = export_dir / str(job.external_id)
    (ndjson,) = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(export_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(ndjson.stat().st_mode) == 0o600
    with override_settings(FHIR_EXPORT_KEEP_HOURS=24):
        assert bulk.prune_exports(now=job.finished_at + timedelta(hours=23)) == 0
        assert ndjson.is_file()
        call_command("prune_fhir_exports", stdout=open(folder.parent.parent / "out.txt", "w"))  # noqa: SIM115
        assert ndjson.is_file()  # the command prunes as of now: the job finished just now
        assert bulk.prune_exports(now=job.finished_at + timedelta(hours=24, minutes=1)) == 1
    assert not folder.exists()
    gone = client.get(response["Content-Location"], **bearer(token))
    assert gone.status_code == 404 and "expired" in gone.json()["issue"][0]["diagnostics"]


def test_the_export_folder_defaults_to_the_data_dir_not_the_code_checkout(settings):
    from ketaclinic.fhir import bulk

    with override_settings(FHIR_EXPORT_DIR=None):
        assert bulk.export_dir() == settings.DATA_DIR / "fhir-export"
        assert settings.BASE_DIR not in bulk.export_dir().parents


@pytest.mark.django_db
def test_revoking_a_client_deletes_its_export_files(client, clinic, charted, fhir_client, staff, export_dir,
                                                    django_capture_on_commit_callbacks):
    from ketaclinic.audit.services import Actor
    from ketaclinic.fhir import services

    c = fhir_client(clinic, "system/*.rs")
    token = c.token()
    run_queued(django_capture_on_commit_callbacks, lambda: kick_off(client, token, _type="Patient"))
    folder = export_dir / str(ExportJob.objects.get().external_id)
    assert any(folder.iterdir())
    services.revoke_client(actor=Actor(user=staff["clinic_admin"], roles=frozenset({"clinic_admin"})),
                           client=c.client)
    assert not folder.exists() and ExportJob.objects.get().status == "expired"


@pytest.mark.django_db
def test_a_group_export_selects_the_groups_patients_in_the_database_not_a_list(
        client, clinic, charted, fhir_token, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ketaclinic.treatments.models import TreatmentOrder

    token = fhir_token(clinic)
    with django_capture_on_commit_callbacks(execute=False):
        response = kick_off(client, token, "/fhir/R4/Group/active-treatment/$export", _type="Patient,Condition")
    assert response.status_code == 202
    job = ExportJob.objects.get()
    with CaptureQueriesContext(connection) as queries:
        assert run_export_job.call(job.pk) == "complete"
    orders = TreatmentOrder._meta.db_table
    # a SELECT, or on PostgreSQL a server-side cursor's DECLARE ... CURSOR FOR SELECT (the export streams)
    reads = [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"].upper() and orders in q["sql"]]
    assert reads, "the group's orders are never read"
    # the orders are read only inside the Patient and Condition queries (a subquery), never on their own
    assert all(("patients_patient" in sql or "diagnosis" in sql) and sql.count("SELECT") > 1 for sql in reads), reads


@pytest.mark.django_db
def test_a_job_another_worker_claimed_first_is_not_run_twice(client, clinic, charted, fhir_token, export_dir,
                                                             django_capture_on_commit_callbacks):
    from django.db import connection

    token = fhir_token(clinic)
    with django_capture_on_commit_callbacks(execute=False):
        kick_off(client, token, _type="Patient")
    job = ExportJob.objects.get()

    def other_worker_first(execute, sql, params, many, context):
        # another worker's claim lands between this worker's read of the job and its own claim
        if sql.lstrip().upper().startswith("UPDATE") and ExportJob._meta.db_table in sql and "running" in params:
            execute(f'UPDATE "{ExportJob._meta.db_table}" SET "status" = %s WHERE "id" = %s', ["running", job.pk],
                    False, context)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_worker_first):
        assert run_export_job.call(job.pk) == "running"
    assert not (export_dir / str(job.external_id)).exists()
    assert not AuditEntry.objects.filter(action="fhir.export.completed").exists()
