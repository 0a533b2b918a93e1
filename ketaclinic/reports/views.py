"""The report pages: the list of reports, each report with its filters (charts beside their tables), and each
section's table as CSV. Who may open which report is the access policy's (``reports:<slug>``); a report is built by
its own module (registry.py) and read from the replica when one is configured. Every view and export is audited
with its filters, as a chart over many patients is still a read of their records."""

from __future__ import annotations

from datetime import date

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ketaclinic.access import can_open
from ketaclinic.acting import acting_at
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.custody.reports import csv_response
from ketaclinic.dbrouting import on_replica
from ketaclinic.reports.base import Column, Report, ReportFilters, Section, Table
from ketaclinic.reports.charts import render as render_chart
from ketaclinic.reports.forms import NetworkPageForm, ReportFilterForm
from ketaclinic.reports.registry import REPORTS, Entry
from ketaclinic.reports.scope import Scope, differences, pools


def home(request):
    entries = [e for e in REPORTS.values() if can_open(request.user, e.url_name)]
    research = can_open(request.user, "reports:research")
    network = can_open(request.user, "reports:network") and len(request.user.clinic_ids()) > 1
    return render(request, "reports/home.html", {"entries": entries, "research": research, "network": network})


def _filters(request) -> tuple[ReportFilterForm, ReportFilters | None]:
    """The page's filters from its query string; None when they are not valid (the page then says why and builds
    nothing)."""
    form = ReportFilterForm(request.GET or None)
    if not form.is_bound:
        return form, ReportFilters()
    if not form.is_valid():
        return form, None
    return form, form.filters()


def _audit(request, action: AuditAction, entry: Entry, filters: ReportFilters, **more) -> None:
    details = {"report": entry.slug, "filters": filters.describe(), **more}
    audit.record(Actor.from_request(request), action, details=details)


def _audit_network(request, action: AuditAction, entry: Entry, filters: ReportFilters, clinics: list[Clinic],
                   **more) -> None:
    """A network page or CSV read the records of every clinic in ``clinics``: one entry at each of them (made as
    if acting there), so each clinic's compliance lead finds in its own audit trail who read its figures."""
    for clinic in clinics:
        with acting_at(clinic.pk):
            _audit(request, action, entry, filters, network=[c.name for c in clinics],
                   clinic_ids=[c.pk for c in clinics], **more)


def _build(entry: Entry, filters: ReportFilters) -> Report:
    with on_replica():
        return entry.build(filters)


def _show(sections: list[Section], *, csv: str, prefix: str = "") -> None:
    """What reports/_section.html shows of each section: its cells, its chart beside its table, the ids of its
    heading and table (``prefix`` keeps them apart when a page shows several reports) and the address of its CSV
    (``csv``: the CSV view's address with its query, to which the section's number is added)."""
    for i, section in enumerate(sections):
        section.heading_id, section.table_id = f"{prefix}section-{i}", f"{prefix}table-{i}"
        section.csv_url = f"{csv}section={i}"
        section.chart_svg = (render_chart(section.chart, title=section.title, table_id=section.table_id)
                             if section.chart else "")
        units = [c.unit for c in section.table.columns]
        section.cells = [[_cell(v, u) for v, u in zip(row, units, strict=False)] for row in section.table.rows]


def report_page(request, slug: str):
    entry = REPORTS[slug]
    form, filters = _filters(request)
    report = None
    if filters is not None:
        report = _build(entry, filters)
        _show(report.sections, csv=_csv_base(reverse(entry.csv_url_name), request.GET.urlencode()))
        _audit(request, AuditAction.REPORT_VIEWED, entry, filters)
    return render(request, "reports/report.html", {
        "entry": entry, "form": form, "report": report, "query": request.GET.urlencode(),
        "can_export": can_open(request.user, "reports:report_export"), "today": timezone.localdate(),
    })


def network_clinics(user, entry: Entry) -> list[Clinic]:
    """The clinics of the network where ``user`` holds a role that opens report ``entry``, by name."""
    clinics = []
    for clinic in Clinic.objects.filter(pk__in=user.clinic_ids()).order_by("name", "pk"):
        with acting_at(clinic.pk):
            if can_open(user, entry.url_name):
                clinics.append(clinic)
    return clinics


def network_report(entry: Entry, filters: ReportFilters, clinics: list[Clinic]) -> list[Section]:
    """Report ``entry`` of each clinic (built as that clinic's own page builds it: its settings, its time zone),
    as one table per section with the clinic in the first column; a section that one clinic's report lacks is
    shown with the clinics that have it."""
    merged: dict[str, Section] = {}
    clinic_column = Column("clinic", "Clinic")
    for clinic in clinics:
        with acting_at(clinic.pk):
            report = _build(entry, filters)
        for section in report.sections:
            into = merged.setdefault(section.title, Section(
                title=section.title, chart=None, notes=[],
                table=Table(columns=[clinic_column, *section.table.columns], rows=[])))
            into.table.rows += [(clinic.name, *row) for row in section.table.rows]
            # each note once; a clinic whose settings count differently adds its own wording
            into.notes = list(dict.fromkeys([*into.notes, *section.notes]))
    return list(merged.values())


def pooled_reports(entry: Entry, filters: ReportFilters, clinics: list[Clinic]) -> list[tuple[Scope, Report]]:
    """Report ``entry`` over the clinics pooled: one report per group of clinics that count alike (the same time
    zone and clinical settings: reports/scope.py), each patient, session and invoice counted once, medians and
    curves over all of the group's records together. A network whose clinics count alike is one group."""
    with on_replica():
        return [(scope, entry.build(filters, scope)) for scope in pools(clinics)]


def _network(request, slug: str) -> tuple[Entry, list[Clinic], NetworkPageForm]:
    entry = REPORTS.get(slug)
    if entry is None:
        raise Http404("No such report.")
    clinics = network_clinics(request.user, entry)
    if not clinics:
        raise Http404("You hold no role that opens this report at any clinic.")
    return entry, clinics, NetworkPageForm(request.GET or None)


def network_page(request, slug: str):
    """One report across every clinic of the network the person may open it at: the clinics pooled into one set of
    figures (by default), or side by side."""
    entry, clinics, form = _network(request, slug)
    pooled = side = None
    view = form.view_choice() if not form.is_bound or form.is_valid() else None
    query = request.GET.copy()
    query.pop("view", None)
    csv = reverse("reports:network_csv", args=[entry.slug])
    if view is not None:
        filters = form.filters()
        if view == NetworkPageForm.SIDE_BY_SIDE:
            side = network_report(entry, filters, clinics)
            _show(side, csv=_csv_base(csv, query.urlencode(), "view=clinics"))
        else:
            pooled = pooled_reports(entry, filters, clinics)
            for k, (_scope, report) in enumerate(pooled):
                _show(report.sections, csv=_csv_base(csv, query.urlencode(), f"pool={k}"), prefix=f"pool-{k}-")
        _audit_network(request, AuditAction.REPORT_VIEWED, entry, filters, clinics, view=view)
    return render(request, "reports/network.html", {
        "entry": entry, "form": form, "clinics": clinics, "view": view, "sections": side, "pooled": pooled,
        "differences": differences([scope for scope, _ in pooled]) if pooled else [],
        "filters_query": query.urlencode()})


def _csv_base(url: str, *queries: str) -> str:
    """``url`` with the page's query (and more), ready for a section's number to be added."""
    return f"{url}?{''.join(f'{q}&' for q in queries if q)}"


def network_csv(request, slug: str):
    """One pooled section's table as CSV (``pool``: which group of clinics, ``section``: which table), with the
    filters; or, with ``view=clinics``, one side-by-side table."""
    entry, clinics, form = _network(request, slug)
    if not form.is_valid():
        raise Http404("These filters are not valid.")
    filters, view = form.filters(), form.view_choice()
    try:
        pool, index = int(request.GET.get("pool", "0")), int(request.GET.get("section", "0"))
    except ValueError:
        raise Http404("No such section.") from None
    if view == NetworkPageForm.SIDE_BY_SIDE:
        sections = network_report(entry, filters, clinics)
    else:
        groups = pools(clinics)  # only the group asked for is built
        if not 0 <= pool < len(groups):
            raise Http404("No such group of clinics.")
        clinics = list(groups[pool].clinics)
        with on_replica():
            sections = entry.build(filters, groups[pool]).sections
    if not 0 <= index < len(sections):
        raise Http404("No such section.")
    section = sections[index]
    _audit_network(request, AuditAction.REPORT_EXPORTED, entry, filters, clinics, section=section.title, view=view)
    return _section_csv(section, f"{entry.slug}-network-{view}-{index + 1}")


def _cell(value, unit: str = "") -> str:
    """A table cell as shown: a percentage to one decimal, other fractions (a survival proportion, its standard
    error) to three, whole numbers as they are."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}" if unit == "%" else (f"{value:.3f}".rstrip("0").rstrip(".") or "0")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _section_csv(section: Section, name: str):
    """A section's table as a CSV download: a header with the units, every cell as the page shows it (empty for
    no data), through custody's formula-neutralising writer."""
    header = [f"{c.label} ({c.unit})" if c.unit else c.label for c in section.table.columns]
    units = [c.unit for c in section.table.columns]
    rows = [["" if v is None else _cell(v, u) for v, u in zip(row, units, strict=False)]
            for row in section.table.rows]
    return csv_response(f"{name}-{timezone.localdate():%Y%m%d}.csv", header, rows)


def report_csv(request, slug: str):
    """One section's table as CSV (every cell through custody's formula-neutralising writer), with the filters."""
    entry = REPORTS[slug]
    form, filters = _filters(request)
    if filters is None:
        raise Http404("These filters are not valid.")
    try:
        index = int(request.GET.get("section", "0"))
    except ValueError:
        raise Http404("No such section.") from None
    report = _build(entry, filters)
    if not 0 <= index < len(report.sections):
        raise Http404("No such section.")
    section = report.sections[index]
    _audit(request, AuditAction.REPORT_EXPORTED, entry, filters, section=section.title)
    return _section_csv(section, f"{entry.slug}-{index + 1}")
