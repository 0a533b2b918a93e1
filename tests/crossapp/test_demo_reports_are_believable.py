"""The demo clinic's reports read like a real clinic's: every section of the Outcomes, Safety, Operations and Money
reports shows figures (no section is all zeros), responders appear in every depression and PTSD group and on a
route other than IV, the time to loss of response reaches its median, and the chair's record holds vital signs at
HOLD and STOP, pauses, a transfer to emergency care and a discharge against the readiness check.

The demo is loaded once for the module (``demo``, rolled back when the module ends) and each test reads it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ketaclinic.reports.base import ReportFilters
from ketaclinic.reports.registry import REPORTS
from tests.demo_world import demo_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def reports(django_db_setup, django_db_blocker) -> dict:
    """The four reports, unfiltered, over the demo clinic with 12 patients (loaded once for the module)."""
    with demo_world(django_db_blocker, patients=12):
        yield {slug: entry.build(ReportFilters()) for slug, entry in REPORTS.items()}


def _figures(row) -> list:
    return [v for v in row if isinstance(v, int | float | Decimal) and not isinstance(v, bool)]


def _section(report, starts: str):
    return next(s for s in report.sections if s.title.startswith(starts))


def _row(section, label: str) -> dict:
    keys = [c.key for c in section.table.columns]
    row = next(r for r in section.table.rows if r[0] == label)
    return dict(zip(keys, row, strict=True))


def test_every_section_of_every_report_shows_a_figure(reports):
    empty = [f"{slug}: {s.title}" for slug, report in reports.items() for s in report.sections
             if not any(v > 0 for row in s.table.rows for v in _figures(row))]
    assert not empty, f"sections with no figure above zero: {empty}"


def test_responders_in_unipolar_bipolar_and_ptsd_and_on_a_route_other_than_iv(reports):
    by_group = _section(reports["outcomes"], "Response and remission after induction, by diagnosis group")
    for label in ("Unipolar depression (F32, F33)", "Bipolar depression (F31)", "PTSD (F43.1)", "Anxiety (F41)"):
        row = _row(by_group, label)
        assert row["assessed"] > 0, label
        if label != "Anxiety (F41)":
            assert row["responders"] > 0, label
    # not everyone responds: the demo is not a brochure
    assert 0 < _row(by_group, "All patients")["responders"] < _row(by_group, "All patients")["assessed"]
    by_route = _section(reports["outcomes"], "Response and remission after induction, by route")
    non_iv = [_row(by_route, label)["responders"] for label in ("Intramuscular injection", "Intranasal (esketamine)")]
    assert all(n > 0 for n in non_iv), non_iv


def test_the_median_time_to_loss_of_response_is_reached_and_boosters_are_censored(reports):
    km = _section(reports["outcomes"], "How long response lasts")
    survival = [dict(zip([c.key for c in km.table.columns], r, strict=True)) for r in km.table.rows]
    assert any(r["survival"] <= 0.5 for r in survival)
    assert "median time to loss of response: not reached" not in km.notes[0]
    assert sum(r["events"] for r in survival) > 0 and sum(r["censored"] for r in survival) > 0
    # responders kept going by boosters are censored at their first booster: the curve is without retreatment
    assert "lost response before any retreatment" in km.notes[0]


def test_suicidal_thoughts_at_baseline_resolve_after_induction(reports):
    si = _section(reports["outcomes"], "Suicidal thoughts before and after induction")
    every = _row(si, "All patients")
    assert every["before"] > 0 and every["resolved"] > 0


def test_the_safety_report_shows_holds_a_stop_pauses_a_transfer_and_an_override(reports):
    safety = reports["safety"]
    excursions = _row(_section(safety, "Vital-sign excursions"), "All routes")
    assert excursions["hold"] >= 1 and excursions["stop"] >= 1 and excursions["predose"] >= 1
    paused = _row(_section(safety, "Sessions paused"), "All routes")
    assert paused["paused"] >= 2 and paused["auto"] >= 1 and paused["transferred"] >= 1 and paused["stopped"] >= 1
    assert _row(_section(safety, "Discharges against the readiness check"), "All routes")["overrides"] >= 1
    kinds = _section(safety, "Adverse events by type")
    assert len(kinds.table.rows) - 1 >= 5  # several kinds, beside the total row
    every = _row(kinds, "All adverse events")
    assert every["mild"] > every["moderate"] > every["severe"] >= 1


def test_operations_show_no_shows_and_a_late_rems_form(reports):
    ops = reports["operations"]
    assert _row(_section(ops, "No-shows: appointments"), "All appointments")["missed"] >= 1
    assert _row(_section(ops, "No-shows: treatment sessions"), "All treatment sessions")["missed"] >= 1
    rems = _section(ops, "Spravato REMS")
    assert _row(rems, "Submitted on time")["n"] > _row(rems, "Submitted late")["n"] >= 1
    integration = _section(ops, "Integration sessions")
    assert _row(integration, "Attended")["n"] > 0 and _row(integration, "Declined by the patient")["n"] > 0
