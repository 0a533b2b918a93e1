"""sessions.csv publishes doses so that neither a dose nor the weight it was worked out from singles out a patient:
the dose in 10 mg bands and per kg to 0.05, and, per drug, a band or step held by fewer than k patients merged into
the lowest or the highest values, or suppressed. Every label shown (not "suppressed") is shared by at least k
patients, and every label is true of the dose behind it."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ketaclinic.reports.research import SUPPRESSED, dose_band, dose_codes, dose_step

D = Decimal


def test_a_dose_falls_in_its_band_and_its_step():
    assert dose_band(D("35.0")) == D(30) and dose_band(D("40")) == D(40) and dose_band(D("39.99")) == D(30)
    assert dose_step(D("35.84"), D("70.0")) == D("0.50")  # 0.512 mg/kg
    assert dose_step(D("36.0"), D("70.0")) == D("0.50") and dose_step(D("38"), D("70")) == D("0.55")  # 0.514, 0.543
    assert dose_step(D("35"), None) is None and dose_band(None) is None


def test_common_doses_are_shown_and_rare_ones_merge_into_the_tails_or_are_suppressed():
    rows = []
    pid = 0
    for band, patients in ((20, 1), (30, 3), (40, 4), (50, 1), (60, 3), (80, 2), (90, 2)):
        for _ in range(patients):
            pid += 1
            rows.append((pid, "ketamine", D(band), D("0.50")))
    bands, steps = dose_codes(rows, 3)
    assert bands[("ketamine", D(20))] == bands[("ketamine", D(30))] == "<40"  # 1 + 3 patients: the low tail
    assert bands[("ketamine", D(40))] == "40-50"  # 4 patients on its own
    assert bands[("ketamine", D(50))] == SUPPRESSED  # 1 patient between the tails
    assert bands[("ketamine", D(60))] == "60-70"
    assert bands[("ketamine", D(80))] == bands[("ketamine", D(90))] == ">=80"  # 2 + 2: the high tail
    assert steps[("ketamine", D("0.50"))] == "0.50"


def test_one_patients_many_sessions_do_not_make_a_dose_common():
    rows = [(1, "ketamine", D(70), D("1.00"))] * 20 + [(n, "ketamine", D(30), D("0.50")) for n in range(2, 6)]
    bands, steps = dose_codes(rows, 3)
    assert bands[("ketamine", D(30))] == "30-40"
    assert bands[("ketamine", D(70))] == SUPPRESSED and steps[("ketamine", D("1.00"))] == SUPPRESSED


def test_a_drug_with_fewer_than_k_patients_shows_no_dose():
    rows = [(1, "esketamine", D(56), None), (2, "esketamine", D(84), None)]
    bands, steps = dose_codes(rows, 3)
    assert set(bands.values()) == {SUPPRESSED} and steps == {}


def _holds(label: str, band: Decimal) -> bool:
    """Whether the band starting at ``band`` lies in what ``label`` says."""
    if m := re.fullmatch(r"(\d+)-(\d+)", label):
        return D(m[1]) == band and D(m[2]) == band + 10
    if m := re.fullmatch(r"<(\d+)", label):
        return band + 10 <= D(m[1])
    if m := re.fullmatch(r">=(\d+)", label):
        return band >= D(m[1])
    return False


#: How many examples showed a label of each kind: the property must meet each in a real share of them.
SEEN: dict[str, int] = {"<": 0, ">": 0, "shown": 0, "suppressed": 0, "all": 0}


@st.composite
def clinics(draw):
    """Sessions of two drugs: for each drug, how many patients had each 10 mg band (a histogram, so that common,
    rare and empty bands all occur), some patients with a session in a second band too (a dose changed), and
    some with repeated sessions."""
    sessions, pid = [], 0
    for drug in ("ketamine", "esketamine"):
        for band, patients in enumerate(draw(st.lists(st.integers(0, 6), min_size=1, max_size=9))):
            for _ in range(patients):
                pid += 1
                sessions += [(pid, drug, band)] * draw(st.integers(1, 3))
                if draw(st.integers(0, 4)) == 0:
                    sessions.append((pid, drug, draw(st.integers(0, 8))))
    return sessions


@settings(max_examples=300, deadline=None, database=None)
@given(clinics(), st.integers(2, 5))
def test_every_label_shown_is_shared_by_k_patients_and_true(sessions, k):
    rows = [(pid, drug, D(band * 10), None) for pid, drug, band in sessions]
    bands, _ = dose_codes(rows, k)
    by_label: dict[tuple[str, str], set[int]] = {}
    for pid, drug, band, _ in rows:
        label = bands[(drug, band)]
        if label != SUPPRESSED:
            assert _holds(label, band), (label, band)
            by_label.setdefault((drug, label), set()).add(pid)
    assert all(len(pids) >= k for pids in by_label.values())
    kinds = {label[0] if label[0] in "<>" else ("shown" if label != SUPPRESSED else "suppressed")
             for label in bands.values()}
    SEEN["all"] += 1
    for kind in kinds:
        SEEN[kind] += 1
        event(f"a label of kind {kind}")


def test_each_kind_of_label_appears_in_a_real_share_of_the_examples():
    test_every_label_shown_is_shared_by_k_patients_and_true()
    assert SEEN["all"] >= 300, SEEN
    for kind in ("<", ">", "shown", "suppressed"):
        assert SEEN[kind] >= 0.1 * SEEN["all"], SEEN
