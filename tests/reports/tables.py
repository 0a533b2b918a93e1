"""Reading a built report in tests: a section by the start of its title, a row by its first cell."""

from __future__ import annotations


def section(report, title_start: str):
    return next(s for s in report.sections if s.title.startswith(title_start))


def row(section_, first) -> tuple:
    return next(r for r in section_.table.rows if r[0] == first)
