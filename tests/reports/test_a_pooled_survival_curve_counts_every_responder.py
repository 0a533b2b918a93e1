"""A network report pooled over clinics draws its survival curve (how long response lasts without retreatment)
from every responder of the pool (issue 19, point 4): in a module of its own, as the curve needs a clinic whose
patients were treated and scored (``clinic_of``), not the two whole clinics of the other pooled-report tests."""

from __future__ import annotations

import pytest

from ketaclinic.acting import acting_at
from ketaclinic.clinic.models import Clinic
from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.registry import REPORTS
from ketaclinic.reports.scope import Scope
from tests.conftest import CLINIC_TZ
from tests.reports.test_outcomes_report_counts_each_patient_once import (
    _base,
    clinic_of,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.django_db


def _own(slug: str, clinic: Clinic):
    with acting_at(clinic.pk):
        return REPORTS[slug].build(ReportFilters())


def test_a_survival_curve_is_drawn_from_every_responder_of_the_pool(clinic, clinic_of):  # noqa: F811
    """The curve's responders come from the pooled statement: with a second clinic of the network in the pool (it
    has no patient yet), the curve is the first clinic's own, step for step, and not empty."""
    _base(clinic_of)  # a responder who loses response at day 15, a remitter censored at day 20
    other = Clinic.objects.create(name="Yonder Clinic", time_zone=CLINIC_TZ)
    title = "How long response lasts without retreatment: time from the end of induction to loss of response"
    own = next(s for s in _own("outcomes", clinic).sections if s.title == title).table.rows
    pooled = next(s for s in REPORTS["outcomes"].build(ReportFilters(), Scope((other, clinic))).sections
                  if s.title == title).table.rows
    assert own and pooled == own
