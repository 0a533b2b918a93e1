"""sessions.csv publishes doses so that neither a dose nor a weight singles out a patient: each session's dose in
one unit only (racemic ketamine in mg per kg, to 0.05; esketamine in mg), as the two together gave the weight; and,
per drug, a dose fewer than k patients had merged with its neighbours into a range k or more patients share. Every
label shown is shared by at least k patients, every label is true of the dose behind it, and no value is left blank
for a reader to work out from the others."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ketaclinic.reports.research import SUPPRESSED, dose_codes, dose_step, published_dose

D = Decimal


def test_each_drug_is_published_in_one_unit_only():
    assert dose_step(D("35.84"), D("70.0")) == D("0.50")  # 0.512 mg/kg
    assert dose_step(D("38"), D("70")) == D("0.55") and dose_step(D("35"), None) is None
    assert dose_step(D("-5"), D("70")) is None and dose_step(D("35"), D("0")) is None
    assert published_dose("ketamine", D("35"), D("70")) == D("0.50")  # mg/kg: the mg is not published
    assert published_dose("esketamine", D("56"), D("70")) == D("56")  # mg: its mg/kg would give the weight


def test_rare_doses_merge_with_their_neighbours_and_none_is_left_blank():
    rows, pid = [], 0
    for step, patients in (("0.30", 1), ("0.35", 3), ("0.50", 4), ("0.55", 1), ("0.60", 2), ("0.75", 3),
                           ("0.90", 2), ("1.00", 1)):
        for _ in range(patients):
            pid += 1
            rows.append((pid, "ketamine", D(step)))
    codes = dose_codes(rows, 3)
    shown = {str(v): codes[("ketamine", v)] for _, _, v in rows}
    assert shown["0.30"] == shown["0.35"] == "<=0.35"  # 1 + 3 patients: the lowest run
    assert shown["0.50"] == "0.50"  # 4 patients on its own
    assert shown["0.55"] == shown["0.60"] == "0.55-0.60"  # 1 + 2: merged, not blanked (a blank could be decoded)
    assert shown["0.75"] == "0.75"
    assert shown["0.90"] == shown["1.00"] == ">=0.90"  # 2 + 1: the highest run
    assert SUPPRESSED not in shown.values()


def test_one_patients_many_sessions_do_not_make_a_dose_common():
    rows = [(1, "ketamine", D("1.00"))] * 20 + [(n, "ketamine", D("0.50")) for n in range(2, 6)]
    codes = dose_codes(rows, 3)
    assert codes[("ketamine", D("0.50"))] == codes[("ketamine", D("1.00"))] == "<=1.00"  # 5 patients, one run


def test_a_drug_with_fewer_than_k_patients_shows_no_dose():
    codes = dose_codes([(1, "esketamine", D(56)), (2, "esketamine", D(84))], 3)
    assert set(codes.values()) == {SUPPRESSED}
    assert dose_codes([(n, "esketamine", D(56)) for n in range(3)], 3) == {("esketamine", D(56)): "56"}


def _holds(label: str, value: Decimal, lowest: Decimal, highest: Decimal) -> bool:
    """Whether ``value`` lies in what ``label`` says."""
    if m := re.fullmatch(r"<=([\d.]+)", label):
        return value <= D(m[1])
    if m := re.fullmatch(r">=([\d.]+)", label):
        return value >= D(m[1])
    if m := re.fullmatch(r"([\d.]+)-([\d.]+)", label):
        return D(m[1]) <= value <= D(m[2])
    return D(label) == value


#: How many examples showed a label of each kind: the property must meet each in a real share of them.
SEEN: dict[str, int] = {"<=": 0, ">=": 0, "range": 0, "exact": 0, "suppressed": 0, "all": 0}


@st.composite
def clinics(draw):
    """Sessions of two drugs: for each, how many patients had each stepped dose (a histogram, so that common, rare
    and missing values all occur), some patients with a second dose too (a titration), some with repeats."""
    sessions, pid = [], 0
    for drug, unit in (("ketamine", D("0.05")), ("esketamine", D(28))):
        for n, patients in enumerate(draw(st.lists(st.integers(0, 6), min_size=1, max_size=9)), start=1):
            for _ in range(patients):
                pid += 1
                sessions += [(pid, drug, unit * n)] * draw(st.integers(1, 3))
                if draw(st.integers(0, 4)) == 0:
                    sessions.append((pid, drug, unit * draw(st.integers(1, 10))))
    return sessions


@settings(max_examples=300, deadline=None, database=None)
@given(clinics(), st.integers(2, 5))
def test_every_label_shown_is_shared_by_k_patients_and_true(sessions, k):
    codes = dose_codes(sessions, k)
    by_label: dict[tuple[str, str], set[int]] = {}
    for pid, drug, dose in sessions:
        label = codes[(drug, dose)]
        if label != SUPPRESSED:
            assert _holds(label, dose, D(0), D(1000)), (label, dose)
            by_label.setdefault((drug, label), set()).add(pid)
    assert all(len(pids) >= k for pids in by_label.values())
    for drug in ("ketamine", "esketamine"):  # a drug's values are all shown, or (fewer than k patients) none
        labels = {label for (d, _), label in codes.items() if d == drug}
        assert SUPPRESSED not in labels or labels == {SUPPRESSED}
    kinds = {"suppressed" if label == SUPPRESSED else "<=" if label.startswith("<=") else
             ">=" if label.startswith(">=") else "range" if "-" in label else "exact" for label in codes.values()}
    SEEN["all"] += 1
    for kind in kinds:
        SEEN[kind] += 1
        event(f"a label of kind {kind}")


def test_each_kind_of_label_appears_in_a_real_share_of_the_examples():
    test_every_label_shown_is_shared_by_k_patients_and_true()
    assert SEEN["all"] >= 300, SEEN
    for kind in ("<=", ">=", "range", "exact", "suppressed"):
        assert SEEN[kind] >= 0.1 * SEEN["all"], SEEN
