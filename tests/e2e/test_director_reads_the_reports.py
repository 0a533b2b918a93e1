"""The clinic's director (clinic admin) opens Reports, reads the outcomes of IV induction series (the chart beside
its table), downloads a table as CSV, exports the whole report in the background and downloads it when the
progress bar says it is done; the front desk sees only the operations report (real Chromium)."""

from __future__ import annotations

import re
import zipfile
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Timing
from ketaclinic.patients.services import add_diagnosis
from ketaclinic.reports.models import ReportJob
from ketaclinic.reports.tasks import run_report_job
from tests.factories import actor, dosed_session, make_rooms, open_run
from tests.measures.conftest import phq9_total


def _responder(name, staff, make_patient, rooms, baseline: int, after: int):
    """A unipolar patient whose two-session IV induction ended three weeks ago, with PHQ-9 before and after."""
    patient = make_patient(legal_family_name=name)
    add_diagnosis(actor=actor(staff["prescriber"]), patient=patient, code="F33.1")
    start, second = open_run(patient.clinic, (0, 2), near=timezone.now() - timedelta(days=24))  # clinic days
    first = dosed_session(patient, staff, start=start, rooms=rooms)
    last = dosed_session(patient, staff, order=first.order, start=second, rooms=rooms)
    for at, total, timing in ((start - timedelta(days=2), baseline, Timing.BASELINE),
                              (last.dose_ended_at + timedelta(days=1), after, Timing.AD_HOC)):
        measures.record_administration(actor=actor(staff["nurse"]), patient=patient, scale="phq9",
                                       answers=phq9_total(total), administered_at=at, timing=timing)


def test_the_director_reads_outcomes_and_exports_them_in_the_background(page, live_server, login, logout, clinic,
                                                                        staff, make_patient, console_errors,
                                                                        tmp_path):
    rooms = make_rooms(clinic)
    _responder("Better", staff, make_patient, rooms, baseline=20, after=6)  # a responder, and in remission
    _responder("Same", staff, make_patient, rooms, baseline=18, after=16)  # no response

    login("clinic_admin")
    page.get_by_role("navigation").get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Outcomes").click()
    page.locator("select[name=route]").select_option("iv")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Showing route: iv.")).to_be_visible()
    section = page.locator("section", has=page.get_by_role(
        "heading", name="Response and remission after induction, by diagnosis group"))
    expect(section.locator("svg.report-chart")).to_be_visible()
    row = section.locator("tr", has_text="Unipolar depression")
    expect(row.locator("td").nth(1)).to_have_text("2")  # two inductions completed
    expect(row.locator("td").nth(3)).to_have_text("1")  # one responder
    expect(row.locator("td").nth(4)).to_have_text("50.0")  # 50.0 % response
    with page.expect_download() as table:
        section.get_by_role("link", name="Download this table (CSV)").click()
    csv_text = Path(table.value.path()).read_text()
    assert csv_text.splitlines()[0].startswith("Group,Induction completed (patients)")

    page.get_by_role("button", name="Export the whole report in the background").click()
    expect(page.locator("#job-progress-text")).to_contain_text("Waiting for the background worker")
    job = ReportJob.objects.get()
    assert job.params["report"] == "outcomes"
    run_report_job.call(job.pk)  # what the task worker (manage.py db_worker) does
    # the page polls the job's progress and offers the file once it is written
    expect(page.locator("#job-progress-text")).to_contain_text("Done", timeout=15_000)
    with page.expect_download() as whole:
        page.get_by_role("link", name=re.compile("^Download ")).click()
    saved = tmp_path / whole.value.suggested_filename
    whole.value.save_as(saved)
    if zipfile.is_zipfile(saved):
        with zipfile.ZipFile(saved) as z:
            assert any("Unipolar depression" in z.read(n).decode() for n in z.namelist())
    else:
        assert "Unipolar depression" in saved.read_text()
    logout()

    login("front_desk")
    page.get_by_role("navigation").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("link", name="Operations")).to_be_visible()
    expect(page.get_by_role("link", name="Outcomes")).to_have_count(0)
    expect(page.get_by_role("link", name="Money")).to_have_count(0)
    assert console_errors == []
