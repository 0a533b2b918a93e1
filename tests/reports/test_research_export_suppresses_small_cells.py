"""The research export's summary table: a count of 1 to 10 patients is not shown (CMS Cell Size Suppression
Policy, threshold RESEARCH_SUPPRESS_BELOW = 11), and further cells are blanked so that no blanked count can be
worked out from the row and column totals (complementary suppression). Checked on the rule itself, and on a
summary written by the export."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ketaclinic.reports.research import record_research_consent, suppress, write_export
from tests.factories import actor, back_at, dosed_session, make_rooms, open_day

ROWS, COLS = ["unipolar", "bipolar", "ptsd"], ["iv", "im", "intranasal"]


def lines_of(table):
    rows = [*ROWS, "all"]
    cols = [*COLS, "all"]
    return [[(r, c) for c in cols] for r in rows] + [[(r, c) for r in rows] for c in cols]


def assert_no_lone_blank(table):
    for line in lines_of(table):
        blanked = [key for key in line if table[key][1]]
        assert len(blanked) != 1, f"{blanked} is the only blank in its line: it can be worked out from the others"


def test_a_small_cell_is_blanked_with_a_second_cell_in_its_row_and_column():
    counts = {("unipolar", "iv"): 40, ("unipolar", "im"): 3, ("unipolar", "intranasal"): 25,
              ("bipolar", "iv"): 30, ("bipolar", "im"): 20, ("bipolar", "intranasal"): 15,
              ("ptsd", "iv"): 50, ("ptsd", "im"): 12, ("ptsd", "intranasal"): 60}
    table = suppress(counts, ROWS, COLS, 11)
    assert table[("unipolar", "im")] == (3, "small")
    # the smallest other count of the row (25) and of the column (12) go blank too, and then what they imply
    assert table[("unipolar", "intranasal")][1] == "complementary"
    assert table[("ptsd", "im")][1] == "complementary"
    assert table[("unipolar", "all")] == (68, "") and table[("all", "all")] == (255, "")
    assert_no_lone_blank(table)


def test_counts_of_eleven_and_zero_are_shown_and_ten_is_not():
    counts = {("unipolar", "iv"): 11, ("bipolar", "iv"): 10, ("ptsd", "iv"): 30, ("unipolar", "im"): 20,
              ("bipolar", "im"): 25, ("ptsd", "im"): 40}
    table = suppress(counts, ROWS, COLS, 11)
    assert table[("unipolar", "iv")] == (11, "") or table[("unipolar", "iv")][1] == "complementary"
    assert table[("bipolar", "iv")] == (10, "small")
    assert table[("unipolar", "intranasal")] == (0, "")
    assert_no_lone_blank(table)


def test_a_small_total_is_blanked_and_protected_too():
    counts = {("ptsd", "iv"): 4, ("unipolar", "iv"): 50, ("bipolar", "iv"): 45, ("unipolar", "im"): 30,
              ("bipolar", "im"): 22}
    table = suppress(counts, ROWS, COLS, 11)
    assert table[("ptsd", "all")] == (4, "small")
    assert table[("ptsd", "iv")] == (4, "small")
    assert_no_lone_blank(table)


@pytest.mark.parametrize("seed", range(25))
def test_no_line_ever_has_a_single_blank(seed):
    import random

    rng = random.Random(seed)
    counts = {(r, c): rng.choice([0, 0, 1, 2, 5, 9, 10, 11, 14, 30, 80]) for r in ROWS for c in COLS}
    assert_no_lone_blank(suppress(counts, ROWS, COLS, 11))


@pytest.mark.django_db
def test_the_exports_summary_blanks_small_cells_with_a_marker(clinic, staff, make_patient):
    rooms = make_rooms(clinic, staff["clinic_admin"])
    for n in range(3):
        p = make_patient()
        dosed_session(p, staff, start=open_day(clinic, -(2 + n)), rooms=rooms)  # the clinic's working days
        record_research_consent(actor=actor(staff["nurse"]), patient=p, data={"decision": "given", "how": "verbal"})
    buf = io.BytesIO()
    later = timezone.now() + timedelta(days=400)  # past the common cutoff (the largest shift, 26 weeks) for all
    with override_settings(RESEARCH_SUPPRESS_BELOW=3), back_at(later):
        summary = write_export(clinic, buf)
    rows = list(csv.DictReader(io.StringIO(zipfile.ZipFile(buf).read("summary.csv").decode())))
    by = {(r["diagnosis_group"], r["first_route"]): r for r in rows}
    # no diagnosis on the chart: "other"; all three by IV: 3 is not under 3, so it is shown
    assert by[("other", "iv")]["patients"] == "3" and by[("all", "all")]["patients"] == "3"
    assert summary["cells_suppressed_small"] == 0
    buf = io.BytesIO()
    with override_settings(RESEARCH_SUPPRESS_BELOW=11), back_at(later):
        summary = write_export(clinic, buf)
    rows = list(csv.DictReader(io.StringIO(zipfile.ZipFile(buf).read("summary.csv").decode())))
    blank = [r for r in rows if r["suppressed"]]
    # k = 11 > 3: the rows' diagnosis group, age band and sex are blanked, and the summary counts the rows as
    # published, so the three are in the "suppressed" row, and blanked there
    assert {(r["diagnosis_group"], r["first_route"]) for r in blank} >= {("suppressed", "iv"), ("all", "all")}
    assert all(r["patients"] == "" and r["suppressed"] in ("small", "complementary") for r in blank)
    assert summary["cells_suppressed_small"] >= 2
