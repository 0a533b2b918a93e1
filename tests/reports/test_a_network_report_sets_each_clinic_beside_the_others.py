"""A network's director (a clinic admin or compliance lead with roles at several clinics) opens a report across the
clinics: each clinic's rows are exactly what that clinic's own report counts, beside the others', and a clinic
where the person holds no role that opens the report is not among them (issue 19, point 4)."""

from __future__ import annotations

import pytest
from django.test import Client

from ketaclinic.accounts.models import User
from ketaclinic.accounts.services import grant_role
from ketaclinic.acting import acting_at
from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import Actor
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.registry import REPORTS
from tests.foundation.clinic_world import PASSWORD, two_clinics  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def _own_rows(slug: str, clinic_id: int) -> dict[str, list[tuple]]:
    with acting_at(clinic_id):
        report = REPORTS[slug].build(ReportFilters())
    return {s.title: s.table.rows for s in report.sections}


@pytest.mark.parametrize("slug", ["safety", "operations"])
def test_each_clinics_rows_are_its_own_reports_side_by_side(slug, two_clinics):  # noqa: F811
    from ketaclinic.reports.views import network_clinics, network_report

    here, yonder = two_clinics
    director = User.objects.get(pk=here.users["clinic_admin"].pk)
    yonder_clinic = yonder.ids["patient"].clinic
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=director, clinic=yonder_clinic,
               role="clinic_admin")
    director = User.objects.get(pk=director.pk)  # both grants read afresh
    clinics = network_clinics(director, REPORTS[slug])
    assert [c.name for c in clinics] == ["Test Clinic", "Yonder Clinic"]
    sections = network_report(REPORTS[slug], ReportFilters(), clinics)
    assert sections and all(s.table.columns[0].label == "Clinic" for s in sections)
    for clinic in clinics:
        own = _own_rows(slug, clinic.pk)
        for section in sections:
            rows = [row[1:] for row in section.table.rows if row[0] == clinic.name]
            assert rows == own.get(section.title, []), (clinic.name, section.title)
    # both clinics have rows, and (Yonder has one more suicidality task: tests/foundation/clinic_world.py
    # two_clinics) their figures differ, so neither clinic's rows can be the other's
    assert any(len({row[0] for row in s.table.rows}) == 2 for s in sections)
    if slug == "safety":
        tasks = next(s for s in sections if s.title == "Suicidality tasks by origin and flag")
        totals = {row[0]: row[3] for row in tasks.table.rows if row[1] == "All"}
        assert totals["Yonder Clinic"] == totals["Test Clinic"] + 1


def test_the_page_shows_only_clinics_where_the_persons_role_opens_the_report(two_clinics):  # noqa: F811
    here, yonder = two_clinics
    lead = here.users["compliance"]
    yonder_clinic = yonder.ids["patient"].clinic
    c = Client()
    assert c.login(username=lead.username, password=PASSWORD)
    alone = c.get("/reports/network/safety/?view=clinics")
    assert alone.status_code == 200
    assert "calendar: Test Clinic." in alone.content.decode() and "<td>Yonder Clinic</td>" not in alone.content.decode()
    # a front-desk role at Yonder opens no safety report there: still only the test clinic
    yonder_admin = Actor.for_user(yonder.users["clinic_admin"])
    grant_role(actor=yonder_admin, user=lead, clinic=yonder_clinic, role="front_desk")
    page = c.get("/reports/network/safety/?view=clinics").content.decode()
    assert "calendar: Test Clinic." in page and "<td>Yonder Clinic</td>" not in page
    # compliance at Yonder too: both clinics, and the audit trail says which clinics were read
    grant_role(actor=yonder_admin, user=lead, clinic=yonder_clinic, role="compliance")
    both = c.get("/reports/network/safety/?view=clinics").content.decode()
    assert "calendar: Test Clinic, Yonder Clinic." in both
    assert "<td>Test Clinic</td>" in both and "<td>Yonder Clinic</td>" in both
    entry = AuditEntry.objects.filter(action="report.viewed", actor=lead).order_by("-seq").first()
    assert entry.details["network"] == ["Test Clinic", "Yonder Clinic"]
    assert "Across your network: the clinics pooled, or side by side" in c.get("/reports/").content.decode()


def test_a_person_with_no_role_opening_the_report_anywhere_gets_no_page(two_clinics):  # noqa: F811
    here, _yonder = two_clinics
    assert here.client("clinic_admin").get("/reports/network/no-such-report/").status_code == 404
    # billing opens the money report, not the safety report: the policy refuses the page to billing
    assert here.client("billing").get("/reports/network/safety/").status_code == 403



def test_a_report_exported_in_the_background_is_the_asking_clinics(two_clinics):  # noqa: F811
    """The worker runs outside any request: the job acts for the clinic it was asked at, so the second clinic's
    export holds the second clinic's figures, not the first's (which differ: a second suicidality task there)."""
    import io

    from ketaclinic.measures import services as measures
    from ketaclinic.reports.jobs import _report_csv, job_file, start_report_csv
    from ketaclinic.reports.tasks import run_report_job

    here, yonder = two_clinics
    yonder_clinic = yonder.ids["patient"].clinic
    nurse = yonder.users["nurse"]
    with acting_at(yonder_clinic.pk):
        measures.record_administration(actor=Actor.for_user(nurse), patient=yonder.ids["dosing_session"].patient,
                                       scale="phq9",
                                       answers={f"q{i}": 2 for i in range(1, 10)})
        job = start_report_csv(actor=Actor.for_user(yonder.users["compliance"]), clinic=yonder_clinic,
                               slug="safety", filters=ReportFilters())

    def written_at(clinic_id: int) -> bytes:
        out = io.BytesIO()
        with acting_at(clinic_id):
            _report_csv(job, out)
        return out.getvalue()

    assert written_at(yonder_clinic.pk) != written_at(here.ids["patient"].clinic_id)
    assert run_report_job.call(job.pk) == "complete"  # as the worker runs it: no clinic acting
    job.refresh_from_db()
    assert job_file(job).read_bytes() == written_at(yonder_clinic.pk)

