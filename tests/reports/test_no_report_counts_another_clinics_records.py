"""A report is one clinic's, of a network's several (issue 19, point 4): a second clinic in the install changes
nothing in the first clinic's reports."""

from __future__ import annotations

import pytest

from ketaclinic.acting import acting_at
from ketaclinic.audit.services import Actor
from ketaclinic.measures import services as measures
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.registry import REPORTS

pytestmark = pytest.mark.django_db


def test_no_report_of_a_clinic_counts_another_clinics_records(django_db_setup, django_db_blocker):
    """Each report of the test clinic is the same before and after a second clinic, with its own patients,
    sessions, vitals, stock, scores and suicidality task, opens in the same install."""
    from tests.conftest import rolled_back_world
    from tests.foundation.clinic_world import TAG, _build

    def every_report(clinic_id):
        with acting_at(clinic_id):
            return {slug: [(s.title, s.table.rows) for s in entry.build(ReportFilters()).sections]
                    for slug, entry in REPORTS.items()}

    with rolled_back_world(django_db_blocker):
        here = _build()
        alone = every_report(here.ids["patient"].clinic_id)
        assert any(rows for report in alone.values() for _title, rows in report)
        yonder = _build(name="Yonder Clinic", tag=TAG, ndc="00000-0002-01")
        assert every_report(here.ids["patient"].clinic_id) == alone
        assert every_report(yonder.ids["patient"].clinic_id) == alone  # built alike, counted alike
        # one more suicidality task at Yonder: Yonder's safety report counts it, the first clinic's does not
        yonder_clinic = yonder.ids["patient"].clinic_id
        with acting_at(yonder_clinic):
            measures.record_administration(actor=Actor.for_user(yonder.users["nurse"]), scale="phq9",
                                           patient=yonder.ids["dosing_session"].patient,
                                           answers={f"q{i}": 2 for i in range(1, 10)})
        assert every_report(here.ids["patient"].clinic_id) == alone
        theirs = every_report(yonder_clinic)
        assert theirs["safety"] != alone["safety"] and theirs["outcomes"] == alone["outcomes"]
