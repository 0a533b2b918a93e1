"""The clinic's reports: slug -> where its ``build(filters) -> Report`` lives, its title and its URL names.

Modules are imported when a report is asked for, so a page that lists the reports costs no import of all of them.
Who may open each report is in ketaclinic/access.py under its URL name (``reports:<slug>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from ketaclinic.reports.base import Report, ReportFilters
from ketaclinic.reports.scope import Scope


@dataclass(frozen=True)
class Entry:
    slug: str
    title: str
    question: str
    module: str  # dotted path of the module with build(filters)

    @property
    def url_name(self) -> str:
        return f"reports:{self.slug}"

    @property
    def csv_url_name(self) -> str:
        return f"reports:{self.slug}_csv"

    def build(self, filters: ReportFilters, clinics: Scope | None = None) -> Report:
        """The report of the clinic acting now, or of ``clinics``: a pool of a network's clinics that count alike
        (reports/scope.py)."""
        return import_module(self.module).build(filters, clinics)


REPORTS: dict[str, Entry] = {e.slug: e for e in (
    Entry("outcomes", "Outcomes", "Does the care work, for whom, and how long does it last?",
          "ketaclinic.reports.outcomes"),
    Entry("safety", "Safety", "What goes wrong at the chair, how often, and how fast do we answer suicidality?",
          "ketaclinic.reports.safety"),
    Entry("operations", "Operations", "Are chairs used, do patients come, and how fast do they get to treatment?",
          "ketaclinic.reports.operations"),
    Entry("money", "Money", "What did each service and package bring in, and what is still owed?",
          "ketaclinic.reports.money"),
)}
