"""A bulk export of a large clinic cannot draw every signed PDF it names (about a third of a second each, days
for a clinic's history): it names each document's Binary by URL without drawing it (no size or hash yet); the
worker draws those copies behind it, and a Binary read that comes first draws its own. A record that changes
before its copy was drawn can no longer be drawn as the export saw it: its Binary answers 410 and the
DocumentReference names the new copy (entered in error: the last copy drawn, or none)."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest

from ketaclinic.audit.models import AuditEntry
from ketaclinic.billing import services as billing
from ketaclinic.fhir import validate
from ketaclinic.fhir.models import ExportJob, StoredPdf
from ketaclinic.fhir.tasks import draw_reserved_documents, run_export_job
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.models import RemsForm
from tests import factories as f
from tests.fhir import module_clinic
from tests.fhir.conftest import bearer
from tests.treatments.factories import ESK

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_dir")]
BASE = "/fhir/R4/"


#: Each test's part of the module's world: the test clinic with the ``documents`` records, built once for the
#: module inside rolled_back_world (tests/fhir/module_clinic.py), under the names of the conftest fixtures.
built, here, clinic, staff, patient, documents = (module_clinic.built_with_documents, module_clinic.here,
                                                  module_clinic.clinic, module_clinic.staff, module_clinic.patient,
                                                  module_clinic.documents)


@pytest.fixture
def token(fhir_token, clinic):
    return fhir_token(clinic)


def export_documents(client, token, capture) -> dict[str, dict]:
    """A system export of DocumentReference run by the worker's task (what it enqueues behind it is not run); the
    PDFs' resources by id."""
    with capture(execute=False):
        kick = client.get(BASE + "$export", {"_type": "DocumentReference"}, **bearer(token),
                          HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json")
    assert kick.status_code == 202, kick.content
    job = ExportJob.objects.get(external_id=kick["Content-Location"].rsplit("/", 1)[1])
    with capture(execute=False):
        assert run_export_job.call(job.pk) == "complete"
    manifest = json.loads(client.get(kick["Content-Location"], **bearer(token)).content)
    (item,) = manifest["output"]
    ndjson = b"".join(client.get(item["url"], **bearer(token)).streaming_content).decode()
    resources = [json.loads(line) for line in ndjson.splitlines()]
    return {r["id"]: r for r in resources if r["type"]["coding"][0]["code"] != "session-note"}


def attachment(resource: dict) -> dict:
    (content,) = resource["content"]
    return content["attachment"]


def fetch(client, token, url: str):
    return client.get(url.removeprefix("http://testserver"), **bearer(token), HTTP_ACCEPT="application/pdf")


def test_the_export_draws_nothing_and_the_first_binary_read_draws_the_copy_it_named(
        client, documents, token, django_capture_on_commit_callbacks):
    exported = export_documents(client, token, django_capture_on_commit_callbacks)
    assert len(exported) == 4  # two session records, the superbill, the REMS form
    assert StoredPdf.objects.count() == 4 and not StoredPdf.objects.filter(content__isnull=False).exists()
    for resource in exported.values():
        named = attachment(resource)
        assert "size" not in named and "hash" not in named and "data" not in named
        assert validate.problems(resource) == [], validate.problems(resource)

    for doc_id, resource in exported.items():
        url = attachment(resource)["url"]
        first = fetch(client, token, url)
        assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
        assert first.content.startswith(b"%PDF")
        assert fetch(client, token, url).content == first.content  # kept: the same bytes every time
        now = json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content)
        assert attachment(now)["url"] == url
        assert attachment(now)["size"] == len(first.content)
        assert attachment(now)["hash"] == base64.b64encode(hashlib.sha1(first.content).digest()).decode()
    assert StoredPdf.objects.filter(content__isnull=True).count() == 0


def test_a_read_that_meets_a_copy_the_export_named_draws_it_under_the_same_id(
        client, documents, token, django_capture_on_commit_callbacks):
    exported = export_documents(client, token, django_capture_on_commit_callbacks)
    doc_id = f"{documents['invoice'].external_id}-superbill"
    read = json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content)
    assert attachment(read)["url"] == attachment(exported[doc_id])["url"] and attachment(read)["size"] > 0
    assert fetch(client, token, attachment(read)["url"]).status_code == 200
    assert StoredPdf.objects.count() == 4


def test_a_record_changed_before_its_copy_was_drawn_answers_410_and_names_the_new_copy(
        client, documents, patient, staff, token, django_capture_on_commit_callbacks):
    start = f.open_day(patient.clinic, -4)  # 10:00, four of the clinic's working days ago
    esk = f.dosed_session(patient, staff, rooms=documents["rooms"], data=ESK, end="discharged", start=start)
    assert RemsForm.objects.get(session=esk).status == RemsForm.Status.COMPLETE
    doc_id = f"{esk.external_id}-rems"
    named = attachment(export_documents(client, token, django_capture_on_commit_callbacks)[doc_id])["url"]
    was = RemsForm.objects.get(session=esk).dissociation
    treatments.update_rems(actor=f.actor(staff["nurse"]), session=esk, data={"dissociation": "no" if was else "yes"})

    gone = fetch(client, token, named)
    assert gone.status_code == 410
    outcome = json.loads(gone.content)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "deleted"
    assert "read the DocumentReference again" in outcome["issue"][0]["diagnostics"]
    audited = AuditEntry.objects.filter(action="fhir.read", details__path__endswith=named.rsplit("/", 1)[1]).get()
    assert audited.details["outcome"] == "gone" and audited.details["count"] == 0 and audited.patient == patient
    assert not StoredPdf.objects.filter(external_id=named.rsplit("/", 1)[1], content__isnull=False).exists()

    now = json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content)
    assert attachment(now)["url"] != named
    assert fetch(client, token, attachment(now)["url"]).status_code == 200


def test_a_superbill_voided_before_its_copy_was_drawn_is_entered_in_error_with_no_link_to_follow(
        client, documents, staff, token, django_capture_on_commit_callbacks):
    doc_id = f"{documents['invoice'].external_id}-superbill"
    named = attachment(export_documents(client, token, django_capture_on_commit_callbacks)[doc_id])["url"]
    billing.void_invoice(actor=f.actor(staff["billing"]), invoice=documents["invoice"], reason="Billed twice")

    assert fetch(client, token, named).status_code == 410
    now = json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content)
    assert now["status"] == "entered-in-error"
    assert "url" not in attachment(now) and "hash" not in attachment(now)  # no copy was ever drawn
    assert validate.problems(now) == []


def test_a_superbill_voided_after_a_later_version_was_named_keeps_pointing_at_the_copy_drawn_before(
        client, documents, staff, token, django_capture_on_commit_callbacks):
    invoice = documents["invoice"]
    doc_id = f"{invoice.external_id}-superbill"
    drawn = attachment(json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content))
    billing.take_payment(actor=f.actor(staff["billing"]), invoice=invoice, method="cash", amount_cents=10000)
    named = attachment(export_documents(client, token, django_capture_on_commit_callbacks)[doc_id])["url"]
    assert named != drawn["url"]  # the payment is a new version: the export named a new, undrawn copy
    billing.refund(actor=f.actor(staff["billing"]), invoice=invoice, method="cash", amount_cents=10000,
                   reason="Paid twice")
    billing.void_invoice(actor=f.actor(staff["billing"]), invoice=invoice, reason="Billed twice")

    now = json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content)
    assert now["status"] == "entered-in-error" and attachment(now)["url"] == drawn["url"]
    assert attachment(now)["hash"] == drawn["hash"]
    assert fetch(client, token, drawn["url"]).status_code == 200 and fetch(client, token, named).status_code == 410


def test_the_worker_draws_what_the_export_named_and_marks_what_moved_on(
        client, documents, patient, staff, token, django_capture_on_commit_callbacks):
    start = f.open_day(patient.clinic, -4)  # 10:00, four of the clinic's working days ago
    esk = f.dosed_session(patient, staff, rooms=documents["rooms"], data=ESK, end="discharged", start=start)
    with django_capture_on_commit_callbacks(execute=False) as behind:
        exported = export_documents(client, token, django_capture_on_commit_callbacks)
    assert len(exported) == 5 and StoredPdf.objects.filter(content__isnull=True).count() == 5
    changed = f"{esk.external_id}-rems"
    was = RemsForm.objects.get(session=esk).dissociation
    treatments.update_rems(actor=f.actor(staff["nurse"]), session=esk, data={"dissociation": "no" if was else "yes"})
    del behind

    assert draw_reserved_documents.call() == "4 drawn, 1 skipped"
    assert StoredPdf.objects.filter(content__isnull=True, worker_skipped_at__isnull=True).count() == 0
    for doc_id, resource in exported.items():
        url = attachment(resource)["url"]
        answer = fetch(client, token, url)
        now = json.loads(client.get(BASE + f"DocumentReference/{doc_id}", **bearer(token)).content)
        if doc_id == changed:
            assert answer.status_code == 410 and attachment(now)["url"] != url
            assert fetch(client, token, attachment(now)["url"]).status_code == 200
        else:
            assert attachment(now)["url"] == url and attachment(now)["size"] == len(answer.content)
    assert StoredPdf.objects.count() == 6  # the changed form's new copy, drawn by its read


def test_an_export_that_named_undrawn_documents_leaves_the_worker_to_draw_them(
        client, documents, token, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=False):
        kick = client.get(BASE + "$export", {"_type": "DocumentReference"}, **bearer(token),
                          HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json")
    job = ExportJob.objects.get(external_id=kick["Content-Location"].rsplit("/", 1)[1])
    with django_capture_on_commit_callbacks(execute=True):
        assert run_export_job.call(job.pk) == "complete"
    (queued,) = DBTaskResult.objects.filter(task_path__endswith="draw_reserved_documents")
    assert queued.status == "READY"


def test_a_record_that_changes_while_its_pdf_is_drawn_is_kept_as_it_now_stands(
        client, documents, patient, staff, token, monkeypatch):
    """The PDF reads its record again as it draws: a correction landing in between must not be kept under the
    version read before it (its hash would then be fixed to bytes of another state)."""
    from ketaclinic.fhir.documents import source_of

    start = f.open_day(patient.clinic, -4)  # 10:00, four of the clinic's working days ago
    esk = f.dosed_session(patient, staff, rooms=documents["rooms"], data=ESK, end="discharged", start=start)
    rems = source_of("rems-form")
    drawing = rems.render

    def corrected_meanwhile(row):
        content = drawing(row)
        if not corrected:
            corrected.append(True)
            was = RemsForm.objects.get(session=esk).dissociation
            treatments.update_rems(actor=f.actor(staff["nurse"]), session=esk,
                                   data={"dissociation": "no" if was else "yes"})
        return content

    corrected: list = []
    monkeypatch.setattr(rems, "render", corrected_meanwhile)
    read = json.loads(client.get(BASE + f"DocumentReference/{esk.external_id}-rems", **bearer(token)).content)
    assert corrected
    (kept,) = StoredPdf.objects.filter(kind="rems-form", record_id=esk.external_id)
    row = rems.queryset(patient.clinic_id).get(**{rems.record_field: esk.external_id})
    assert kept.version == rems.version(row)  # drawn again after the correction, kept under the new version
    assert attachment(read)["url"].endswith(str(kept.external_id))


def test_a_fault_while_answering_is_an_operation_outcome_not_an_html_page(client, documents, token, monkeypatch):
    from ketaclinic.fhir.documents import source_of

    def broken(row):
        raise RuntimeError("the PDF library failed")

    monkeypatch.setattr(source_of("superbill"), "render", broken)
    client.raise_request_exception = False  # reported as Django reports a fault (the test client re-raises those)
    answer = client.get(BASE + f"DocumentReference/{documents['invoice'].external_id}-superbill", **bearer(token))
    assert answer.status_code == 500 and answer["Content-Type"].startswith("application/fhir+json")
    outcome = json.loads(answer.content)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "exception"
    assert "the PDF library failed" not in answer.content.decode()  # the fault is logged, not shown


def test_a_version_that_comes_back_is_drawn_again_not_gone_for_ever(
        client, documents, patient, staff, token, django_capture_on_commit_callbacks):
    """A REMS answer corrected and then corrected back shows the version the export named again: the copy the
    worker left is drawn at the next read, never a 410 for ever."""
    start = f.open_day(patient.clinic, -4)  # 10:00, four of the clinic's working days ago
    esk = f.dosed_session(patient, staff, rooms=documents["rooms"], data=ESK, end="discharged", start=start)
    named = attachment(export_documents(client, token, django_capture_on_commit_callbacks)[f"{esk.external_id}-rems"])
    was = RemsForm.objects.get(session=esk).dissociation
    nurse = f.actor(staff["nurse"])
    treatments.update_rems(actor=nurse, session=esk, data={"dissociation": "no" if was else "yes"})
    assert draw_reserved_documents.call() == "4 drawn, 1 skipped"
    treatments.update_rems(actor=nurse, session=esk, data={"dissociation": "yes" if was else "no"})

    again = fetch(client, token, named["url"])
    assert again.status_code == 200 and again.content.startswith(b"%PDF")
    assert StoredPdf.objects.get(external_id=named["url"].rsplit("/", 1)[1]).worker_skipped_at is None


def test_the_worker_goes_on_past_a_document_it_cannot_draw_and_a_batch_at_a_time(
        client, documents, token, django_capture_on_commit_callbacks, monkeypatch, caplog):
    from django_tasks_db.models import DBTaskResult

    from ketaclinic.fhir import tasks
    from ketaclinic.fhir.documents import source_of

    exported = export_documents(client, token, django_capture_on_commit_callbacks)
    superbill = attachment(exported[f"{documents['invoice'].external_id}-superbill"])["url"].rsplit("/", 1)[1]

    def broken(row):
        raise RuntimeError("the PDF library failed")

    monkeypatch.setattr(source_of("superbill"), "render", broken)
    monkeypatch.setattr(tasks, "DRAW_BATCH", 3)
    assert draw_reserved_documents.call() == "2 drawn, 1 skipped, more waiting"
    assert DBTaskResult.objects.filter(task_path__endswith="draw_reserved_documents", status="READY").count() == 1
    assert "could not draw reserved superbill copy" in caplog.text
    assert draw_reserved_documents.call() == "1 drawn, 0 skipped"  # the last one; the broken one left behind
    assert StoredPdf.objects.get(external_id=superbill).worker_skipped_at is not None
    assert StoredPdf.objects.filter(content__isnull=False).count() == 3


def test_the_hourly_prune_asks_the_worker_for_documents_still_waiting(
        client, documents, token, django_capture_on_commit_callbacks):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    export_documents(client, token, django_capture_on_commit_callbacks)
    call_command("prune_fhir_exports", stdout=io.StringIO())
    assert DBTaskResult.objects.filter(task_path__endswith="draw_reserved_documents", status="READY").count() == 1
    draw_reserved_documents.call()
    call_command("prune_fhir_exports", stdout=io.StringIO())
    assert DBTaskResult.objects.filter(task_path__endswith="draw_reserved_documents", status="READY").count() == 1
