"""The clinic's signed PDFs reach a FHIR client: a DocumentReference per signed session record, issued superbill
and completed REMS form, whose attachment names ``Binary/<id>`` with the size and SHA-1 of exactly the bytes
Binary serves; Binary read with the DocumentReference read scope, clinic-scoped and audited; search by patient,
category, type and date; $everything and the bulk export carry them (the URL, never the bytes)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.documentreference import DocumentReference

from ketaclinic.audit.models import AuditEntry
from ketaclinic.billing import services as billing
from ketaclinic.fhir import validate
from ketaclinic.fhir.models import ExportJob, StoredPdf
from ketaclinic.fhir.tasks import run_export_job
from ketaclinic.treatments import services as treatments
from ketaclinic.treatments.models import RemsForm
from tests import factories as f
from tests.fhir import module_clinic
from tests.fhir.conftest import bearer
from tests.pdfread import pdf_text
from tests.treatments.factories import ESK

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"
DOC = "urn:ketaclinic:document"


#: Each test's part of the module's world: the test clinic with the ``documents`` records, built once for the
#: module inside rolled_back_world (tests/fhir/module_clinic.py), under the names of the conftest fixtures.
built, here, clinic, staff, patient, documents = (module_clinic.built_with_documents, module_clinic.here,
                                                  module_clinic.clinic, module_clinic.staff, module_clinic.patient,
                                                  module_clinic.documents)


@pytest.fixture
def token(fhir_token, clinic):
    return fhir_token(clinic)


def get(client, url, token, **headers):
    return client.get(BASE + url, **bearer(token), **headers)


def search(client, token, **params) -> list[dict]:
    response = client.get(BASE + "DocumentReference", params, **bearer(token))
    assert response.status_code == 200, response.content
    entries = [e["resource"] for e in json.loads(response.content).get("entry", [])]
    for resource in entries:
        DocumentReference.model_validate(resource)
        assert validate.problems(resource) == [], validate.problems(resource)
    return entries


def pdf_of(resource: dict) -> dict:
    (content,) = resource["content"]
    return content["attachment"]


def kind(resource: dict) -> str:
    return resource["type"]["coding"][0]["code"]


def test_each_signed_or_issued_pdf_is_a_document_reference_whose_hash_and_size_are_of_the_bytes_binary_serves(
        client, documents, token, patient):
    found = search(client, token, patient=str(patient.external_id))
    by_id = {r["id"]: r for r in found}
    iv, esk, invoice = documents["iv"], documents["esk"], documents["invoice"]
    assert {f"{iv.external_id}-record", f"{esk.external_id}-record", f"{invoice.external_id}-superbill",
            f"{esk.external_id}-rems", f"{iv.external_id}-note"} <= set(by_id)
    for doc_id, words in ((f"{iv.external_id}-record", "Session record"),
                          (f"{invoice.external_id}-superbill", "Superbill"),
                          (f"{esk.external_id}-rems", "SPRAVATO REMS")):
        resource = by_id[doc_id]
        assert resource["status"] == "current" and resource["subject"]["reference"] == f"Patient/{patient.external_id}"
        attachment = pdf_of(resource)
        assert attachment["contentType"] == "application/pdf" and "data" not in attachment
        assert attachment["url"].startswith("http://testserver/fhir/R4/Binary/")
        assert attachment["title"]
        response = client.get(attachment["url"], **bearer(token), HTTP_ACCEPT="application/pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert attachment["size"] == len(response.content)
        assert attachment["hash"] == base64.b64encode(hashlib.sha1(response.content).digest()).decode()
        text = pdf_text(response.content)
        assert words in text and patient.legal_family_name in text, text[:300]
    record = by_id[f"{iv.external_id}-record"]
    assert record["context"]["encounter"][0]["reference"] == f"Encounter/{iv.external_id}"
    assert {a["reference"] for a in record["author"]} == {f"Practitioner/{iv.nurse_signed_by.external_id}",
                                                          f"Practitioner/{iv.prescriber_signed_by.external_id}"}
    assert by_id[f"{invoice.external_id}-superbill"]["category"][0]["coding"][0]["code"] == "billing"
    assert by_id[f"{esk.external_id}-rems"]["category"][0]["coding"][0]["code"] == "clinical-note"


def test_the_same_record_gives_the_same_bytes_each_time_and_a_changed_record_a_new_copy(client, documents, token,
                                                                                         fhir_token, clinic,
                                                                                         staff, clock):
    iv = documents["iv"]
    first = json.loads(get(client, f"DocumentReference/{iv.external_id}-record", token).content)
    clock.shift(timedelta(minutes=90))  # the PDFs print the moment they are drawn: a new drawing would differ
    token = fhir_token(clinic)  # the first token lived 5 minutes
    again = json.loads(get(client, f"DocumentReference/{iv.external_id}-record", token).content)
    assert pdf_of(first) == pdf_of(again)
    one = get(client, pdf_of(first)["url"].removeprefix("http://testserver" + BASE), token).content
    two = get(client, pdf_of(again)["url"].removeprefix("http://testserver" + BASE), token).content
    assert one == two
    treatments.add_addendum(actor=f.actor(staff["nurse"]), session=iv, text="Called the patient next day: well.")
    amended = json.loads(get(client, f"DocumentReference/{iv.external_id}-record", token).content)
    assert pdf_of(amended)["url"] != pdf_of(first)["url"] and pdf_of(amended)["hash"] != pdf_of(first)["hash"]
    new = get(client, pdf_of(amended)["url"].removeprefix("http://testserver" + BASE), token)
    assert "Called the patient next day" in pdf_text(new.content)
    assert get(client, pdf_of(first)["url"].removeprefix("http://testserver" + BASE), token).content == one


def test_binary_as_fhir_json_carries_the_same_bytes_in_base64(client, documents, token):
    resource = search(client, token, type=f"{DOC}|superbill")[0]
    url = pdf_of(resource)["url"].removeprefix("http://testserver" + BASE)
    as_json = get(client, url, token, HTTP_ACCEPT="application/fhir+json")
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/fhir+json")
    binary = Binary.model_validate_json(as_json.content)
    assert binary.contentType == "application/pdf"
    assert base64.b64decode(json.loads(as_json.content)["data"]) == get(client, url, token, HTTP_ACCEPT="application/pdf").content
    assert get(client, url + "?_format=json", token)["Content-Type"].startswith("application/fhir+json")


def test_binary_needs_the_document_reference_read_scope_and_a_refusal_is_audited(client, fhir_token, clinic,
                                                                                 documents, token):
    url = pdf_of(search(client, token, type=f"{DOC}|session-record")[0])["url"].removeprefix("http://testserver" + BASE)
    allowed = fhir_token(clinic, "system/DocumentReference.r")
    assert get(client, url, allowed).status_code == 200
    observations_only = fhir_token(clinic, "system/Observation.rs")
    refused = get(client, url, observations_only)
    assert refused.status_code == 403 and "DocumentReference read scope" in json.loads(refused.content)["issue"][0][
        "diagnostics"]
    entry = AuditEntry.objects.filter(action="fhir.read").order_by("-seq").first()
    assert entry.details["resource_type"] == "Binary" and entry.details["refused"] == "forbidden"


def test_binary_read_is_audited_with_the_client_and_the_patient(client, documents, token, patient):
    url = pdf_of(search(client, token, type=f"{DOC}|rems-form")[0])["url"].removeprefix("http://testserver" + BASE)
    before = AuditEntry.objects.count()
    assert get(client, url, token).status_code == 200
    entry = AuditEntry.objects.order_by("-seq").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "fhir.read" and entry.details["resource_type"] == "Binary" and entry.details["count"] == 1
    assert entry.actor_label.startswith("fhir client: ") and entry.patient_id == patient.pk


def test_another_clinics_client_gets_404_for_the_document_and_its_binary(client, documents, token, fhir_token):
    from ketaclinic.clinic.models import Clinic

    url = pdf_of(search(client, token, type=f"{DOC}|session-record")[0])["url"].removeprefix("http://testserver" + BASE)
    other = fhir_token(Clinic.objects.create(name="Other clinic", time_zone="America/Denver"))
    assert get(client, url, other).status_code == 404
    assert get(client, f"DocumentReference/{documents['iv'].external_id}-record", other).status_code == 404
    assert get(client, "Binary/not-a-uuid", token).status_code == 404


def test_search_by_category_type_and_date(client, documents, token, patient):
    billing_docs = search(client, token, category="billing")
    assert {kind(r) for r in billing_docs} == {"superbill"}
    notes = search(client, token, category="clinical-note")
    assert {kind(r) for r in notes} == {"session-note", "session-record", "rems-form"}
    assert {kind(r) for r in search(client, token, type=f"{DOC}|rems-form")} == {"rems-form"}
    assert search(client, token, type="http://loinc.org|11506-3") == []
    day = documents["iv"].prescriber_signed_at.astimezone(patient.clinic.tz).date().isoformat()
    assert search(client, token, date=day, type="session-record")
    assert search(client, token, date=f"gt{day}T23:59", type="session-record", patient=str(patient.external_id)) == [
        r for r in search(client, token, type="session-record") if r["date"][:10] > day]


def test_everything_and_the_bulk_export_carry_the_documents_by_url(client, documents, token, patient, export_dir,
                                                                   django_capture_on_commit_callbacks):
    everything = json.loads(get(client, f"Patient/{patient.external_id}/$everything", token).content)
    kinds = {kind(e["resource"]) for e in everything["entry"] if e["resource"]["resourceType"] == "DocumentReference"}
    assert {"session-record", "superbill", "rems-form"} <= kinds
    with django_capture_on_commit_callbacks(execute=False):
        kick = client.get(BASE + "$export", {"_type": "DocumentReference"}, **bearer(token),
                          HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json")
    assert kick.status_code == 202, kick.content
    job = ExportJob.objects.get(external_id=kick["Content-Location"].rsplit("/", 1)[1])
    assert run_export_job.call(job.pk) == "complete"
    manifest = json.loads(client.get(kick["Content-Location"], **bearer(token)).content)
    (item,) = manifest["output"]
    ndjson = b"".join(client.get(item["url"], **bearer(token)).streaming_content).decode()
    lines = [json.loads(line) for line in ndjson.splitlines()]
    pdfs = [r for r in lines if kind(r) != "session-note"]
    assert len(pdfs) == 4
    for r in pdfs:
        attachment = pdf_of(r)
        assert "data" not in attachment and attachment["url"].startswith("http://testserver/fhir/R4/Binary/")
        assert validate.problems(r) == []
    assert StoredPdf.objects.count() == 4  # drawn once, kept: the export used the copies the searches made


def test_a_voided_invoices_superbill_is_entered_in_error(client, documents, token, staff):
    invoice = documents["invoice"]
    doc_id = f"{invoice.external_id}-superbill"
    before = json.loads(get(client, f"DocumentReference/{doc_id}", token).content)
    billing.void_invoice(actor=f.actor(staff["billing"]), invoice=invoice, reason="Billed twice")
    after = json.loads(get(client, f"DocumentReference/{doc_id}", token).content)
    assert after["status"] == "entered-in-error" and pdf_of(after) == pdf_of(before)
    assert validate.problems(after) == []


def test_capability_statement_lists_binary_read_only(client, token):
    statement = json.loads(get(client, "metadata", token).content)
    (binary,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Binary"]
    assert binary["interaction"] == [{"code": "read"}] and "searchParam" not in binary
    (docs,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "DocumentReference"]
    assert {"patient", "category", "type", "date"} <= {p["name"] for p in docs["searchParam"]}


def test_a_rems_answer_corrected_after_discharge_gives_a_new_copy(client, documents, patient, staff, token):
    """Until the form is submitted a nurse may correct its answers after discharge; a client that fetched the form
    before gets the corrected PDF next time, never the old answers as current."""
    start = f.open_day(patient.clinic, -4)  # 10:00, four of the clinic's working days ago
    esk = f.dosed_session(patient, staff, rooms=documents["rooms"], data=ESK, end="discharged", start=start)
    assert RemsForm.objects.get(session=esk).status == RemsForm.Status.COMPLETE
    before = json.loads(get(client, f"DocumentReference/{esk.external_id}-rems", token).content)
    was = RemsForm.objects.get(session=esk).dissociation
    treatments.update_rems(actor=f.actor(staff["nurse"]), session=esk,
                           data={"dissociation": "no" if was else "yes"})
    after = json.loads(get(client, f"DocumentReference/{esk.external_id}-rems", token).content)
    assert pdf_of(after)["url"] != pdf_of(before)["url"] and pdf_of(after)["hash"] != pdf_of(before)["hash"]


def test_a_page_far_down_the_documents_draws_nothing_it_skips(client, documents, token, staff):
    """Every document row is one resource (a voided invoice never drawn is no row), so the database skips rows for
    an offset: asking for a page past the end draws and keeps no PDF."""
    billing.invoice_session(actor=f.actor(staff["billing"]), session=f.dosed_session(
        documents["iv"].patient, staff, rooms=documents["rooms"], end="discharged",
        start=(timezone.now() - timedelta(days=8)).replace(second=0, microsecond=0)))
    kept = StoredPdf.objects.count()
    assert search(client, token, _offset=1000) == []
    assert StoredPdf.objects.count() == kept
