"""Reading a built report in tests: a section by the start of its title, a row by its first cell; and a report
built for everyone and for each diagnosis group."""

from __future__ import annotations

from ketaclinic.clinical import diagnosis_groups as dg
from ketaclinic.reports.base import ReportFilters


def section(report, title_start: str):
    return next(s for s in report.sections if s.title.startswith(title_start))


def row(section_, first) -> tuple:
    return next(r for r in section_.table.rows if r[0] == first)


def by_diagnosis_group(build, assert_num_queries, queries: int) -> tuple[object, dict]:
    """``build``'s report for everyone, and for each diagnosis group by group; a group filter costs no query more
    than the ``queries`` of the report unfiltered (the one-group rule is a condition inside the same queries)."""
    everyone = build(ReportFilters())
    for group in ("unipolar", "other"):
        with assert_num_queries(queries):
            build(ReportFilters(diagnosis=group))
    return everyone, {g: build(ReportFilters(diagnosis=g)) for g in dg.GROUPS}
