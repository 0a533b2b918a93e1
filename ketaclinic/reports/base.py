"""What every report is made of, so one page, one chart renderer and one CSV writer serve them all.

A report answers one question over the clinic's own data. It is a list of sections; each section is a chart and
the table it is drawn from (the table is the truth, the chart a picture of it), and the notes that say how every
figure was counted and where the rule comes from. A report module exposes ``build(filters) -> Report`` and does its
counting in the database (GROUP BY, window functions), never by walking rows in Python, so that it answers in well
under a second over a million rows (bench/reports.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

#: The diagnosis groups a report may be filtered or broken down by (the grouping rule is the core's:
#: ketaclinic.clinical.diagnosis_groups).
DIAGNOSIS_GROUPS = ("unipolar", "bipolar", "ptsd", "anxiety", "other")


@dataclass(frozen=True)
class ReportFilters:
    """The filters a user set on the page. ``None`` means "all". Dates are clinic-local calendar days, inclusive:
    a session, answer or event counts when its clinic-local day falls in [start, end]."""

    start: date | None = None
    end: date | None = None
    prescriber_id: int | None = None  # the prescriber who signed the treatment order
    room_id: int | None = None  # the location: the room the session was booked in
    diagnosis: str | None = None  # one of DIAGNOSIS_GROUPS
    route: str | None = None  # treatments.models.Route value: "iv", "im", "intranasal"

    def describe(self) -> str:
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or 'the beginning'} to {self.end or 'today'}")
        if self.diagnosis:
            parts.append(f"diagnosis: {self.diagnosis}")
        if self.route:
            parts.append(f"route: {self.route}")
        if self.prescriber_id:
            parts.append("one prescriber")
        if self.room_id:
            parts.append("one room")
        return "; ".join(parts) or "all records"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""  # "%", "days", "per 100 sessions", "USD", ... shown in the header


@dataclass
class Table:
    columns: list[Column]
    rows: list[tuple]  # one tuple per row, in column order; None is shown as "—" (no data, or suppressed)


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[str | float, float | None]]  # (category or x, y)
    # for step charts (Kaplan–Meier): optional lower/upper band per point, same length as points
    band: list[tuple[float, float]] | None = None


@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "step", "line"]
    x_label: str
    y_label: str
    series: list[Series]
    y_max: float | None = None  # e.g. 100 for percentages, 1.0 for survival; None: from the data


@dataclass
class Section:
    title: str
    table: Table
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)  # how it is counted, with the source of every rule


@dataclass
class Report:
    slug: str  # the URL part: "outcomes", "safety", "operations", "money"
    title: str
    question: str  # the question the report answers, in a clinic's words
    filters: ReportFilters
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
