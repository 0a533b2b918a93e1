"""Cleaning up after report jobs and FHIR bulk exports removes the folders of jobs that no longer exist, and nothing
else: an export folder set to the clinic's data folder itself keeps its checkpoints, attachments and backups, and
a live job keeps its files. The report and FHIR exports may not share a folder (each would take the other's live
jobs for leftovers): the system check stops the start."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from ketaclinic.fhir import bulk
from ketaclinic.reports import jobs

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["report", "fhir"])
def test_an_export_folder_set_to_the_data_folder_keeps_everything_but_dead_jobs(tmp_path, kind):
    data = tmp_path / "ketaclinic-data"
    keep = ["checkpoints", "message-attachments", "backups", "42", uuid.uuid4().hex]  # a hex id is not a job's name
    for name in keep:
        (data / name).mkdir(parents=True)
        (data / name / "precious").write_text("the clinic's")
    dead = data / str(uuid.uuid4())  # a job deleted, or killed mid-write
    dead.mkdir()
    (dead / "part.ndjson").write_text("{}")
    setting = {"report": "REPORT_EXPORT_DIR", "fhir": "FHIR_EXPORT_DIR"}[kind]
    with override_settings(**{setting: data}):
        (jobs.prune_jobs if kind == "report" else bulk.prune_exports)()
    assert not dead.exists()
    assert all((data / name / "precious").read_text() == "the clinic's" for name in keep)


@pytest.mark.parametrize("fhir", ["same", "inside"])
def test_report_and_fhir_exports_in_one_folder_stop_the_start(tmp_path, fhir):
    from ketaclinic.crossapp.checks import export_folders_are_apart

    reports = tmp_path / "exports"
    with override_settings(REPORT_EXPORT_DIR=reports,
                           FHIR_EXPORT_DIR=reports if fhir == "same" else reports / "fhir"):
        (error,) = export_folders_are_apart(None)
    assert error.id == "ketaclinic.E002" and "share a folder" in error.msg
    with override_settings(REPORT_EXPORT_DIR=reports, FHIR_EXPORT_DIR=tmp_path / "fhir-exports"):
        assert export_folders_are_apart(None) == []
