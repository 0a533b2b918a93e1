"""What staff see of the reports: each report a page of sections, a chart beside the table it is drawn from, the
filters applied and said, every table as CSV with its units, a bad filter refused with a message and nothing built,
every view and export in the audit trail with its filters, and the list of reports showing only what the viewer
may open."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.reports.registry import REPORTS
from tests.factories import dosed_session, make_rooms

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooms(clinic, staff):
    return make_rooms(clinic, staff["clinic_admin"])


@pytest.fixture
def one_session(rooms, staff, make_patient):
    """A patient dosed and discharged two days ago, so every report has a row to show."""
    return dosed_session(make_patient(legal_family_name="Charted"), staff,
                         start=timezone.now() - timedelta(days=2), rooms=rooms)


WHO = {"outcomes": "prescriber", "safety": "nurse", "operations": "front_desk", "money": "billing"}


@pytest.mark.parametrize("slug", sorted(REPORTS))
def test_each_report_shows_its_sections_with_a_chart_and_a_table(slug, client_for, one_session):
    page = client_for(WHO[slug]).get(f"/reports/{slug}/")
    assert page.status_code == 200
    html = page.content.decode()
    report = page.context["report"]
    assert report.sections, f"{slug} has no section"
    for i, section in enumerate(report.sections):
        assert f'id="table-{i}"' in html
        assert section.title in html
        if section.chart is not None:
            assert section.chart_svg.startswith('<svg class="report-chart"')
            assert 'role="img"' in section.chart_svg
    assert html.count('<svg class="report-chart"') == sum(s.chart is not None for s in report.sections)
    assert "Showing all records." in html


def test_a_table_downloads_as_csv_with_its_units_and_the_export_is_audited(client_for, one_session):
    client = client_for("prescriber")
    page = client.get("/reports/outcomes/")
    section = page.context["report"].sections[0]
    answer = client.get("/reports/outcomes/csv/", {"section": "0", "route": "iv"})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    header = [f"{c.label} ({c.unit})" if c.unit else c.label for c in section.table.columns]
    assert rows[0] == header
    entry = AuditEntry.objects.filter(action=AuditAction.REPORT_EXPORTED).get()
    assert entry.details["report"] == "outcomes"
    assert entry.details["filters"] == "route: iv"
    assert entry.details["section"] == section.title
    assert client.get("/reports/outcomes/csv/", {"section": "99"}).status_code == 404


def test_filters_are_applied_and_said_and_each_view_is_audited(client_for, one_session):
    client = client_for("nurse")
    day = timezone.localdate() - timedelta(days=2)
    page = client.get("/reports/safety/", {"start": day.isoformat(), "end": day.isoformat(), "route": "im"})
    assert page.status_code == 200
    assert page.context["report"].filters.route == "im"
    assert f"Showing {day} to {day}; route: im." in page.content.decode()
    entry = AuditEntry.objects.filter(action=AuditAction.REPORT_VIEWED).get()
    assert entry.details == {"report": "safety", "filters": f"{day} to {day}; route: im"}


def test_a_bad_filter_is_refused_with_a_message_and_nothing_is_built(client_for, one_session):
    client = client_for("prescriber")
    today = timezone.localdate()
    page = client.get("/reports/outcomes/", {"start": today.isoformat(),
                                             "end": (today - timedelta(days=3)).isoformat()})
    assert page.status_code == 200
    assert page.context["report"] is None
    assert "The last day comes before the first" in page.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.REPORT_VIEWED).exists()
    assert client.get("/reports/outcomes/", {"start": "31/12/2026"}).context["report"] is None
    assert client.get("/reports/outcomes/csv/", {"start": "yesterday"}).status_code == 404


@pytest.mark.parametrize("role, sees", [
    ("nurse", ["Outcomes", "Safety"]),
    ("front_desk", ["Operations"]),
    ("billing", ["Operations", "Money"]),
    ("clinic_admin", ["Outcomes", "Safety", "Operations", "Money"]),
])
def test_the_list_of_reports_shows_only_what_the_viewer_may_open(role, sees, client_for):
    page = client_for(role).get("/reports/")
    assert [e.title for e in page.context["entries"]] == sees
    html = page.content.decode()
    for slug, entry in REPORTS.items():
        assert (f'href="/reports/{slug}/"' in html) is (entry.title in sees)
    assert ('href="/reports/research/"' in html) is (role == "clinic_admin")


@pytest.mark.parametrize("slug", sorted(REPORTS))
def test_a_route_booked_but_never_dosed_shows_dashes_not_an_error(slug, rooms, staff, make_patient, client_for,
                                                                   one_session):
    """An IM series booked today and not yet given: its route has sessions but no dosed one, so its rates have no
    denominator."""
    from tests.factories import IM, book_now, make_order

    book_now(make_order(make_patient(legal_family_name="Booked"), staff, data=IM), staff, rooms)
    page = client_for(WHO[slug]).get(f"/reports/{slug}/")
    assert page.status_code == 200
